package backbone

import (
	"math"
	"testing"
)

// TestFastMath bounds the float32 erf and exp against the float64 library.
func TestFastMath(t *testing.T) {
	var worstErf, worstExp float64
	for i := -600000; i <= 600000; i++ {
		x := float32(i) / 100000
		if d := math.Abs(float64(erff(x)) - math.Erf(float64(x))); d > worstErf {
			worstErf = d
		}
		arg := x * 14
		want := math.Exp(float64(arg))
		if d := math.Abs(float64(expf(arg))-want) / want; d > worstExp {
			worstExp = d
		}
	}
	t.Logf("erf max abs error %.3g, exp max rel error %.3g", worstErf, worstExp)
	if worstErf > 1e-6 || worstExp > 1e-6 {
		t.Errorf("erf max abs error %.3g, exp max rel error %.3g: too large", worstErf, worstExp)
	}
	if expf(-100) != 0 || erff(10) != 1 || erff(-10) != -1 {
		t.Errorf("saturation: expf(-100)=%g erff(±10)=%g,%g", expf(-100), erff(10), erff(-10))
	}
}
