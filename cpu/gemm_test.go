package cpu

import (
	"fmt"
	"math"
	"math/rand"
	"runtime"
	"testing"
)

type gemmCase struct {
	transA, transB bool
	m, n, k        int
	padA, padB     int // extra stride beyond the stored width
	padC           int
	alpha, beta    float32
	bias           bool // C = op(A)*op(B) + bias + beta*C (alpha 1): SgemmBias
}

func (tc gemmCase) String() string {
	return fmt.Sprintf("tA=%v tB=%v m=%d n=%d k=%d pad=%d,%d,%d alpha=%g beta=%g bias=%v",
		tc.transA, tc.transB, tc.m, tc.n, tc.k, tc.padA, tc.padB, tc.padC, tc.alpha, tc.beta, tc.bias)
}

func randSlice(r *rand.Rand, n int) []float32 {
	s := make([]float32, n)
	for i := range s {
		s[i] = r.Float32()*2 - 1
	}
	return s
}

// sgemmFunc is Sgemm with SgemmBias's bias (nil: Sgemm).
type sgemmFunc func(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, bias, c []float32, ldc int)

// publicSgemm is the exported API as an sgemmFunc.
func publicSgemm(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, bias, c []float32, ldc int) {
	if bias != nil {
		SgemmBias(transA, transB, m, n, k, a, lda, b, ldb, beta, bias, c, ldc)
		return
	}
	Sgemm(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
}

func runGemmCase(t *testing.T, r *rand.Rand, tc gemmCase, impl sgemmFunc) {
	t.Helper()
	if err := checkGemmCase(r, tc, impl); err != nil {
		t.Fatal(err)
	}
}

// checkGemmCase runs impl and SgemmReference on the same random inputs and
// checks every element of C (padding included) within a rounding bound.
func checkGemmCase(r *rand.Rand, tc gemmCase, impl sgemmFunc) error {
	rowsA, colsA := tc.m, tc.k
	if tc.transA {
		rowsA, colsA = tc.k, tc.m
	}
	rowsB, colsB := tc.k, tc.n
	if tc.transB {
		rowsB, colsB = tc.n, tc.k
	}
	lda, ldb, ldc := colsA+tc.padA, colsB+tc.padB, tc.n+tc.padC
	a := randSlice(r, max(rowsA*lda, 1))
	b := randSlice(r, max(rowsB*ldb, 1))
	c := randSlice(r, tc.m*ldc)
	if tc.beta == 0 {
		for i := range c {
			if i%3 == 0 {
				c[i] = float32(math.NaN()) // beta == 0 must not read C
			}
		}
	}
	want := append([]float32(nil), c...)
	SgemmReference(tc.transA, tc.transB, tc.m, tc.n, tc.k, tc.alpha, a, lda, b, ldb, tc.beta, want, ldc)
	var bias []float32
	if tc.bias {
		bias = randSlice(r, tc.n)
		for i := range tc.m {
			for j, v := range bias {
				want[i*ldc+j] += v
			}
		}
	}
	impl(tc.transA, tc.transB, tc.m, tc.n, tc.k, tc.alpha, a, lda, b, ldb, tc.beta, bias, c, ldc)
	// Inputs are in [-1, 1], so |sum| <= k; float32 rounding grows with k.
	tol := float64(4*(tc.k+2)) * 1.2e-7 * (float64(abs32(tc.alpha))*float64(tc.k) + float64(abs32(tc.beta)) + 1)
	for i := range c {
		got, w := c[i], want[i]
		if i%ldc >= tc.n {
			if math.Float32bits(got) != math.Float32bits(w) {
				return fmt.Errorf("%v: padding c[%d] changed: %g -> %g", tc, i, w, got)
			}
			continue
		}
		if math.IsNaN(float64(got)) || math.Abs(float64(got-w)) > tol {
			return fmt.Errorf("%v: c[%d,%d] = %g, want %g (tol %g)", tc, i/ldc, i%ldc, got, w, tol)
		}
	}
	return nil
}

func abs32(x float32) float32 { return float32(math.Abs(float64(x))) }

func kernelImpl(kern *gemmKernel) sgemmFunc {
	return func(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, bias, c []float32, ldc int) {
		sgemmPackedBias(kern, transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, bias, c, ldc)
	}
}

func gemmTestCases(r *rand.Rand, count int) []gemmCase {
	var cases []gemmCase
	sizes := []int{1, 2, 3, 5, 6, 7, 11, 12, 13, 16, 17, 31, 32, 33, 49, 64, 100}
	alphas := []float32{1, 0.5, -2}
	betas := []float32{0, 1, -0.75}
	// Every transpose combination on fixed small shapes.
	for _, ta := range []bool{false, true} {
		for _, tb := range []bool{false, true} {
			cases = append(cases,
				gemmCase{transA: ta, transB: tb, m: 1, n: 1, k: 1, alpha: 1},
				gemmCase{transA: ta, transB: tb, m: 6, n: 16, k: 8, alpha: 1, beta: 1},
				gemmCase{transA: ta, transB: tb, m: 12, n: 32, k: 3, alpha: 1},
				gemmCase{transA: ta, transB: tb, m: 9, n: 16, k: 9, alpha: 1},
				gemmCase{transA: ta, transB: tb, m: 49, n: 49, k: 32, alpha: 0.125, padC: 5},
				gemmCase{transA: ta, transB: tb, m: 4, n: 5, k: 0, alpha: 1, beta: 0.5},
				gemmCase{transA: ta, transB: tb, m: 4, n: 5, k: 0, alpha: 1, bias: true},
				gemmCase{transA: ta, transB: tb, m: 13, n: 35, k: 20, alpha: 1, padC: 3, bias: true},
				gemmCase{transA: ta, transB: tb, m: 13, n: 35, k: 20, alpha: 1, beta: 1, bias: true},
			)
		}
	}
	for len(cases) < count {
		tc := gemmCase{
			transA: r.Intn(2) == 0, transB: r.Intn(2) == 0,
			m: sizes[r.Intn(len(sizes))], n: sizes[r.Intn(len(sizes))], k: sizes[r.Intn(len(sizes))],
			padA: r.Intn(3) * r.Intn(5), padB: r.Intn(3) * r.Intn(5), padC: r.Intn(3) * r.Intn(5),
			alpha: alphas[r.Intn(len(alphas))], beta: betas[r.Intn(len(betas))],
		}
		if r.Intn(4) == 0 {
			tc.alpha, tc.bias = 1, true
		}
		cases = append(cases, tc)
	}
	// Larger shapes that cross the kc/mc blocking and edge panels.
	cases = append(cases,
		gemmCase{m: 301, n: 77, k: 530, alpha: 1, beta: 1},
		gemmCase{transB: true, m: 150, n: 200, k: 300, alpha: 1},
		gemmCase{transA: true, m: 200, n: 45, k: 513, alpha: -1, beta: 0.5, padA: 3},
		gemmCase{transA: true, transB: true, m: 37, n: 300, k: 257, alpha: 2, padB: 1, padC: 2},
		gemmCase{transB: true, m: 5, n: 1000, k: 96, alpha: 1},
		gemmCase{transB: true, m: 301, n: 77, k: 530, alpha: 1, bias: true},
		gemmCase{m: 150, n: 200, k: 300, alpha: 1, padB: 2, bias: true},
		gemmCase{transA: true, m: 200, n: 45, k: 513, alpha: 1, beta: 1, bias: true},
	)
	return cases
}

// extraTestKernels are test-only kernel variants (see gemm_amd64_test.go).
var extraTestKernels []*gemmKernel

// testKernels returns every available kernel, plus a copy of each with tiny
// cache blocks so that small shapes cross every kc/mc/nc block boundary.
func testKernels() []*gemmKernel {
	var ks []*gemmKernel
	for _, kern := range append(gemmKernels(), extraTestKernels...) {
		tiny := *kern
		tiny.name += " tiny-blocks"
		tiny.kc, tiny.mc, tiny.nc = 5, 2*kern.mr+1, 2*kern.nr
		ks = append(ks, kern, &tiny)
	}
	return ks
}

func TestSgemmKernels(t *testing.T) {
	for _, kern := range testKernels() {
		t.Run(kern.name, func(t *testing.T) {
			r := rand.New(rand.NewSource(1))
			for _, tc := range gemmTestCases(r, 300) {
				runGemmCase(t, r, tc, kernelImpl(kern))
			}
		})
	}
}

// TestSgemmParallel forces the multi-worker path on small shapes, with three
// workers so that splits are uneven.
func TestSgemmParallel(t *testing.T) {
	defer func(old int) { gemmParallelMin = old }(gemmParallelMin)
	gemmParallelMin = 0
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(3))
	for _, kern := range testKernels() {
		t.Run(kern.name, func(t *testing.T) {
			r := rand.New(rand.NewSource(2))
			for _, tc := range gemmTestCases(r, 150) {
				runGemmCase(t, r, tc, kernelImpl(kern))
			}
		})
	}
}

