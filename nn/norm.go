package nn

import (
	"math"

	"github.com/gsam-go/gsam/cpu"
	"gorgonia.org/tensor"
)

// LayerNorm normalises over the last axis.
type LayerNorm struct {
	Weight *tensor.Dense `gsam:"weight"`
	Bias   *tensor.Dense `gsam:"bias"`
	Eps    float32
}

// NewLayerNorm allocates a LayerNorm over d features.
func NewLayerNorm(d int, eps float32) LayerNorm {
	return LayerNorm{Weight: New(d), Bias: New(d), Eps: eps}
}

// Forward returns the normalised copy of x.
func (n *LayerNorm) Forward(x *tensor.Dense) *tensor.Dense {
	y := Clone(x)
	n.ForwardInPlace(Data(y))
	return y
}

// ForwardInPlace normalises rows of x (length d each) in place, with mean
// and variance accumulated in float64 (cpu.LayerNormRows).
func (n *LayerNorm) ForwardInPlace(x []float32) {
	w := Data(n.Weight)
	cpu.LayerNormRows(x, w, Data(n.Bias), len(w), n.Eps)
}

// LayerNorm2d normalises a [B, C, H, W] tensor over C at every pixel (SAM).
type LayerNorm2d struct {
	Weight *tensor.Dense `gsam:"weight"`
	Bias   *tensor.Dense `gsam:"bias"`
	Eps    float32
}

// NewLayerNorm2d allocates a channels-first LayerNorm over c channels.
func NewLayerNorm2d(c int, eps float32) LayerNorm2d {
	return LayerNorm2d{Weight: New(c), Bias: New(c), Eps: eps}
}

// Forward returns the normalised copy of x [B, C, H, W].
func (n *LayerNorm2d) Forward(x *tensor.Dense) *tensor.Dense {
	s := Shape(x)
	B, C, HW := s[0], s[1], s[2]*s[3]
	src := Data(x)
	y := make([]float32, len(src))
	w, b := Data(n.Weight), Data(n.Bias)
	for bi := 0; bi < B; bi++ {
		base := bi * C * HW
		for p := 0; p < HW; p++ {
			var mean float64
			for c := 0; c < C; c++ {
				mean += float64(src[base+c*HW+p])
			}
			mean /= float64(C)
			var variance float64
			for c := 0; c < C; c++ {
				d := float64(src[base+c*HW+p]) - mean
				variance += d * d
			}
			variance /= float64(C)
			inv := 1 / math.Sqrt(variance+float64(n.Eps))
			for c := 0; c < C; c++ {
				i := base + c*HW + p
				y[i] = float32((float64(src[i])-mean)*inv)*w[c] + b[c]
			}
		}
	}
	return FromData(y, s...)
}

// GroupNorm normalises [B, C, ...] over groups of C/Groups channels and the spatial axes.
type GroupNorm struct {
	Weight *tensor.Dense `gsam:"weight"`
	Bias   *tensor.Dense `gsam:"bias"`
	Groups int
	Eps    float32
}

// NewGroupNorm allocates a GroupNorm.
func NewGroupNorm(groups, c int, eps float32) GroupNorm {
	return GroupNorm{Weight: New(c), Bias: New(c), Groups: groups, Eps: eps}
}

// Forward returns the normalised copy of x.
func (n *GroupNorm) Forward(x *tensor.Dense) *tensor.Dense {
	y := make([]float32, len(Data(x)))
	n.apply(y, x)
	return FromData(y, Shape(x)...)
}

// ForwardInPlace normalises x in place.
func (n *GroupNorm) ForwardInPlace(x *tensor.Dense) { n.apply(Data(x), x) }

// apply writes the normalised x into y (which may be x's own data: each
// group's statistics are taken before any of it is written).
func (n *GroupNorm) apply(y []float32, x *tensor.Dense) {
	s := Shape(x)
	B, C := s[0], s[1]
	HW := Numel(s[2:]...)
	G := n.Groups
	cg := C / G
	src := Data(x)
	w, b := Data(n.Weight), Data(n.Bias)
	// (image, group) units are independent: one pass each, over the cores.
	cpu.ParallelFor(B*G, func(lo, hi int) {
		for u := lo; u < hi; u++ {
			bi, g := u/G, u%G
			off := (bi*C + g*cg) * HW
			seg := src[off : off+cg*HW]
			var mean float64
			for _, v := range seg {
				mean += float64(v)
			}
			mean /= float64(len(seg))
			var variance float64
			for _, v := range seg {
				d := float64(v) - mean
				variance += d * d
			}
			variance /= float64(len(seg))
			inv := 1 / math.Sqrt(variance+float64(n.Eps))
			for c := 0; c < cg; c++ {
				ch := g*cg + c
				for p := 0; p < HW; p++ {
					i := off + c*HW + p
					y[i] = float32((float64(src[i])-mean)*inv)*w[ch] + b[ch]
				}
			}
		}
	})
}
