package backbone

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"strconv"

	"github.com/gsam-go/gsam/cpu"
	"github.com/gsam-go/gsam/nn"
	"github.com/gsam-go/gsam/weights"
	"gorgonia.org/tensor"
)

// ResNetConfig is the Hub's ResNet config (model_type "resnet"); zero
// fields take the defaults of HF's ResNetConfig (ResNet-50).
type ResNetConfig struct {
	ModelType              string   `json:"model_type"`
	NumChannels            int      `json:"num_channels"`
	EmbeddingSize          int      `json:"embedding_size"`
	HiddenSizes            []int    `json:"hidden_sizes"`
	Depths                 []int    `json:"depths"`
	LayerType              string   `json:"layer_type"`
	HiddenAct              string   `json:"hidden_act"`
	DownsampleInFirstStage bool     `json:"downsample_in_first_stage"`
	DownsampleInBottleneck bool     `json:"downsample_in_bottleneck"`
	StageNames             []string `json:"stage_names"`
	OutFeatures            []string `json:"out_features"`
	OutIndices             []int    `json:"out_indices"`
}

// ParseResNetConfig reads a ResNet config from JSON and fills the defaults.
func ParseResNetConfig(raw []byte) (ResNetConfig, error) {
	var c ResNetConfig
	if err := json.Unmarshal(raw, &c); err != nil {
		return c, fmt.Errorf("resnet config: %w", err)
	}
	return c, c.normalize()
}

func (c *ResNetConfig) normalize() error {
	if c.ModelType != "" && c.ModelType != "resnet" {
		return fmt.Errorf("resnet config: model_type %q is not resnet", c.ModelType)
	}
	c.ModelType = "resnet"
	if c.NumChannels == 0 {
		c.NumChannels = 3
	}
	if c.EmbeddingSize == 0 {
		c.EmbeddingSize = 64
	}
	if c.HiddenSizes == nil {
		c.HiddenSizes = []int{256, 512, 1024, 2048}
	}
	if c.Depths == nil {
		c.Depths = []int{3, 4, 6, 3}
	}
	if c.LayerType == "" {
		c.LayerType = "bottleneck"
	}
	if c.HiddenAct == "" {
		c.HiddenAct = "relu"
	}
	if len(c.HiddenSizes) != len(c.Depths) {
		return fmt.Errorf("resnet config: %d hidden_sizes but %d depths", len(c.HiddenSizes), len(c.Depths))
	}
	if c.LayerType != "bottleneck" && c.LayerType != "basic" {
		return fmt.Errorf("resnet config: layer_type %q not supported (bottleneck, basic)", c.LayerType)
	}
	if c.HiddenAct != "relu" && c.HiddenAct != "gelu" {
		return fmt.Errorf("resnet config: hidden_act %q not supported (relu, gelu)", c.HiddenAct)
	}
	if c.StageNames == nil {
		c.StageNames = []string{"stem"}
		for i := range c.Depths {
			c.StageNames = append(c.StageNames, "stage"+strconv.Itoa(i+1))
		}
	}
	outs, err := outStages(c.StageNames, c.OutFeatures, c.OutIndices)
	if err != nil {
		return fmt.Errorf("resnet config: %w", err)
	}
	c.OutIndices = outs
	c.OutFeatures = nil
	for _, i := range outs {
		c.OutFeatures = append(c.OutFeatures, c.StageNames[i])
	}
	return nil
}

// FrozenBatchNorm2d is batch norm with fixed statistics:
// y = x·w/√(var+1e-5) + (b − mean·w/√(var+1e-5)), per channel.
type FrozenBatchNorm2d struct {
	Weight      *tensor.Dense `gsam:"weight"`
	Bias        *tensor.Dense `gsam:"bias"`
	RunningMean *tensor.Dense `gsam:"running_mean"`
	RunningVar  *tensor.Dense `gsam:"running_var"`
}

// NewFrozenBatchNorm2d allocates a frozen batch norm over c channels.
func NewFrozenBatchNorm2d(c int) FrozenBatchNorm2d {
	return FrozenBatchNorm2d{Weight: nn.New(c), Bias: nn.New(c), RunningMean: nn.New(c), RunningVar: nn.New(c)}
}

