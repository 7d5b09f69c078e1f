package bench

import (
	"testing"

	"github.com/gsam-go/gsam/cpu"
)

// gemmCase is C[m×n] = A[m×k]·op(B): "NT" is a Linear layer (weights
// [out, in], B transposed), "NN" a plain product.
type gemmCase struct {
	name    string
	transB  bool
	m, k, n int
}

// The model shapes: SAM ViT-B's MLP (4096 tokens, 768 → 3072), Grounding
// DINO's encoder FFN (22223 positions at 800×1333, 256 → 2048; 17821 is the
// shape the cpu package's own benchmark uses) and a decoder projection
// (900 queries, 256 → 256).
func gemmCases() []gemmCase {
	return []gemmCase{
		{"1024x1024x1024_NN", false, 1024, 1024, 1024},
		{"4096x768x3072_NT", true, 4096, 768, 3072},
		{"22223x256x2048_NT", true, 22223, 256, 2048},
		{"17821x256x2048_NT", true, 17821, 256, 2048},
		{"900x256x256_NT", true, 900, 256, 256},
	}
}

// BenchmarkSGEMM times cpu.Sgemm; names are m×k×n. TestKernelInfo logs
// which micro-kernel it uses.
func BenchmarkSGEMM(b *testing.B) {
	for _, c := range gemmCases() {
		b.Run(c.name, func(b *testing.B) {
			r := rng(7)
			a := randSlice(r, c.m*c.k, 1)
			w := randSlice(r, c.k*c.n, 1)
			out := make([]float32, c.m*c.n)
			ldb := c.n
			if c.transB {
				ldb = c.k
			}
			for b.Loop() {
				cpu.Sgemm(false, c.transB, c.m, c.n, c.k, 1, a, c.k, w, ldb, 0, out, c.n)
			}
			report(b, 2*float64(c.m)*float64(c.n)*float64(c.k), 0)
		})
	}
}
