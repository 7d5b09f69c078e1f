package sam

import (
	"fmt"
	"math"

	"github.com/gsam-go/gsam/nn"
	"gorgonia.org/tensor"
)

// PositionalEmbedding is the random-Fourier encoding of 2-D coordinates
// (SamPositionalEmbedding), shared by the prompt encoder and the image-wide
// positional embedding of the mask decoder.
type PositionalEmbedding struct {
	Gaussian *tensor.Dense `gsam:"positional_embedding"` // [2, num_pos_feats]
}

// encode maps coordinates already normalised to [0, 1] (x, y) to
// [sin(2π·(2c-1)·G), cos(…)], 2*num_pos_feats values, written into dst.
func (p *PositionalEmbedding) encode(dst []float32, x, y float32) {
	g := nn.Data(p.Gaussian)
	F := len(g) / 2
	x, y = 2*x-1, 2*y-1
	for f := 0; f < F; f++ {
		v := float32(2*math.Pi) * (x*g[f] + y*g[F+f])
		dst[f] = float32(math.Sin(float64(v)))
		dst[F+f] = float32(math.Cos(float64(v)))
	}
}

// imageWide is get_image_wide_positional_embeddings: the encoding of every
// cell centre of the size×size embedding grid, channels-first [C, size, size].
func (p *PositionalEmbedding) imageWide(size int) []float32 {
	C := 2 * p.Gaussian.Shape()[1]
	hw := make([]float32, size*size*C)
	for i := 0; i < size; i++ {
		for j := 0; j < size; j++ {
			p.encode(hw[(i*size+j)*C:(i*size+j+1)*C], (float32(j)+1-0.5)/float32(size), (float32(i)+1-0.5)/float32(size))
		}
	}
	return transpose(hw, size*size, C)
}

// MaskEmbedding downscales a low-resolution mask 4× to the image embedding
// grid (SamMaskEmbedding).
type MaskEmbedding struct {
	Conv1      nn.Conv2d      `gsam:"conv1"`
	LayerNorm1 nn.LayerNorm2d `gsam:"layer_norm1"`
	Conv2      nn.Conv2d      `gsam:"conv2"`
	LayerNorm2 nn.LayerNorm2d `gsam:"layer_norm2"`
	Conv3      nn.Conv2d      `gsam:"conv3"`
	Act        string
}

// Forward maps masks [B, 1, 4h, 4w] to [B, C, h, w].
func (m *MaskEmbedding) Forward(masks *tensor.Dense) *tensor.Dense {
	x := m.LayerNorm1.Forward(m.Conv1.Forward(masks))
	activate(m.Act, nn.Data(x))
	x = m.LayerNorm2.Forward(m.Conv2.Forward(x))
	activate(m.Act, nn.Data(x))
	return m.Conv3.Forward(x)
}

// PromptEncoder embeds points, boxes and masks (SamPromptEncoder).
type PromptEncoder struct {
	MaskEmbed      MaskEmbedding  `gsam:"mask_embed"`
	NoMaskEmbed    nn.Embedding   `gsam:"no_mask_embed"`
	PointEmbed     []nn.Embedding `gsam:"point_embed"` // 0 negative, 1 positive, 2 and 3 box corners
	NotAPointEmbed nn.Embedding   `gsam:"not_a_point_embed"`
	Shared         *PositionalEmbedding
	Config         PromptEncoderConfig
}

// NewPromptEncoder allocates the prompt encoder; shared is the model's
// shared_image_embedding.
func NewPromptEncoder(c PromptEncoderConfig, shared *PositionalEmbedding) PromptEncoder {
	eps := float32(c.LayerNormEps)
	mc := c.MaskInputChannels
	p := PromptEncoder{
		MaskEmbed: MaskEmbedding{
			Conv1:      nn.NewConv2d(1, mc/4, 2, 2, 0, 1, true),
			LayerNorm1: nn.NewLayerNorm2d(mc/4, eps),
			Conv2:      nn.NewConv2d(mc/4, mc, 2, 2, 0, 1, true),
			LayerNorm2: nn.NewLayerNorm2d(mc, eps),
			Conv3:      nn.NewConv2d(mc, c.HiddenSize, 1, 1, 0, 1, true),
			Act:        c.HiddenAct,
		},
		NoMaskEmbed:    nn.NewEmbedding(1, c.HiddenSize),
		NotAPointEmbed: nn.NewEmbedding(1, c.HiddenSize),
		Shared:         shared,
		Config:         c,
	}
	for i := 0; i < c.NumPointEmbeddings; i++ {
		p.PointEmbed = append(p.PointEmbed, nn.NewEmbedding(1, c.HiddenSize))
	}
	return p
}

// Point labels. LabelPad marks a padding point that contributes nothing.
const (
	LabelNegative   = 0
	LabelPositive   = 1
	LabelNotAPoint  = -1
	LabelPad        = -10
	boxCornerTopL   = 2
	boxCornerBottom = 3
)

