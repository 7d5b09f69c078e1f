package backbone

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"

	"github.com/gsam-go/gsam/cpu"
	"github.com/gsam-go/gsam/nn"
	"github.com/gsam-go/gsam/weights"
	"gorgonia.org/tensor"
)

// SwinConfig is the Hub's Swin config (Grounding DINO's `backbone_config`
// with model_type "swin"). Zero fields take the defaults of HF's SwinConfig.
type SwinConfig struct {
	ModelType             string   `json:"model_type"`
	ImageSize             int      `json:"image_size"`
	PatchSize             int      `json:"patch_size"`
	NumChannels           int      `json:"num_channels"`
	EmbedDim              int      `json:"embed_dim"`
	Depths                []int    `json:"depths"`
	NumHeads              []int    `json:"num_heads"`
	WindowSize            int      `json:"window_size"`
	MLPRatio              float64  `json:"mlp_ratio"`
	QKVBias               *bool    `json:"qkv_bias"`
	HiddenAct             string   `json:"hidden_act"`
	UseAbsoluteEmbeddings bool     `json:"use_absolute_embeddings"`
	LayerNormEps          float64  `json:"layer_norm_eps"`
	StageNames            []string `json:"stage_names"`
	OutFeatures           []string `json:"out_features"`
	OutIndices            []int    `json:"out_indices"`
}

// ParseSwinConfig reads a Swin config from JSON and fills the defaults.
func ParseSwinConfig(raw []byte) (SwinConfig, error) {
	var c SwinConfig
	if err := json.Unmarshal(raw, &c); err != nil {
		return c, fmt.Errorf("swin config: %w", err)
	}
	return c, c.normalize()
}

func (c *SwinConfig) normalize() error {
	if c.ModelType != "" && c.ModelType != "swin" {
		return fmt.Errorf("swin config: model_type %q is not swin", c.ModelType)
	}
	c.ModelType = "swin"
	if c.ImageSize == 0 {
		c.ImageSize = 224
	}
	if c.PatchSize == 0 {
		c.PatchSize = 4
	}
	if c.NumChannels == 0 {
		c.NumChannels = 3
	}
	if c.EmbedDim == 0 {
		c.EmbedDim = 96
	}
	if c.Depths == nil {
		c.Depths = []int{2, 2, 6, 2}
	}
	if c.NumHeads == nil {
		c.NumHeads = []int{3, 6, 12, 24}
	}
	if c.WindowSize == 0 {
		c.WindowSize = 7
	}
	if c.MLPRatio == 0 {
		c.MLPRatio = 4
	}
	if c.QKVBias == nil {
		t := true
		c.QKVBias = &t
	}
	if c.HiddenAct == "" {
		c.HiddenAct = "gelu"
	}
	if c.LayerNormEps == 0 {
		c.LayerNormEps = 1e-5
	}
	if len(c.NumHeads) != len(c.Depths) {
		return fmt.Errorf("swin config: %d depths but %d num_heads", len(c.Depths), len(c.NumHeads))
	}
	if c.HiddenAct != "gelu" {
		return fmt.Errorf("swin config: hidden_act %q not supported (gelu only)", c.HiddenAct)
	}
	if c.UseAbsoluteEmbeddings {
		return fmt.Errorf("swin config: use_absolute_embeddings is not supported")
	}
	if c.PatchSize < 1 || c.WindowSize < 1 || c.EmbedDim < 1 {
		return fmt.Errorf("swin config: patch_size, window_size and embed_dim must be positive")
	}
	for i, h := range c.NumHeads {
		if dim := c.EmbedDim << i; h < 1 || dim%h != 0 {
			return fmt.Errorf("swin config: stage %d width %d is not a multiple of %d heads", i+1, dim, h)
		}
	}
	if c.StageNames == nil {
		c.StageNames = []string{"stem"}
		for i := range c.Depths {
			c.StageNames = append(c.StageNames, "stage"+strconv.Itoa(i+1))
		}
	}
	outs, err := outStages(c.StageNames, c.OutFeatures, c.OutIndices)
	if err != nil {
		return fmt.Errorf("swin config: %w", err)
	}
	c.OutIndices = outs
	c.OutFeatures = nil
	for _, i := range outs {
		c.OutFeatures = append(c.OutFeatures, c.StageNames[i])
	}
	return nil
}

