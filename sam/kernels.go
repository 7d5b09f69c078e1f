package sam

import (
	"github.com/gsam-go/gsam/cpu"
	"github.com/gsam-go/gsam/nn"
)

// activate applies a config's hidden_act in place: "relu", anything else
// the exact (erf) GELU, as the reference's ACT2FN for SAM configs.
func activate(act string, x []float32) {
	if act == "relu" {
		nn.ReLUInPlace(x)
		return
	}
	cpu.GELU(x)
}

// kernelActivation is activate's function for cpu.SgemmAct.
func kernelActivation(act string) cpu.Activation {
	if act == "relu" {
		return cpu.ActReLU
	}
	return cpu.ActGELU
}
