package enhancer

import (
	"math"
	"testing"
)

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
