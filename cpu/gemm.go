package cpu

import "fmt"

// Sgemm computes C = alpha*op(A)*op(B) + beta*C for row-major matrices, where
// op(A) is m×k and op(B) is k×n. transA/transB say that A (resp. B) is stored
// transposed (k×m, n×k). lda, ldb, ldc are row strides. beta == 0 overwrites C
// (NaN in C does not leak through).
//
// It is the one matrix product under every Linear, convolution and attention
// score in this module.
func Sgemm(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	if m == 0 || n == 0 {
		return
	}
	checkGemmArgs(transA, transB, m, n, k, a, lda, b, ldb, c, ldc)
	sgemmImpl(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
}

// SgemmBias computes C = op(A)*op(B) + bias + beta*C, the n values of bias
// added to every row (a Linear layer; beta 1 adds it onto a residual). The
// bias goes through the micro-kernel as one more step of the sum, so C is
// not passed over first.
func SgemmBias(transA, transB bool, m, n, k int, a []float32, lda int, b []float32, ldb int, beta float32, bias, c []float32, ldc int) {
	if m == 0 || n == 0 {
		return
	}
	if len(bias) < n { // a nil bias is SgemmAct's "none", not a Linear's
		panic(fmt.Sprintf("cpu.SgemmBias: %d bias values for n=%d", len(bias), n))
	}
	SgemmAct(ActIdentity, transA, transB, m, n, k, a, lda, b, ldb, beta, bias, c, ldc)
}

// Activation is an elementwise function that SgemmAct applies to A.
type Activation uint8

const (
	ActIdentity Activation = iota
	ActReLU
	ActGELU // the exact (erf) GELU, as cpu.GELU
)

// apply runs the activation on x on the calling goroutine.
func (act Activation) apply(x []float32) {
	switch act {
	case ActReLU:
		reluSerial(x)
	case ActGELU:
		geluSerial(x)
	}
}

// SgemmAct computes C = act(op(A))*op(B) + bias + beta*C, bias (n values
// added to every row) may be nil. The activation is applied to the packed
// copies of A, so an MLP's second product reads the wide hidden layer
// once, as it packs it, instead of after a pass that activates it in
// memory. op(A) itself is left as it is; the result is bit for bit that of
// activating A first (TestSgemmActMatchesActivatedA).
func SgemmAct(act Activation, transA, transB bool, m, n, k int, a []float32, lda int, b []float32, ldb int, beta float32, bias, c []float32, ldc int) {
	if m == 0 || n == 0 {
		return
	}
	if bias != nil {
		if len(bias) < n {
			panic(fmt.Sprintf("cpu.SgemmAct: %d bias values for n=%d", len(bias), n))
		}
		bias = bias[:n]
	}
	if act > ActGELU {
		panic(fmt.Sprintf("cpu.SgemmAct: unknown activation %d", act))
	}
	checkGemmArgs(transA, transB, m, n, k, a, lda, b, ldb, c, ldc)
	sgemmRun(kernelInUse, transA, transB, m, n, k, 1, a, lda, b, ldb, beta, bias, act, nil, c, ldc)
}

// checkGemmArgs panics on shapes the slices cannot hold: the assembly kernels
// write C through raw pointers, so the bounds are checked once here.
func checkGemmArgs(transA, transB bool, m, n, k int, a []float32, lda int, b []float32, ldb int, c []float32, ldc int) {
	checkGemmAC(transA, m, n, k, a, lda, c, ldc)
	if k > 0 {
		checkOperand("cpu.Sgemm: B", transB, k, n, b, ldb)
	}
}

// checkOperand panics unless x holds a rows×cols operand (stored cols×rows
// when trans) with row stride ld.
func checkOperand(what string, trans bool, rows, cols int, x []float32, ld int) {
	if trans {
		rows, cols = cols, rows
	}
	if ld < cols || len(x) < (rows-1)*ld+cols {
		panic(fmt.Sprintf("%s too small: %dx%d ld=%d len=%d", what, rows, cols, ld, len(x)))
	}
}

// checkGemmAC is checkGemmArgs for the sizes, A and C.
func checkGemmAC(transA bool, m, n, k int, a []float32, lda int, c []float32, ldc int) {
	if m < 0 || n < 0 || k < 0 {
		panic(fmt.Sprintf("cpu.Sgemm: negative size m=%d n=%d k=%d", m, n, k))
	}
	if ldc < n || len(c) < (m-1)*ldc+n {
		panic(fmt.Sprintf("cpu.Sgemm: C too small: m=%d n=%d ldc=%d len=%d", m, n, ldc, len(c)))
	}
	if k > 0 {
		checkOperand("cpu.Sgemm: A", transA, m, k, a, lda)
	}
}

// sgemmImpl is the implementation in use, set at init to the packed GEMM with
// the best micro-kernel the CPU has.
var sgemmImpl = func(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	sgemmPacked(kernelInUse, transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
}

// GemmKernel names the SGEMM micro-kernel in use, for logs and benchmarks.
func GemmKernel() string { return kernelInUse.name }

// SgemmReference is the plain triple loop that every fast path is tested against.
func SgemmReference(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	for i := 0; i < m; i++ {
		for j := 0; j < n; j++ {
			var s float32
			for p := 0; p < k; p++ {
				var av, bv float32
				if transA {
					av = a[p*lda+i]
				} else {
					av = a[i*lda+p]
				}
				if transB {
					bv = b[j*ldb+p]
				} else {
					bv = b[p*ldb+j]
				}
				s += av * bv
			}
			if beta == 0 {
				c[i*ldc+j] = alpha * s
			} else {
				c[i*ldc+j] = alpha*s + beta*c[i*ldc+j]
			}
		}
	}
}
