package nn

import (
	"github.com/gsam-go/gsam/cpu"
	"gorgonia.org/tensor"
)

// Linear is y = x·Wᵀ + b over the last axis, W of shape [out, in].
type Linear struct {
	Weight *tensor.Dense `gsam:"weight"`
	Bias   *tensor.Dense `gsam:"bias"`

	packed *cpu.PackedB // Prepack's copy of Wᵀ and b, or nil
}

// NewLinear allocates a Linear layer; bias may be omitted.
func NewLinear(in, out int, bias bool) Linear {
	l := Linear{Weight: New(out, in)}
	if bias {
		l.Bias = New(out)
	}
	return l
}

// In and Out are the layer's feature sizes.
func (l *Linear) In() int  { return l.Weight.Shape()[1] }
func (l *Linear) Out() int { return l.Weight.Shape()[0] }

// Forward applies the layer to x of shape [..., in].
func (l *Linear) Forward(x *tensor.Dense) *tensor.Dense {
	shape := Shape(x)
	in, out := l.In(), l.Out()
	rows := Numel(shape...) / in
	y := Scratch(rows * out) // written whole; may be handed back with Release
	l.ForwardSlice(y, Data(x), rows)
	shape[len(shape)-1] = out
	return FromData(y, shape...)
}

// Prepack packs Wᵀ and b once, the way every product packs them, for a
// layer applied to a few rows many times: there packing the weight costs
// more than the product (SAM's decoder runs its token layers on 7 rows a
// prompt). The products are bit for bit those without it. The pack is a
// copy: call Prepack again after changing the weights.
func (l *Linear) Prepack() {
	in, out := l.In(), l.Out()
	p := new(cpu.PackedB)
	if l.Bias != nil {
		cpu.PackBBias(p, true, in, out, Data(l.Weight), in, Data(l.Bias))
	} else {
		cpu.PackB(p, true, in, out, Data(l.Weight), in)
	}
	l.packed = p
}

// ForwardSlice writes rows×out results of rows×in inputs into y.
func (l *Linear) ForwardSlice(y, x []float32, rows int) {
	in, out := l.In(), l.Out()
	if l.packed != nil {
		cpu.SgemmPackedB(false, rows, 1, x, in, l.packed, 0, y, out)
		return
	}
	if l.Bias != nil {
		cpu.SgemmBias(false, true, rows, out, in, x, in, Data(l.Weight), in, 0, Data(l.Bias), y, out)
		return
	}
	cpu.Sgemm(false, true, rows, out, in, 1, x, in, Data(l.Weight), in, 0, y, out)
}

// ForwardSliceAct is ForwardSlice of act(x), the previous layer's
// activation applied as the product packs x (cpu.SgemmAct): x is left as
// it is and never passed over on its own.
func (l *Linear) ForwardSliceAct(y, x []float32, rows int, act Activation) {
	in, out := l.In(), l.Out()
	if l.packed != nil {
		cpu.SgemmPackedBAct(act.Kernel(), false, rows, x, in, l.packed, 0, y, out)
		return
	}
	var b []float32
	if l.Bias != nil {
		b = Data(l.Bias)
	}
	cpu.SgemmAct(act.Kernel(), false, true, rows, out, in, x, in, Data(l.Weight), in, 0, b, y, out)
}
