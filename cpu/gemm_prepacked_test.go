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
// blocks), one and three workers, the packed B reused for several A, with
// and without a packed bias and an activation of A.
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
						for _, withBias := range []bool{false, true} {
							var bias []float32
							alpha, act := float32(0.5), ActIdentity
							if withBias {
								bias, alpha, act = randSlice(r, n), 1, ActGELU
							}
							packBWith(kern, &p, transB, k, n, b, ldb, bias)
							for rep := 0; rep < 2; rep++ { // the same packed B, another A
								a := randSlice(r, max(1, (max(m, k)+1)*lda))
								c0 := randSlice(r, m*(n+1))
								want := append([]float32(nil), c0...)
								got := append([]float32(nil), c0...)
								sgemmRun(kern, transA, transB, m, n, k, alpha, a, lda, b, ldb, 1, bias, act, nil, want, n+1)
								sgemmRun(kern, transA, false, m, n, k, alpha, a, lda, nil, 0, 1, p.bias, act, &p, got, n+1)
								for i := range want {
									if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
										t.Fatalf("%s workers=%d m=%d n=%d k=%d tA=%v tB=%v bias=%v: c[%d] = %g, Sgemm %g",
											kern.name, workers, m, n, k, transA, transB, withBias, i, got[i], want[i])
									}
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

// TestSgemmPackedBPublic runs the exported functions with the kernel in
// use, a B large enough to be packed over several cores included.
func TestSgemmPackedBPublic(t *testing.T) {
	r := rand.New(rand.NewSource(6))
	for _, s := range [][3]int{{50, 70, 300}, {7, 2048, 256}} {
		m, n, k := s[0], s[1], s[2]
		a, b, bias := randSlice(r, m*k), randSlice(r, n*k), randSlice(r, n)
		want, got := make([]float32, m*n), make([]float32, m*n)
		check := func(what string) {
			t.Helper()
			for i := range want {
				if got[i] != want[i] {
					t.Fatalf("%s m=%d n=%d k=%d: c[%d] = %g, Sgemm %g", what, m, n, k, i, got[i], want[i])
				}
			}
		}
		Sgemm(false, true, m, n, k, 1, a, k, b, k, 0, want, n)
		var p PackedB
		PackB(&p, true, k, n, b, k)
		SgemmPackedB(false, m, 1, a, k, &p, 0, got, n)
		check("PackB")
		SgemmAct(ActReLU, false, true, m, n, k, a, k, b, k, 0, bias, want, n)
		PackBBias(&p, true, k, n, b, k, bias)
		SgemmPackedBAct(ActReLU, false, m, a, k, &p, 0, got, n)
		check("PackBBias")
		func() {
			defer func() {
				if recover() == nil {
					t.Error("SgemmPackedB with a packed bias and alpha 2 did not panic")
				}
			}()
			SgemmPackedB(false, m, 2, a, k, &p, 0, got, n)
		}()
	}
}
