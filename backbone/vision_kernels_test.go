package backbone

import (
	"math"
	"testing"
)

// TestFastMath bounds the float32 GELU against the float64 library.
func TestFastMath(t *testing.T) {
	var worstErf float64
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
	t.Logf("gelu max abs error %.3g on [-12, 12]", worstErf)
	if worstErf > 4e-6 {
		t.Errorf("gelu max abs error %.3g: too large", worstErf)
	}
}
