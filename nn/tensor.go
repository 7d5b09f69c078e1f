package nn

import (
	"fmt"

	"gorgonia.org/tensor"
)

// New returns a zero float32 tensor of the given shape.
func New(shape ...int) *tensor.Dense {
	return tensor.New(tensor.WithShape(shape...), tensor.WithBacking(make([]float32, product(shape))))
}

// FromData wraps data (not copied) as a tensor of the given shape.
func FromData(data []float32, shape ...int) *tensor.Dense {
	if len(data) != product(shape) {
		panic(fmt.Sprintf("nn.FromData: %d values for shape %v", len(data), shape))
	}
	return tensor.New(tensor.WithShape(shape...), tensor.WithBacking(data))
}

// Data returns the float32 backing slice of a contiguous tensor.
//
// It goes through Float32s, which converts the tensor's byte slice header
// in place, and not through Dense.Data, which rebuilds the slice from a
// uintptr: in the window where that uintptr is the only reference, the
// collector may free the backing array (seen as heap corruption under
// concurrent load, 1 call in a few hundred).
func Data(t *tensor.Dense) []float32 { return t.Float32s() }

// Shape returns a copy of t's shape as []int.
func Shape(t *tensor.Dense) []int { return append([]int(nil), t.Shape()...) }

// Reshape returns a tensor sharing t's data with another shape.
func Reshape(t *tensor.Dense, shape ...int) *tensor.Dense {
	return FromData(Data(t), shape...)
}

// Clone copies a tensor.
func Clone(t *tensor.Dense) *tensor.Dense {
	src := Data(t)
	y := Scratch(len(src)) // may be handed back with Release
	copy(y, src)
	return FromData(y, Shape(t)...)
}

func product(shape []int) int {
	n := 1
	for _, d := range shape {
		n *= d
	}
	return n
}

// Numel is the number of elements of a shape.
func Numel(shape ...int) int { return product(shape) }

// Permute materialises t with its axes reordered (like torch.permute +
// contiguous) in a Scratch buffer (see Attention).
func Permute(t *tensor.Dense, axes ...int) *tensor.Dense {
	in := Shape(t)
	if len(axes) != len(in) {
		panic(fmt.Sprintf("nn.Permute: %d axes for a %d-d tensor", len(axes), len(in)))
	}
	out := make([]int, len(in))
	for i, a := range axes {
		out[i] = in[a]
	}
	inStride := strides(in)
	// stride in the input of each output axis
	st := make([]int, len(in))
	for i, a := range axes {
		st[i] = inStride[a]
	}
	src := Data(t)
	dst := Scratch(len(src)) // every element written below
	if len(dst) == 0 {
		return FromData(dst, out...)
	}
	idx := make([]int, len(out))
	last := len(out) - 1
	n, off := 0, 0
	for {
		// inner loop over the last axis
		s := st[last]
		for j := 0; j < out[last]; j++ {
			dst[n] = src[off+j*s]
			n++
		}
		// advance the multi-index over the outer axes
		k := last - 1
		for ; k >= 0; k-- {
			idx[k]++
			off += st[k]
			if idx[k] < out[k] {
				break
			}
			off -= st[k] * idx[k]
			idx[k] = 0
		}
		if k < 0 {
			break
		}
	}
	return FromData(dst, out...)
}

func strides(shape []int) []int {
	s := make([]int, len(shape))
	acc := 1
	for i := len(shape) - 1; i >= 0; i-- {
		s[i] = acc
		acc *= shape[i]
	}
	return s
}

// Add returns a+b elementwise; b may broadcast over a's leading axes
// (b's shape a suffix of a's).
func Add(a, b *tensor.Dense) *tensor.Dense {
	out := Clone(a)
	AddInPlace(out, b)
	return out
}

// AddInPlace adds b into a; b's size must divide a's (broadcast over leading axes).
func AddInPlace(a, b *tensor.Dense) {
	x, y := Data(a), Data(b)
	if len(y) == 0 || len(x)%len(y) != 0 {
		panic(fmt.Sprintf("nn.AddInPlace: shapes %v and %v do not broadcast", a.Shape(), b.Shape()))
	}
	for i := 0; i < len(x); i += len(y) {
		seg := x[i : i+len(y)]
		for j, v := range y {
			seg[j] += v
		}
	}
}
