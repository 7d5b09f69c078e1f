package enhancer

import (
	"math"
	"testing"
)

func TestExp32(t *testing.T) {
	for x := float32(-90); x <= 0; x += 0.0137 {
		got, want := float64(exp32(x)), math.Exp(float64(x))
		if math.Abs(got-want) > 3e-7*want+2e-38 {
			t.Fatalf("exp32(%g) = %g, want %g", x, got, want)
		}
	}
	if exp32(float32(math.Inf(-1))) != 0 || exp32(0) != 1 {
		t.Fatal("exp32 edge cases")
	}
}

func TestSoftmaxRows(t *testing.T) {
	inf := float32(math.Inf(-1))
	x := []float32{1, 2, 3, inf, inf, inf, 0, inf, -3.4e38}
	softmaxRows(x, 3)
	want := []float32{0.09003057, 0.24472848, 0.66524094, 0, 0, 0, 1, 0, 0}
	for i := range want {
		if math.Abs(float64(x[i]-want[i])) > 1e-6 {
			t.Fatalf("softmax %v, want %v", x, want)
		}
	}
}
