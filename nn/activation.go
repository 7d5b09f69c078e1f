package nn

import (
	"math"

	"github.com/gsam-go/gsam/cpu"

	"gorgonia.org/tensor"
)

// GELU is the exact erf form, as PyTorch's default nn.GELU.
func GELU(x *tensor.Dense) *tensor.Dense {
	y := Clone(x)
	GELUInPlace(Data(y))
	return y
}

// GELUInPlace applies exact GELU to x (cpu.GELU: float32 erf within
// 2e-7·max(1, |x|) of the float64 one).
func GELUInPlace(x []float32) { cpu.GELU(x) }

// ReLU returns max(x, 0).
func ReLU(x *tensor.Dense) *tensor.Dense {
	y := Clone(x)
	ReLUInPlace(Data(y))
	return y
}

// ReLUInPlace applies ReLU to x.
func ReLUInPlace(x []float32) { cpu.ReLU(x) }

// Sigmoid returns 1/(1+e^-x).
func Sigmoid(x *tensor.Dense) *tensor.Dense {
	y := Clone(x)
	d := Data(y)
	for i, v := range d {
		d[i] = float32(1 / (1 + math.Exp(-float64(v))))
	}
	return y
}

// Softmax over the last axis.
func Softmax(x *tensor.Dense) *tensor.Dense {
	y := Clone(x)
	s := Shape(y)
	SoftmaxRows(Data(y), s[len(s)-1])
	return y
}

// SoftmaxRows applies softmax in place to each row of length n. A row that is
// entirely -Inf gives zeros rather than NaN.
func SoftmaxRows(x []float32, n int) { cpu.SoftmaxRows(x, n) }

// Activation names the activations configs use ("gelu", "relu").
type Activation string

// Kernel is the activation as cpu.SgemmAct applies it to the packed A of
// the product that follows it.
func (a Activation) Kernel() cpu.Activation {
	switch a {
	case "relu":
		return cpu.ActReLU
	case "gelu", "":
		return cpu.ActGELU
	}
	panic("nn: unknown activation " + string(a))
}

// Apply applies the activation in place.
func (a Activation) Apply(x []float32) {
	switch a {
	case "relu":
		ReLUInPlace(x)
	case "gelu", "":
		GELUInPlace(x)
	default:
		panic("nn: unknown activation " + string(a))
	}
}
