package backbone

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/gsam-go/gsam/nn"
)

// positionPlain is SinePositionEmbedding.Forward computed pixel by pixel,
// one Sin or Cos each: the fast path reuses equal values' results and must
// match it bit for bit.
func positionPlain(p SinePositionEmbedding, mask []uint8, B, h, w int) []float32 {
	const eps, scale = float32(1e-6), float32(2 * math.Pi)
	D := p.Dim
	out := make([]float32, B*2*D*h*w)
	for b := 0; b < B; b++ {
		for y := 0; y < h; y++ {
			for x := 0; x < w; x++ {
				m := func(yy, xx int) float32 { return float32(mask[(b*h+yy)*w+xx]) }
				var ye, yl, xe, xl float32
				for yy := 0; yy < h; yy++ {
					if yy <= y {
						ye += m(yy, x)
					}
					yl += m(yy, x)
				}
				for xx := 0; xx < w; xx++ {
					if xx <= x {
						xe += m(y, xx)
					}
					xl += m(y, xx)
				}
				ye = ye / (yl + eps) * scale
				xe = xe / (xl + eps) * scale
				for c := 0; c < D; c++ {
					dimT := float32(math.Pow(p.Temperature, float64(float32(2*(c/2))/float32(D))))
					f := math.Sin
					if c%2 == 1 {
						f = math.Cos
					}
					out[((b*2*D+c)*h+y)*w+x] = float32(f(float64(ye / dimT)))
					out[((b*2*D+D+c)*h+y)*w+x] = float32(f(float64(xe / dimT)))
				}
			}
		}
	}
	return out
}

// TestSinePositionEmbeddingMasks checks the embedding against the plain
// per-pixel computation on masks the fixtures do not have: all real, a
// padded corner, and random holes (no two rows or columns alike).
func TestSinePositionEmbeddingMasks(t *testing.T) {
	p := SinePositionEmbedding{Dim: 16, Temperature: 20}
	B, h, w := 2, 9, 13
	r := rand.New(rand.NewPCG(1, 2))
	masks := map[string][]uint8{"all real": nil, "padded": make([]uint8, B*h*w), "holes": make([]uint8, B*h*w)}
	for b := 0; b < B; b++ {
		for y := 0; y < h; y++ {
			for x := 0; x < w; x++ {
				if y < h-2*b && x < w-3*b {
					masks["padded"][(b*h+y)*w+x] = 1
				}
				if r.IntN(4) > 0 {
					masks["holes"][(b*h+y)*w+x] = 1
				}
			}
		}
	}
	for name, mask := range masks {
		got := nn.Data(p.Forward(mask, B, h, w))
		m := mask
		if m == nil {
			m = ones(B * h * w)
		}
		want := positionPlain(p, m, B, h, w)
		for i := range want {
			if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
				t.Fatalf("%s: value %d = %g, want %g", name, i, got[i], want[i])
			}
		}
	}
}