// forwardInPlace normalises x [B, C, H, W] in place.
func (n *FrozenBatchNorm2d) forwardInPlace(x *tensor.Dense) {
	s := x.Shape()
	B, C, HW := s[0], s[1], s[2]*s[3]
	w, b, m, v := nn.Data(n.Weight), nn.Data(n.Bias), nn.Data(n.RunningMean), nn.Data(n.RunningVar)
	d := nn.Data(x)
	cpu.ParallelFor(B*C, func(lo, hi int) {
		for bc := lo; bc < hi; bc++ {
			c := bc % C
			scale := w[c] * float32(1/math.Sqrt(float64(v[c]+1e-5)))
			shift := b[c] - m[c]*scale
			seg := d[bc*HW : (bc+1)*HW]
			for i := range seg {
				seg[i] = seg[i]*scale + shift
			}
		}
	})
}

// ResNetConvLayer is convolution (no bias, padding k/2), frozen batch norm
// and an optional activation.
type ResNetConvLayer struct {
	Convolution   nn.Conv2d         `gsam:"convolution"`
	Normalization FrozenBatchNorm2d `gsam:"normalization"`
	Activation    nn.Activation
}

func newResNetConvLayer(in, out, kernel, stride int, act nn.Activation) ResNetConvLayer {
	return ResNetConvLayer{
		Convolution:   nn.NewConv2d(in, out, kernel, stride, kernel/2, 1, false),
		Normalization: NewFrozenBatchNorm2d(out),
		Activation:    act,
	}
}

// Forward applies the layer to x [B, C, H, W].
func (l *ResNetConvLayer) Forward(x *tensor.Dense) *tensor.Dense {
	y := l.Convolution.Forward(x)
	l.Normalization.forwardInPlace(y)
	if l.Activation != "" {
		l.Activation.Apply(nn.Data(y))
	}
	return y
}

// ResNetLayer is a residual block: basic (3×3, 3×3) or bottleneck (1×1
// reduce, 3×3, 1×1 expand), with a 1×1 projection shortcut when the width
// or the stride changes.
type ResNetLayer struct {
	Shortcut   *ResNetConvLayer  `gsam:"shortcut"`
	Layer      []ResNetConvLayer `gsam:"layer"`
	Activation nn.Activation
}

func newResNetLayer(c ResNetConfig, in, out, stride int) ResNetLayer {
	act := nn.Activation(c.HiddenAct)
	l := ResNetLayer{Activation: act}
	if in != out || stride != 1 {
		sc := newResNetConvLayer(in, out, 1, stride, "")
		l.Shortcut = &sc
	}
	if c.LayerType == "basic" {
		l.Layer = []ResNetConvLayer{
			newResNetConvLayer(in, out, 3, stride, act),
			newResNetConvLayer(out, out, 3, 1, ""),
		}
		return l
	}
	red := out / 4
	s1, s2 := 1, stride
	if c.DownsampleInBottleneck {
		s1, s2 = stride, 1
	}
	l.Layer = []ResNetConvLayer{
		newResNetConvLayer(in, red, 1, s1, act),
		newResNetConvLayer(red, red, 3, s2, act),
		newResNetConvLayer(red, out, 1, 1, ""),
	}
	return l
}

// Forward applies the block to x.
func (l *ResNetLayer) Forward(x *tensor.Dense) *tensor.Dense {
	residual := x
	if l.Shortcut != nil {
		residual = l.Shortcut.Forward(x)
	}
	h := x
	for i := range l.Layer {
		h = l.Layer[i].Forward(h)
	}
	cpu.Add(nn.Data(h), nn.Data(residual))
	l.Activation.Apply(nn.Data(h))
	return h
}

// ResNetStage is a run of blocks; the first one may downsample.
type ResNetStage struct {
	Layers []ResNetLayer `gsam:"layers"`
}

// ResNet is HF's ResNetBackbone with frozen batch norm (as
// GroundingDinoConvEncoder replaces every BatchNorm2d).
type ResNet struct {
	Config   ResNetConfig
	Embedder struct {
		Embedder ResNetConvLayer `gsam:"embedder"`
	} `gsam:"embedder"`
	Encoder struct {
		Stages []ResNetStage `gsam:"stages"`
	} `gsam:"encoder"`
}

