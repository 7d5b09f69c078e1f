package backbone

import (
	"math"
	"testing"
)

// TestFastMath bounds the float32 erf and exp against the float64 library.
func TestFastMath(t *testing.T) {
	var worstErf, worstExp float64
	xs := make([]float32, 0, 1200001)
	for i := -600000; i <= 600000; i++ {
		xs = append(xs, float32(i)/50000)
	}
	g := append([]float32(nil), xs...)
	geluSlice(g)
	for i, x := range xs {
		want := 0.5 * float64(x) * (1 + math.Erf(float64(x)/math.Sqrt2))
		if d := math.Abs(float64(g[i]) - want); d > worstErf {
			worstErf = d
		}
	}
	for i := -600000; i <= 600000; i++ {
		x := float32(i) / 100000
		arg := x * 14
		want := math.Exp(float64(arg))
		if d := math.Abs(float64(expf(arg))-want) / want; d > worstExp {
			worstExp = d
		}
	}
	t.Logf("gelu max abs error %.3g on [-12, 12], exp max rel error %.3g", worstErf, worstExp)
	if worstErf > 4e-6 || worstExp > 1e-6 {
		t.Errorf("gelu max abs error %.3g, exp max rel error %.3g: too large", worstErf, worstExp)
	}
	if expf(-100) != 0 {
		t.Errorf("expf(-100) = %g", expf(-100))
	}
}
