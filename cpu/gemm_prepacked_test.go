package cpu

import (
	"math"
	"math/rand"
	"runtime"
	"testing"
)

// TestSgemmPackedB checks products with a pre-packed B against the same
// products through Sgemm's own packing: bit for bit (same blocks, same
// kernel), on every kernel, tiny blocks included (several k and column
// blocks), one and three workers, the packed B reused for several A.
func TestSgemmPackedB(t *testing.T) {
	defer func(old int) { gemmParallelMin = old }(gemmParallelMin)
	r := rand.New(rand.NewSource(5))
	for _, workers := range []int{1, 3} {
		gemmParallelMin = 0
		if workers == 1 {
			gemmParallelMin = 1 << 62
		}
		prev := runtime.GOMAXPROCS(workers)
		for _, kern := range testKernels() {
			var p PackedB
			for _, s := range [][3]int{{1, 1, 1}, {7, 19, 5}, {37, 300, 257}, {64, 33, 530}, {5, 1000, 96}, {13, 40, 0}} {
				m, n, k := s[0], s[1], s[2]
				for _, transB := range []bool{false, true} {
					for _, transA := range []bool{false, true} {
						ldb := n + 3
						if transB {
							ldb = k + 2
						}
						lda := k + 1
						if transA {
							lda = m + 2
						}
						b := randSlice(r, max(1, (max(n, k)+1)*ldb))
						packBWith(kern, &p, transB, k, n, b, ldb)
						for rep := 0; rep < 2; rep++ { // the same packed B, another A
							a := randSlice(r, max(1, (max(m, k)+1)*lda))
							c0 := randSlice(r, m*(n+1))
							want := append([]float32(nil), c0...)
							got := append([]float32(nil), c0...)
							sgemmPacked(kern, transA, transB, m, n, k, 0.5, a, lda, b, ldb, 1, want, n+1)
							sgemmRun(kern, transA, false, m, n, k, 0.5, a, lda, nil, 0, 1, nil, ActIdentity, &p, got, n+1)
							for i := range want {
								if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
									t.Fatalf("%s workers=%d m=%d n=%d k=%d tA=%v tB=%v: c[%d] = %g, Sgemm %g",
										kern.name, workers, m, n, k, transA, transB, i, got[i], want[i])
								}
							}
						}
					}
				}
			}
		}
		runtime.GOMAXPROCS(prev)
	}
}

// TestSgemmPackedBPublic runs the exported pair with the kernel in use.
func TestSgemmPackedBPublic(t *testing.T) {
	r := rand.New(rand.NewSource(6))
	m, n, k := 50, 70, 300
	a, b := randSlice(r, m*k), randSlice(r, n*k)
	want, got := make([]float32, m*n), make([]float32, m*n)
	Sgemm(false, true, m, n, k, 1, a, k, b, k, 0, want, n)
	var p PackedB
	PackB(&p, true, k, n, b, k)
	SgemmPackedB(false, m, 1, a, k, &p, 0, got, n)
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("c[%d] = %g, Sgemm %g", i, got[i], want[i])
		}
	}
}
