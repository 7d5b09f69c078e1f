package nn

import "gorgonia.org/tensor"

// MLP is a stack of Linear layers with an activation between them (not after
// the last), keyed "layers.i" as in DETR-style heads and SAM's hypernetworks.
type MLP struct {
	Layers []Linear `gsam:"layers"`
	Act    Activation
}

// NewMLP allocates in → hidden … → out with numLayers Linear layers.
func NewMLP(in, hidden, out, numLayers int, act Activation) MLP {
	m := MLP{Act: act}
	for i := 0; i < numLayers; i++ {
		a, b := hidden, hidden
		if i == 0 {
			a = in
		}
		if i == numLayers-1 {
			b = out
		}
		m.Layers = append(m.Layers, NewLinear(a, b, true))
	}
	return m
}

// Forward applies the stack; the result is always a new tensor.
func (m *MLP) Forward(x *tensor.Dense) *tensor.Dense {
	if len(m.Layers) == 0 {
		return Clone(x)
	}
	// Each layer's output is scratch, kept before its activation: the next
	// product applies it as it packs it (Linear.ForwardSliceAct). The last
	// one is the result (written whole; may be handed back with Release).
	shape := Shape(x)
	rows := Numel(shape...) / m.Layers[0].In()
	var prev []float32
	for i := range m.Layers {
		l := &m.Layers[i]
		y := Scratch(rows * l.Out())
		if prev == nil {
			l.ForwardSlice(y, Data(x), rows)
		} else {
			l.ForwardSliceAct(y, prev, rows, m.Act)
			PutScratch(prev)
		}
		prev = y
	}
	shape[len(shape)-1] = m.Layers[len(m.Layers)-1].Out()
	return FromData(prev, shape...)
}