// Prompts is a batch of P prompts for one image in the model's input frame
// (pixels of the image_size×image_size input). Points is [P][n] (x, y) with
// Labels [P][n]; Boxes is [P] (x0, y0, x1, y1) or nil; Masks, if not nil, is
// [1 or P, 1, 4h, 4w] low-resolution mask logits.
type Prompts struct {
	Points [][][2]float32
	Labels [][]int
	Boxes  [][4]float32
	Masks  *tensor.Dense
}

// count returns P, checking that the parts agree.
func (p *Prompts) count() (int, error) {
	P := -1
	if p.Points != nil {
		P = len(p.Points)
		if len(p.Labels) != P {
			return 0, fmt.Errorf("sam: %d point sets but %d label sets", P, len(p.Labels))
		}
		for i := range p.Points {
			if len(p.Points[i]) != len(p.Labels[i]) || len(p.Points[i]) != len(p.Points[0]) {
				return 0, fmt.Errorf("sam: point set %d has %d points and %d labels (every set needs the same count; pad with label %d)", i, len(p.Points[i]), len(p.Labels[i]), LabelPad)
			}
		}
	}
	if p.Boxes != nil {
		if P >= 0 && len(p.Boxes) != P {
			return 0, fmt.Errorf("sam: %d boxes for %d point sets", len(p.Boxes), P)
		}
		P = len(p.Boxes)
	}
	if P < 0 {
		P = 1
	}
	if P == 0 {
		return 0, fmt.Errorf("sam: empty prompt batch")
	}
	return P, nil
}

// Forward returns the sparse embeddings [P, T, C] (T may be 0 when only a
// mask is given) and the dense embeddings [1 or P, C, h, w].
func (e *PromptEncoder) Forward(p *Prompts) (sparse, dense *tensor.Dense, err error) {
	return e.forward(p, true)
}

// forward is Forward; without broadcast it returns a nil dense embedding
// when there is no mask prompt (the decoder then adds no_mask_embed itself).
func (e *PromptEncoder) forward(p *Prompts, broadcast bool) (sparse, dense *tensor.Dense, err error) {
	P, err := p.count()
	if err != nil {
		return nil, nil, err
	}
	C := e.Config.HiddenSize
	size := float32(e.Config.ImageSize)
	nPts := 0
	if p.Points != nil {
		nPts = len(p.Points[0])
		if p.Boxes == nil {
			nPts++ // the reference pads point prompts with a not-a-point when there is no box
		}
	}
	nBox := 0
	if p.Boxes != nil {
		nBox = 2
	}
	T := nPts + nBox
	out := make([]float32, P*T*C)
	for i := 0; i < P; i++ {
		tok := out[i*T*C : (i+1)*T*C]
		if p.Points != nil {
			for j := 0; j < nPts; j++ {
				x, y, label := float32(0), float32(0), LabelNotAPoint
				if j < len(p.Points[i]) {
					x, y, label = p.Points[i][j][0]+0.5, p.Points[i][j][1]+0.5, p.Labels[i][j]
				}
				dst := tok[j*C : (j+1)*C]
				e.Shared.encode(dst, x/size, y/size)
				switch label {
				case LabelNotAPoint:
					copy(dst, nn.Data(e.NotAPointEmbed.Weight))
				case LabelPad:
					clear(dst)
				case LabelNegative, LabelPositive:
					addTo(dst, nn.Data(e.PointEmbed[label].Weight))
				default:
					return nil, nil, fmt.Errorf("sam: point label %d (want 1 positive, 0 negative, -1 not-a-point, -10 padding)", label)
				}
			}
		}
		if p.Boxes != nil {
			b := p.Boxes[i]
			c0 := tok[nPts*C : (nPts+1)*C]
			c1 := tok[(nPts+1)*C : (nPts+2)*C]
			e.Shared.encode(c0, (b[0]+0.5)/size, (b[1]+0.5)/size)
			e.Shared.encode(c1, (b[2]+0.5)/size, (b[3]+0.5)/size)
			addTo(c0, nn.Data(e.PointEmbed[boxCornerTopL].Weight))
			addTo(c1, nn.Data(e.PointEmbed[boxCornerBottom].Weight))
		}
	}
	sparse = nn.FromData(out, P, T, C)

	g := e.Config.ImageEmbeddingSize
	if p.Masks != nil {
		ms := nn.Shape(p.Masks)
		if len(ms) != 4 || (ms[0] != 1 && ms[0] != P) || ms[1] != 1 || ms[2] != 4*g || ms[3] != 4*g {
			return nil, nil, fmt.Errorf("sam: mask input must be [1 or %d, 1, %d, %d], got %v", P, 4*g, 4*g, ms)
		}
		dense = e.MaskEmbed.Forward(p.Masks)
	} else if broadcast {
		d := make([]float32, C*g*g)
		w := nn.Data(e.NoMaskEmbed.Weight)
		for c := 0; c < C; c++ {
			seg := d[c*g*g : (c+1)*g*g]
			for i := range seg {
				seg[i] = w[c]
			}
		}
		dense = nn.FromData(d, 1, C, g, g)
	}
	return sparse, dense, nil
}

func addTo(dst, src []float32) {
	for i := range dst {
		dst[i] += src[i]
	}
}