// outStages resolves out_features / out_indices to stage indices as HF's
// BackboneConfigMixin does (default: the last stage).
func outStages(names, features []string, indices []int) ([]int, error) {
	switch {
	case len(features) > 0:
		var out []int
		for _, f := range features {
			i := slices.Index(names, f)
			if i < 0 {
				return nil, fmt.Errorf("out_features %q not in stage_names %v", f, names)
			}
			out = append(out, i)
		}
		if len(indices) > 0 && !slices.Equal(out, indices) {
			return nil, fmt.Errorf("out_features %v and out_indices %v disagree", features, indices)
		}
		return out, nil
	case len(indices) > 0:
		for _, i := range indices {
			if i < 0 || i >= len(names) {
				return nil, fmt.Errorf("out_indices %v out of range for %d stages", indices, len(names))
			}
		}
		return slices.Clone(indices), nil
	default:
		return []int{len(names) - 1}, nil
	}
}

// Swin is HF's SwinBackbone: patch embedding, stages of (shifted) window
// attention blocks with patch merging between them, and a LayerNorm on each
// returned stage (hidden_states_norms). It ignores the pixel mask, as the
// reference does: padded pixels are computed like real ones.
type Swin struct {
	Config     SwinConfig
	Embeddings SwinEmbeddings `gsam:"embeddings"`
	Encoder    SwinEncoder    `gsam:"encoder"`
	// HiddenStatesNorms[i] normalises out stage Config.OutIndices[i]; bound
	// as hidden_states_norms.<stage name> by Bind.
	HiddenStatesNorms []nn.LayerNorm `gsam:"-"`

	scratch cpu.FreeList[swinScratch] // the blocks' buffers, reused across calls
}

// SwinEmbeddings is the 4×4 patch projection and its LayerNorm.
type SwinEmbeddings struct {
	PatchEmbeddings struct {
		Projection nn.Conv2d `gsam:"projection"`
	} `gsam:"patch_embeddings"`
	Norm nn.LayerNorm `gsam:"norm"`
}

// SwinEncoder holds the stages.
type SwinEncoder struct {
	Layers []SwinStage `gsam:"layers"`
}

// SwinStage is a run of blocks at one resolution, then patch merging
// (absent on the last stage).
type SwinStage struct {
	Blocks     []SwinLayer       `gsam:"blocks"`
	Downsample *SwinPatchMerging `gsam:"downsample"`
	Dim        int
}

// SwinPatchMerging concatenates each 2×2 neighbourhood (4C), normalises it
// and reduces it to 2C.
type SwinPatchMerging struct {
	Reduction nn.Linear    `gsam:"reduction"`
	Norm      nn.LayerNorm `gsam:"norm"`
}

// NewSwin allocates a Swin backbone for config c.
func NewSwin(c SwinConfig) (*Swin, error) {
	if err := c.normalize(); err != nil {
		return nil, err
	}
	s := &Swin{Config: c}
	p := c.PatchSize
	s.Embeddings.PatchEmbeddings.Projection = nn.Conv2d{
		Weight: nn.New(c.EmbedDim, c.NumChannels, p, p), Bias: nn.New(c.EmbedDim), Stride: p, Groups: 1,
	}
	s.Embeddings.Norm = nn.NewLayerNorm(c.EmbedDim, 1e-5)
	eps := float32(c.LayerNormEps)
	for i, depth := range c.Depths {
		dim := c.EmbedDim << i
		st := SwinStage{Dim: dim}
		for j := 0; j < depth; j++ {
			shift := 0
			if j%2 == 1 {
				shift = c.WindowSize / 2
			}
			st.Blocks = append(st.Blocks, newSwinLayer(dim, c.NumHeads[i], c.WindowSize, shift, int(c.MLPRatio*float64(dim)), *c.QKVBias, eps))
		}
		if i < len(c.Depths)-1 {
			st.Downsample = &SwinPatchMerging{Reduction: nn.NewLinear(4*dim, 2*dim, false), Norm: nn.NewLayerNorm(4*dim, 1e-5)}
		}
		s.Encoder.Layers = append(s.Encoder.Layers, st)
	}
	for _, ch := range s.Channels() {
		s.HiddenStatesNorms = append(s.HiddenStatesNorms, nn.NewLayerNorm(ch, 1e-5))
	}
	return s, nil
}

