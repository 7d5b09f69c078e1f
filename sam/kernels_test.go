package sam

import (
	"math"
	"testing"
)

func TestFastMath(t *testing.T) {
	var maxE, maxX float64
	for x := -10.0; x <= 10; x += 1e-4 {
		e := math.Abs(float64(erff(float32(x))) - math.Erf(x))
		maxE = max(maxE, e)
	}
	for x := -87.0; x <= 0; x += 1e-4 {
		want := math.Exp(float64(float32(x)))
		r := math.Abs(float64(expf(float32(x)))-want) / want
		maxX = max(maxX, r)
	}
	t.Logf("erff max abs error %.3g, expf max rel error %.3g", maxE, maxX)
	if maxE > 1e-6 || maxX > 1e-6 {
		t.Fatalf("erff %.3g or expf %.3g too inaccurate", maxE, maxX)
	}
	if expf(float32(math.Inf(-1))) != 0 {
		t.Fatal("expf(-Inf) != 0")
	}
}
