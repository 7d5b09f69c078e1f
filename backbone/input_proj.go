package backbone

import (
	"github.com/gsam-go/gsam/nn"
	"gorgonia.org/tensor"
)

// InputProjection maps one level to d_model: a convolution (1×1 for a
// backbone level, 3×3 stride 2 padding 1 for an extra level) then
// GroupNorm(32, d_model). Keys: input_proj_vision.<i>.0 and .1.
type InputProjection struct {
	Conv nn.Conv2d    `gsam:"0"`
	Norm nn.GroupNorm `gsam:"1"`
}

// NewInputProjection allocates a projection from in channels to d.
func NewInputProjection(in, d int, extra bool) InputProjection {
	p := InputProjection{Norm: nn.NewGroupNorm(32, d, 1e-5)}
	if extra {
		p.Conv = nn.NewConv2d(in, d, 3, 2, 1, 1, true)
	} else {
		p.Conv = nn.NewConv2d(in, d, 1, 1, 0, 1, true)
	}
	return p
}

// Forward projects x [B, in, h, w] to [B, d, h', w'].
func (p *InputProjection) Forward(x *tensor.Dense) *tensor.Dense {
	y := p.Conv.Forward(x)
	p.Norm.ForwardInPlace(y)
	return y
}
