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

func TestSoftmaxRow(t *testing.T) {
	row := []float32{-3, 0.5, 2, float32(math.Inf(-1)), 10, -80}
	want := make([]float64, len(row))
	var sum float64
	for i, v := range row {
		want[i] = math.Exp(float64(v) - 10)
		sum += want[i]
	}
	softmaxRow(row)
	for i := range row {
		if d := math.Abs(float64(row[i]) - want[i]/sum); d > 1e-7 {
			t.Fatalf("softmax[%d] = %g, want %g", i, row[i], want[i]/sum)
		}
	}
}