func TestSgemmPublic(t *testing.T) {
	r := rand.New(rand.NewSource(3))
	for _, tc := range gemmTestCases(r, 40) {
		runGemmCase(t, r, tc, publicSgemm)
	}
	runGemmCase(t, r, gemmCase{transB: true, m: 256, n: 300, k: 384, alpha: 1}, publicSgemm)
	runGemmCase(t, r, gemmCase{transB: true, m: 256, n: 300, k: 384, alpha: 1, bias: true}, publicSgemm)
	t.Logf("kernel: %s", GemmKernel())
}

// NaN and Inf in A or B reach C, as in the reference: the kernels never skip zeros.
func TestSgemmNaNPropagation(t *testing.T) {
	for _, kern := range gemmKernels() {
		m, n, k := 7, 19, 5
		a := make([]float32, m*k)
		b := make([]float32, k*n)
		for i := range b {
			b[i] = 1
		}
		a[2*k+1] = float32(math.NaN())
		b[3*n+4] = float32(math.Inf(1)) // times a zero in A gives NaN
		c := make([]float32, m*n)
		sgemmPacked(kern, false, false, m, n, k, 1, a, k, b, n, 0, c, n)
		for i := 0; i < m; i++ {
			for j := 0; j < n; j++ {
				isNaN := math.IsNaN(float64(c[i*n+j]))
				if isNaN != (i == 2 || j == 4) {
					t.Fatalf("%s: c[%d,%d] = %g", kern.name, i, j, c[i*n+j])
				}
			}
		}
	}
}

