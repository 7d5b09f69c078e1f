package sam

import "testing"

func BenchmarkSoftmax4096(b *testing.B) {
	src := make([]float32, 4096)
	for j := range src {
		src[j] = float32(j%37) * -0.3
	}
	row := make([]float32, 4096)
	for i := 0; i < b.N; i++ {
		copy(row, src)
		softmaxUnnormalised(row)
	}
	b.SetBytes(4096 * 4)
}