// stageDim is the width of stage index i (0 = stem).
func (s *Swin) stageDim(i int) int {
	if i == 0 {
		return s.Config.EmbedDim
	}
	return s.Config.EmbedDim << (i - 1)
}

// Channels are the widths of the returned feature maps.
func (s *Swin) Channels() []int {
	var ch []int
	for _, i := range s.Config.OutIndices {
		ch = append(ch, s.stageDim(i))
	}
	return ch
}

// Bind binds the weights under prefix (in a Grounding DINO checkpoint
// "model.backbone.conv_encoder.model"). The unused final LayerNorm of the
// classification model (swin.layernorm) and recomputed buffers are ignored.
func (s *Swin) Bind(l *weights.Loader, prefix string) {
	l.Bind(prefix, s)
	for i, name := range s.Config.OutFeatures {
		l.Bind(prefix+".hidden_states_norms."+name, &s.HiddenStatesNorms[i])
	}
	l.Ignore(prefix + ".swin.layernorm.")
	l.Ignore(prefix + ".layernorm.")
	for i, st := range s.Encoder.Layers {
		for j := range st.Blocks {
			l.Ignore(fmt.Sprintf("%s.encoder.layers.%d.blocks.%d.attention.self.relative_position_index", prefix, i, j))
		}
	}
}

// Forward runs the backbone on pixel values [B, C, H, W]. pixelMask [B, H, W]
// (1 = real pixel; nil = all real) is only resized to each feature map.
func (s *Swin) Forward(ctx context.Context, pixelValues *tensor.Dense, pixelMask []uint8) ([]FeatureMap, error) {
	shape := pixelValues.Shape()
	if len(shape) != 4 || shape[1] != s.Config.NumChannels || shape[2] < 1 || shape[3] < 1 {
		return nil, fmt.Errorf("swin: pixel values of shape %v, want [B, %d, H, W]", shape, s.Config.NumChannels)
	}
	B, H, W := shape[0], shape[2], shape[3]
	if pixelMask != nil && len(pixelMask) != B*H*W {
		return nil, fmt.Errorf("swin: pixel mask has %d values, want %d", len(pixelMask), B*H*W)
	}
	sc := s.scratch.Get()
	defer s.scratch.Put(sc)
	x, h, w := s.embed(nn.Data(pixelValues), B, H, W, sc)
	var maps []FeatureMap
	emit := func(stage int, x []float32, h, w int) {
		k := slices.Index(s.Config.OutIndices, stage)
		if k < 0 {
			return
		}
		C := s.stageDim(stage)
		normed := cpu.Grow(&sc.stageNorm, len(x))
		norm := &s.HiddenStatesNorms[k]
		layerNormRows(normed, x, nn.Data(norm.Weight), nn.Data(norm.Bias), norm.Eps)
		f := tokensToMap(normed, B, h, w, C)
		maps = append(maps, FeatureMap{Features: f, Mask: InterpolateMask(pixelMask, B, H, W, h, w)})
	}
	emit(0, x, h, w)
	for i := range s.Encoder.Layers {
		st := &s.Encoder.Layers[i]
		for j := range st.Blocks {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
			st.Blocks[j].forward(x, B, h, w, sc)
		}
		emit(i+1, x, h, w)
		if st.Downsample != nil {
			x, h, w = st.Downsample.forward(x, B, h, w, sc)
		}
	}
	return maps, nil
}