// NewResNet allocates a ResNet backbone for config c.
func NewResNet(c ResNetConfig) (*ResNet, error) {
	if err := c.normalize(); err != nil {
		return nil, err
	}
	r := &ResNet{Config: c}
	r.Embedder.Embedder = newResNetConvLayer(c.NumChannels, c.EmbeddingSize, 7, 2, nn.Activation(c.HiddenAct))
	in := c.EmbeddingSize
	for i, out := range c.HiddenSizes {
		stride := 2
		if i == 0 && !c.DownsampleInFirstStage {
			stride = 1
		}
		var st ResNetStage
		for j := 0; j < c.Depths[i]; j++ {
			if j == 0 {
				st.Layers = append(st.Layers, newResNetLayer(c, in, out, stride))
			} else {
				st.Layers = append(st.Layers, newResNetLayer(c, out, out, 1))
			}
		}
		r.Encoder.Stages = append(r.Encoder.Stages, st)
		in = out
	}
	return r, nil
}

// Channels are the widths of the returned feature maps.
func (r *ResNet) Channels() []int {
	widths := append([]int{r.Config.EmbeddingSize}, r.Config.HiddenSizes...)
	var ch []int
	for _, i := range r.Config.OutIndices {
		ch = append(ch, widths[i])
	}
	return ch
}

// Bind binds the weights under prefix; batch norm's num_batches_tracked
// counters are ignored.
func (r *ResNet) Bind(l *weights.Loader, prefix string) {
	l.Bind(prefix, r)
	for _, k := range l.Unused() {
		if len(k) > len(prefix) && k[:len(prefix)] == prefix && hasSuffix(k, ".num_batches_tracked") {
			l.Ignore(k)
		}
	}
}

func hasSuffix(s, suf string) bool { return len(s) >= len(suf) && s[len(s)-len(suf):] == suf }

// Forward runs the backbone on pixel values [B, C, H, W]; pixelMask [B, H, W]
// (nil = all real) is resized to each returned map.
func (r *ResNet) Forward(ctx context.Context, pixelValues *tensor.Dense, pixelMask []uint8) ([]FeatureMap, error) {
	s := pixelValues.Shape()
	if len(s) != 4 || s[1] != r.Config.NumChannels || s[2] < 1 || s[3] < 1 {
		return nil, fmt.Errorf("resnet: pixel values of shape %v, want [B, %d, H, W]", s, r.Config.NumChannels)
	}
	B, H, W := s[0], s[2], s[3]
	if pixelMask != nil && len(pixelMask) != B*H*W {
		return nil, fmt.Errorf("resnet: pixel mask has %d values, want %d", len(pixelMask), B*H*W)
	}
	var maps []FeatureMap
	emit := func(stage int, x *tensor.Dense) {
		for _, i := range r.Config.OutIndices {
			if i == stage {
				xs := x.Shape()
				maps = append(maps, FeatureMap{Features: x, Mask: InterpolateMask(pixelMask, B, H, W, xs[2], xs[3])})
			}
		}
	}
	x := maxPool3x3s2(r.Embedder.Embedder.Forward(pixelValues))
	emit(0, x)
	for i := range r.Encoder.Stages {
		for j := range r.Encoder.Stages[i].Layers {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
			x = r.Encoder.Stages[i].Layers[j].Forward(x)
		}
		emit(i+1, x)
	}
	return maps, nil
}

// maxPool3x3s2 is MaxPool2d(kernel 3, stride 2, padding 1).
func maxPool3x3s2(x *tensor.Dense) *tensor.Dense {
	s := x.Shape()
	B, C, H, W := s[0], s[1], s[2], s[3]
	OH, OW := (H+2-3)/2+1, (W+2-3)/2+1
	src := nn.Data(x)
	out := make([]float32, B*C*OH*OW)
	cpu.ParallelFor(B*C, func(lo, hi int) {
		for bc := lo; bc < hi; bc++ {
			in := src[bc*H*W : (bc+1)*H*W]
			dst := out[bc*OH*OW : (bc+1)*OH*OW]
			for oy := 0; oy < OH; oy++ {
				for ox := 0; ox < OW; ox++ {
					m := float32(math.Inf(-1))
					for ky := oy*2 - 1; ky <= oy*2+1; ky++ {
						if ky < 0 || ky >= H {
							continue
						}
						for kx := ox*2 - 1; kx <= ox*2+1; kx++ {
							if kx >= 0 && kx < W && in[ky*W+kx] > m {
								m = in[ky*W+kx]
							}
						}
					}
					dst[oy*OW+ox] = m
				}
			}
		}
	})
	return nn.FromData(out, B, C, OH, OW)
}
