package cuda

import (
	"fmt"
	"runtime"
)

// ensureBLAS creates the cuBLAS handle on first use (device goroutine).
func (d *Device) ensureBLAS() error {
	if d.blas != 0 {
		return nil
	}
	if libs.cublasErr != nil {
		return errLib("cuBLAS", libs.cublasErr)
	}
	var h uintptr
	if err := blasCheck("cublasCreate_v2", cublasCreate(&h)); err != nil {
		return err
	}
	if err := blasCheck("cublasSetStream_v2", cublasSetStream(h, d.stream)); err != nil {
		cublasDestroy(h)
		return err
	}
	mode := int32(cublasDefaultMath)
	if d.tf32 {
		mode = cublasTF32TensorOpMath
	}
	if err := blasCheck("cublasSetMathMode", cublasSetMathMode(h, mode)); err != nil {
		cublasDestroy(h)
		return err
	}
	d.blas = h
	return nil
}

func blasCheck(call string, s int32) error {
	if s == cublasStatusSuccess {
		return nil
	}
	return &Error{Call: call, Code: s, Name: cublasStatusName(s)}
}

func cublasStatusName(s int32) string {
	switch s {
	case 1:
		return "CUBLAS_STATUS_NOT_INITIALIZED"
	case 3:
		return "CUBLAS_STATUS_ALLOC_FAILED"
	case 7:
		return "CUBLAS_STATUS_INVALID_VALUE"
	case 8:
		return "CUBLAS_STATUS_ARCH_MISMATCH"
	case 11:
		return "CUBLAS_STATUS_MAPPING_ERROR"
	case 13:
		return "CUBLAS_STATUS_EXECUTION_FAILED"
	case 14:
		return "CUBLAS_STATUS_INTERNAL_ERROR"
	case 15:
		return "CUBLAS_STATUS_NOT_SUPPORTED"
	}
	return ""
}

// SetTF32 switches cuBLAS between plain fp32 (off, the default) and TF32
// tensor-core math (on) for later Sgemm calls.
func (d *Device) SetTF32(on bool) error {
	return d.do(func() error {
		d.tf32 = on
		if d.blas == 0 {
			return nil
		}
		mode := int32(cublasDefaultMath)
		if on {
			mode = cublasTF32TensorOpMath
		}
		return blasCheck("cublasSetMathMode", cublasSetMathMode(d.blas, mode))
	})
}

// gemmShape checks a row-major GEMM's leading dimensions and buffer sizes
// (op(A) m×k, op(B) k×n, C m×n) the way cpu.Sgemm documents them.
func gemmShape(transA, transB bool, m, n, k, lda, ldb, ldc int, a, b, c *Buffer, d *Device) error {
	if m < 0 || n < 0 || k < 0 {
		return fmt.Errorf("cuda: sgemm with negative size m=%d n=%d k=%d", m, n, k)
	}
	ar, ac := m, k
	if transA {
		ar, ac = k, m
	}
	br, bc := k, n
	if transB {
		br, bc = n, k
	}
	if lda < max(1, ac) || ldb < max(1, bc) || ldc < max(1, n) {
		return fmt.Errorf("cuda: sgemm leading dimensions lda=%d ldb=%d ldc=%d too small for A %d×%d, B %d×%d, C %d×%d", lda, ldb, ldc, ar, ac, br, bc, m, n)
	}
	need := func(rows, cols, ld int) int {
		if rows == 0 || cols == 0 {
			return 0
		}
		return (rows-1)*ld + cols
	}
	if err := d.checkBuffer("A", a, need(ar, ac, lda)); err != nil {
		return err
	}
	if err := d.checkBuffer("B", b, need(br, bc, ldb)); err != nil {
		return err
	}
	return d.checkBuffer("C", c, need(m, n, ldc))
}

func op(t bool) int32 {
	if t {
		return cublasOpT
	}
	return cublasOpN
}

// Sgemm computes C = alpha·op(A)·op(B) + beta·C on device buffers with the
// row-major semantics of cpu.Sgemm (op(A) is m×k, op(B) k×n, C m×n, leading
// dimensions in elements). cuBLAS is column-major, so it is asked for
// Cᵀ = op(B)ᵀ·op(A)ᵀ, which has the same memory as row-major C.
// The call is queued on the device's stream.
func (d *Device) Sgemm(transA, transB bool, m, n, k int, alpha float32, a *Buffer, lda int, b *Buffer, ldb int, beta float32, c *Buffer, ldc int) error {
	if err := gemmShape(transA, transB, m, n, k, lda, ldb, ldc, a, b, c, d); err != nil {
		return err
	}
	if m == 0 || n == 0 {
		return nil
	}
	return d.do(func() error {
		if err := d.ensureBLAS(); err != nil {
			return err
		}
		al, be := alpha, beta
		s := cublasSgemm(d.blas, op(transB), op(transA), int32(n), int32(m), int32(k), &al, b.ptr, int32(ldb), a.ptr, int32(lda), &be, c.ptr, int32(ldc))
		runtime.KeepAlive(&al)
		runtime.KeepAlive(&be)
		return blasCheck("cublasSgemm_v2", s)
	})
}

// SgemmStridedBatched is batch independent Sgemm calls, the i-th on
// A + i·strideA, B + i·strideB, C + i·strideC (strides in elements), e.g.
// the per-head products of attention.
func (d *Device) SgemmStridedBatched(transA, transB bool, m, n, k int, alpha float32, a *Buffer, lda, strideA int, b *Buffer, ldb, strideB int, beta float32, c *Buffer, ldc, strideC int, batch int) error {
	if batch < 0 || strideA < 0 || strideB < 0 || strideC < 0 {
		return fmt.Errorf("cuda: sgemm batch %d with strides %d, %d, %d", batch, strideA, strideB, strideC)
	}
	if batch == 0 || m == 0 || n == 0 {
		return nil
	}
	// Check the last batch member's extent through views.
	last := batch - 1
	av, err := tail(a, last*strideA)
	if err != nil {
		return err
	}
	bv, err := tail(b, last*strideB)
	if err != nil {
		return err
	}
	cv, err := tail(c, last*strideC)
	if err != nil {
		return err
	}
	if err := gemmShape(transA, transB, m, n, k, lda, ldb, ldc, av, bv, cv, d); err != nil {
		return err
	}
	return d.do(func() error {
		if err := d.ensureBLAS(); err != nil {
			return err
		}
		al, be := alpha, beta
		s := cublasSgemmSB(d.blas, op(transB), op(transA), int32(n), int32(m), int32(k), &al,
			b.ptr, int32(ldb), int64(strideB), a.ptr, int32(lda), int64(strideA), &be, c.ptr, int32(ldc), int64(strideC), int32(batch))
		runtime.KeepAlive(&al)
		runtime.KeepAlive(&be)
		return blasCheck("cublasSgemmStridedBatched", s)
	})
}

// tail is the view of b from off to its end (for extent checks).
func tail(b *Buffer, off int) (*Buffer, error) {
	if b == nil {
		return nil, fmt.Errorf("cuda: sgemm buffer is nil")
	}
	if off > b.n {
		return nil, fmt.Errorf("cuda: sgemm batch stride runs past a buffer of %d elements", b.n)
	}
	v := *b
	v.ptr += uint64(off) * 4
	v.n -= off
	return &v, nil
}