func TestSgemmShortSlicePanics(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Fatal("no panic for a short C")
		}
	}()
	a := make([]float32, 4*4)
	Sgemm(false, false, 4, 4, 4, 1, a, 4, a, 4, 0, make([]float32, 15), 4)
}

func TestMicroKernelSelfCheck(t *testing.T) {
	for _, kern := range gemmKernels() {
		if err := checkMicroKernel(kern); err != nil {
			t.Errorf("%s: %v", kern.name, err)
		}
	}
	// The check must be able to fail.
	bad := *genericKernel
	bad.micro = func(kc int, a, b, c *float32, ldc int, alpha, beta float32) {
		genericKernel.micro(kc, a, b, c, ldc, alpha*1.5, beta)
	}
	if checkMicroKernel(&bad) == nil {
		t.Error("self-check passed a wrong kernel")
	}
}

func TestSgemmAllocs(t *testing.T) {
	if gemmRaceEnabled {
		t.Skip("sync.Pool drops items under the race detector")
	}
	r := rand.New(rand.NewSource(4))
	m, n, k := 300, 400, 500
	a, b, c := randSlice(r, m*k), randSlice(r, n*k), make([]float32, m*n)
	f := func() { Sgemm(false, true, m, n, k, 1, a, k, b, k, 0, c, n) }
	f()
	if allocs := testing.AllocsPerRun(10, f); allocs > 4 {
		t.Errorf("%v allocations per large call", allocs)
	}
	m, n, k = 9, 16, 9
	f()
	if allocs := testing.AllocsPerRun(10, f); allocs > 0 {
		t.Errorf("%v allocations per small call", allocs)
	}
}

func BenchmarkSgemm(b *testing.B) {
	shapes := []struct {
		name           string
		transA, transB bool
		m, k, n        int
	}{
		{"1024^3_NN", false, false, 1024, 1024, 1024},
		{"1024^3_NT", false, true, 1024, 1024, 1024},
		{"1024^3_TN", true, false, 1024, 1024, 1024},
		{"conv3x3_256x864x16700_NN", false, false, 256, 864, 16700},
		{"convT_1024x1024x4096_TN", true, false, 1024, 1024, 4096},
		{"900x900x32_NN", false, false, 900, 900, 32},
		{"4096x768x3072_NT", false, true, 4096, 768, 3072},
		{"17821x256x2048_NT", false, true, 17821, 256, 2048},
		{"900x256x256_NT", false, true, 900, 256, 256},
		{"256^3_NN", false, false, 256, 256, 256},
		{"256^3_TN", true, false, 256, 256, 256},
		{"attn_4096x64x4096_NT", false, true, 4096, 64, 4096},
		{"attn_4096x4096x64_NN", false, false, 4096, 4096, 64},
		{"attn_49x32x49_NT", false, true, 49, 32, 49},
		{"attn_9x16x9_NT", false, true, 9, 16, 9},
	}
	b.Logf("kernel: %s, %d workers", GemmKernel(), gemmWorkers())
	for _, s := range shapes {
		b.Run(s.name, func(b *testing.B) {
			r := rand.New(rand.NewSource(5))
			a := randSlice(r, s.m*s.k)
			bb := randSlice(r, s.k*s.n)
			c := make([]float32, s.m*s.n)
			lda, ldb := s.k, s.n
			if s.transA {
				lda = s.m
			}
			if s.transB {
				ldb = s.k
			}
			Sgemm(s.transA, s.transB, s.m, s.n, s.k, 1, a, lda, bb, ldb, 0, c, s.n) // warm the buffer pool
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				Sgemm(s.transA, s.transB, s.m, s.n, s.k, 1, a, lda, bb, ldb, 0, c, s.n)
			}
			flops := 2 * float64(s.m) * float64(s.n) * float64(s.k) * float64(b.N)
			b.ReportMetric(flops/b.Elapsed().Seconds()/1e9, "GFLOP/s")
		})
	}
}