// embed cuts the (bottom/right zero-padded) image into patches and projects
// them: the strided convolution as one GEMM, giving tokens [B, h*w, C] in
// one of sc's token buffers (sc may be nil).
func (s *Swin) embed(px []float32, B, H, W int, sc *swinScratch) ([]float32, int, int) {
	if sc == nil {
		sc = new(swinScratch)
	}
	p, Cin, C := s.Config.PatchSize, s.Config.NumChannels, s.Config.EmbedDim
	h, w := (H+p-1)/p, (W+p-1)/p
	K := Cin * p * p
	rows := B * h * w
	patches := cpu.Grow(&sc.patches, rows*K)
	cpu.ParallelFor(B*h, func(lo, hi int) {
		for bi := lo; bi < hi; bi++ {
			b, i := bi/h, bi%h
			for j := 0; j < w; j++ {
				dst := patches[((b*h+i)*w+j)*K:]
				for c := 0; c < Cin; c++ {
					for ki := 0; ki < p; ki++ {
						y := i*p + ki
						for kj := 0; kj < p; kj++ {
							xx := j*p + kj
							v := float32(0)
							if y < H && xx < W {
								v = px[((b*Cin+c)*H+y)*W+xx]
							}
							dst[(c*p+ki)*p+kj] = v
						}
					}
				}
			}
		}
	})
	proj := &s.Embeddings.PatchEmbeddings.Projection
	out := cpu.Grow(&sc.tokens[0], rows*C)
	cpu.SgemmBias(false, true, rows, C, K, patches, K, nn.Data(proj.Weight), K, 0, nn.Data(proj.Bias), out, C)
	n := &s.Embeddings.Norm
	layerNormRows(out, out, nn.Data(n.Weight), nn.Data(n.Bias), n.Eps)
	return out, h, w
}

// forward merges 2×2 patches of x [B, h*w, C] (zero-padding odd sizes) into
// [B, ceil(h/2)*ceil(w/2), 2C], in whichever of sc's token buffers x is not
// (sc may be nil).
func (m *SwinPatchMerging) forward(x []float32, B, h, w int, sc *swinScratch) ([]float32, int, int) {
	if sc == nil {
		sc = new(swinScratch)
	}
	C := m.Reduction.In() / 4
	h2, w2 := (h+1)/2, (w+1)/2
	rows := B * h2 * w2
	dst := &sc.tokens[0]
	if len(x) > 0 && cap(*dst) > 0 && &(*dst)[:1][0] == &x[0] {
		dst = &sc.tokens[1]
	}
	out := cpu.Grow(dst, rows*2*C)
	// The concatenated [rows, 4C] input is built and reduced swinChunkRows
	// rows at a time, so it never exists whole (26 MB after the first stage
	// at 800×1333).
	bn := min(rows, swinChunkRows)
	cat := cpu.Grow(&sc.cat, bn*4*C)
	nw, nb := nn.Data(m.Norm.Weight), nn.Data(m.Norm.Bias)
	for r0 := 0; r0 < rows; r0 += bn {
		n := min(bn, rows-r0)
		cpu.ParallelFor(n, func(lo, hi int) {
			for rr := lo; rr < hi; rr++ {
				r := r0 + rr
				b, i, j := r/(h2*w2), r/w2%h2, r%w2
				dst := cat[rr*4*C : (rr+1)*4*C]
				// Order of HF's torch.cat: (0,0), (1,0), (0,1), (1,1).
				for q, d := range [4][2]int{{0, 0}, {1, 0}, {0, 1}, {1, 1}} {
					y, xx := 2*i+d[0], 2*j+d[1]
					seg := dst[q*C : (q+1)*C]
					if y < h && xx < w {
						copy(seg, x[((b*h+y)*w+xx)*C:])
					} else {
						clear(seg)
					}
				}
				cpu.LayerNorm(dst, dst, nw, nb, m.Norm.Eps)
			}
		})
		m.Reduction.ForwardSlice(out[r0*2*C:(r0+n)*2*C], cat[:n*4*C], n)
	}
	return out, h2, w2
}

// tokensToMap turns tokens [B, h*w, C] into a feature map [B, C, h, w].
func tokensToMap(x []float32, B, h, w, C int) *tensor.Dense {
	out := nn.Scratch(len(x)) // every value is written below
	hw := h * w
	cpu.ParallelFor(B*C, func(lo, hi int) {
		for bc := lo; bc < hi; bc++ {
			b, c := bc/C, bc%C
			dst := out[bc*hw : (bc+1)*hw]
			src := x[b*hw*C+c:]
			for p := range dst {
				dst[p] = src[p*C]
			}
		}
	})
	return nn.FromData(out, B, C, h, w)
}

// DropScratch forgets the blocks' kept buffers (see Swin.Forward).
func (s *Swin) DropScratch() { s.scratch.Drop() }
