package query

import (
	"math/rand/v2"
	"testing"

	"github.com/gsam-go/gsam/nn"
	"github.com/gsam-go/gsam/weights"
)

// BenchmarkSelectTiny is grounding-dino-tiny's query selection (900 of the
// 22,223 positions of an 800×1333 image, d 256) with random weights and a
// 9-token caption.
func BenchmarkSelectTiny(b *testing.B) {
	s, err := New(DefaultConfig())
	if err != nil {
		b.Fatal(err)
	}
	weights.Randomize(s, 1)
	shapes := [][2]int{{100, 167}, {50, 84}, {25, 42}, {13, 21}}
	S, T, D := 0, 9, 256
	for _, sh := range shapes {
		S += sh[0] * sh[1]
	}
	r := rand.New(rand.NewPCG(1, 2))
	fill := func(n int) []float32 {
		x := make([]float32, n)
		for i := range x {
			x[i] = r.Float32()*2 - 1
		}
		return x
	}
	vm := make([]bool, S)
	for i := range vm {
		vm[i] = true
	}
	tm := make([]bool, T)
	for i := range tm {
		tm[i] = true
	}
	in := Input{Vision: nn.FromData(fill(S*D), 1, S, D), Text: nn.FromData(fill(T*D), 1, T, D),
		VisionMask: vm, TextMask: tm, SpatialShapes: shapes}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := s.Forward(in); err != nil {
			b.Fatal(err)
		}
	}
}
