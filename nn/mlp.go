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

// Forward applies the stack.
func (m *MLP) Forward(x *tensor.Dense) *tensor.Dense {
	for i := range m.Layers {
		x = m.Layers[i].Forward(x)
		if i < len(m.Layers)-1 {
			m.Act.Apply(Data(x))
		}
	}
	return x
}