// BenchmarkMicroKernel runs one micro-kernel from L1-resident panels: the
// ceiling for the whole GEMM on one core.
func BenchmarkMicroKernel(b *testing.B) {
	for _, kern := range gemmKernels() {
		b.Run(kern.name, func(b *testing.B) {
			kc := 256
			a := make([]float32, kc*kern.mr)
			bp := make([]float32, kc*kern.nr)
			c := make([]float32, kern.mr*kern.nr)
			for i := 0; i < b.N; i++ {
				kern.micro(kc, &a[0], &bp[0], &c[0], kern.nr, 1, 1)
			}
			flops := 2 * float64(kc*kern.mr*kern.nr) * float64(b.N)
			b.ReportMetric(flops/b.Elapsed().Seconds()/1e9, "GFLOP/s")
		})
	}
}

// Concurrent callers each get their own pooled state.
func TestSgemmConcurrent(t *testing.T) {
	defer func(old int) { gemmParallelMin = old }(gemmParallelMin)
	gemmParallelMin = 0
	errs := make(chan error, 4)
	for g := 0; g < 4; g++ {
		go func(seed int64) {
			r := rand.New(rand.NewSource(seed))
			for _, tc := range gemmTestCases(r, 60) {
				if err := checkGemmCase(r, tc, publicSgemm); err != nil {
					errs <- err
					return
				}
			}
			errs <- nil
		}(int64(10 + g))
	}
	for g := 0; g < 4; g++ {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
}

// TestSgemmActMatchesActivatedA checks SgemmAct's activation of the packed
// A against activating A in memory first: the same products bit for bit,
// with every kernel (and the test kernels: tiny blocks, the AVX-512
// geometry with a Go micro-kernel), over shapes with short edge panels,
// several k blocks, transposed A, a bias and beta 0 or 1.
func TestSgemmActMatchesActivatedA(t *testing.T) {
	r := rand.New(rand.NewSource(9))
	shapes := [][3]int{{1, 1, 1}, {7, 13, 5}, {13, 33, 300}, {100, 48, 96}, {257, 40, 530}, {600, 96, 384}}
	for _, kern := range testKernels() {
		for _, sh := range shapes {
			m, n, k := sh[0], sh[1], sh[2]
			t.Logf("%s m=%d n=%d k=%d", kern.name, m, n, k) // progress, for runs under an emulator
			for _, act := range []Activation{ActReLU, ActGELU} {
				for _, transA := range []bool{false, true} {
					for _, beta := range []float32{0, 1} {
						lda := k + 3
						if transA {
							lda = m + 3
						}
						rowsA := m
						if transA {
							rowsA = k
						}
						a := randSlice(r, rowsA*lda)
						for i := range a {
							a[i] *= 3 // GELU's curved part and both signs
						}
						b := randSlice(r, n*k)
						bias := randSlice(r, n)
						if m%2 == 0 {
							bias = nil
						}
						c0 := randSlice(r, m*n)
						activated := append([]float32(nil), a...)
						if act == ActReLU {
							ReLU(activated)
						} else {
							GELU(activated)
						}
						want := append([]float32(nil), c0...)
						sgemmRun(kern, transA, true, m, n, k, 1, activated, lda, b, k, beta, bias, ActIdentity, nil, want, n)
						got := append([]float32(nil), c0...)
						aCopy := append([]float32(nil), a...)
						sgemmRun(kern, transA, true, m, n, k, 1, a, lda, b, k, beta, bias, act, nil, got, n)
						for i := range a {
							if math.Float32bits(a[i]) != math.Float32bits(aCopy[i]) {
								t.Fatalf("%s: A changed at %d", kern.name, i)
							}
						}
						for i := range want {
							if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
								t.Fatalf("%s m=%d n=%d k=%d act=%d transA=%v beta=%g: c[%d] = %g, activated first %g",
									kern.name, m, n, k, act, transA, beta, i, got[i], want[i])
							}
						}
					}
				}
			}
		}
	}
	// The exported entry point, with the kernel in use.
	a := []float32{-1, 2, -3, 4}
	c := make([]float32, 1)
	SgemmAct(ActReLU, false, false, 1, 1, 4, a, 4, []float32{1, 1, 1, 1}, 1, 0, []float32{0.5}, c, 1)
	if c[0] != 6.5 {
		t.Fatalf("SgemmAct(ReLU) of %v = %g, want 6.5", a, c[0])
	}
}
