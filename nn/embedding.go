package nn

import (
	"fmt"

	"gorgonia.org/tensor"
)

// Embedding is a lookup table of shape [num, dim].
type Embedding struct {
	Weight *tensor.Dense `gsam:"weight"`
}

// NewEmbedding allocates a table.
func NewEmbedding(num, dim int) Embedding { return Embedding{Weight: New(num, dim)} }

// Forward gathers rows for ids into [len(ids), dim]; an id out of range is an error.
func (e *Embedding) Forward(ids []int64) (*tensor.Dense, error) {
	s := e.Weight.Shape()
	num, dim := s[0], s[1]
	w := Data(e.Weight)
	out := make([]float32, len(ids)*dim)
	for i, id := range ids {
		if id < 0 || int(id) >= num {
			return nil, fmt.Errorf("nn: embedding index %d out of range [0, %d)", id, num)
		}
		copy(out[i*dim:(i+1)*dim], w[int(id)*dim:(int(id)+1)*dim])
	}
	return FromData(out, len(ids), dim), nil
}
