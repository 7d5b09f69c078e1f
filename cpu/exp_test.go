package cpu

import (
	"math"
	"math/rand/v2"
	"testing"
)

func TestExp32(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 1))
	worst := 0.0
	for i := 0; i < 200000; i++ {
		x := float32(r.Float64()*188 - 100)
		if i < 1000 {
			x = float32(r.Float64()*2 - 1)
		}
		got, want := float64(Exp32(x)), math.Exp(float64(x))
		if want < 1e-37 { // subnormal range: absolute error
			if math.Abs(got-want) > 1e-44 {
				t.Fatalf("Exp32(%g) = %g, want %g", x, got, want)
			}
			continue
		}
		if rel := math.Abs(got-want) / want; rel > worst {
			worst = rel
		}
	}
	if worst > 4e-7 {
		t.Fatalf("max relative error %g", worst)
	}
	t.Logf("max relative error %.3g", worst)
	for x, want := range map[float32]float64{0: 1, 1: math.E, -1: 1 / math.E, 88: math.Exp(88)} {
		if got := float64(Exp32(x)); math.Abs(got-want)/want > 4e-7 {
			t.Errorf("Exp32(%g) = %g, want %g", x, got, want)
		}
	}
	if !math.IsInf(float64(Exp32(100)), 1) || Exp32(-200) != 0 || Exp32(float32(math.Inf(-1))) != 0 {
		t.Error("overflow/underflow handling")
	}
	if nan := Exp32(float32(math.NaN())); nan == nan {
		t.Error("NaN not propagated")
	}
}

func TestSoftmaxRows(t *testing.T) {
	x := []float32{1, 2, 3, float32(math.Inf(-1)), float32(math.Inf(-1)), float32(math.Inf(-1))}
	SoftmaxRows(x, 3)
	want := []float32{0.09003057, 0.24472847, 0.66524096, 0, 0, 0}
	for i := range want {
		if math.Abs(float64(x[i]-want[i])) > 1e-7 {
			t.Fatalf("softmax = %v, want %v", x, want)
		}
	}
}

func BenchmarkExp32(b *testing.B) {
	x := make([]float32, 4096)
	for i := range x {
		x[i] = float32(i%200) * -0.1
	}
	y := make([]float32, len(x))
	b.SetBytes(int64(4 * len(x)))
	for b.Loop() {
		for i, v := range x {
			y[i] = Exp32(v)
		}
	}
}

func BenchmarkMathExp(b *testing.B) {
	x := make([]float32, 4096)
	for i := range x {
		x[i] = float32(i%200) * -0.1
	}
	y := make([]float32, len(x))
	b.SetBytes(int64(4 * len(x)))
	for b.Loop() {
		for i, v := range x {
			y[i] = float32(math.Exp(float64(v)))
		}
	}
}
