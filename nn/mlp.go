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
	// The hidden activations are scratch; only the output is new.
	shape := Shape(x)
	rows := Numel(shape...) / m.Layers[0].In()
	in := Data(x)
	var hidden []float32
	for i := range m.Layers[:len(m.Layers)-1] {
		l := &m.Layers[i]
		y := Scratch(rows * l.Out())
		l.ForwardSlice(y, in, rows)
		m.Act.Apply(y)
		if hidden != nil {
			PutScratch(hidden)
		}
		hidden, in = y, y
	}
	last := &m.Layers[len(m.Layers)-1]
	y := Scratch(rows * last.Out()) // written whole; may be handed back with Release
	last.ForwardSlice(y, in, rows)
	if hidden != nil {
		PutScratch(hidden)
	}
	shape[len(shape)-1] = last.Out()
	return FromData(y, shape...)
}
