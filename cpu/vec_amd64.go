//go:build amd64 && !purego

package cpu

// vecAVX2 says whether the elementwise and row kernels (exp, softmax, GELU,
// LayerNorm) use their AVX2/FMA assembly; GSAM_GEMM=purego turns it off
// with the GEMM kernels.
var vecAVX2 = x86HasAVX2FMA && kernelOverride != "purego"

// The assembly routines (vec_amd64.s) each take n a multiple of 8; the Go
// wrappers handle the remaining elements with the reference code.

//go:noescape
func expSumAVX2(dst, src *float32, n int, m float32) float32

//go:noescape
func maxAVX2(x *float32, n int) float32

//go:noescape
func softmaxRowsAVX2(x *float32, rows, n int)

//go:noescape
func softmaxColsAVX2(x, add *float32, rows, n8, ld int)

//go:noescape
func divAddAVX2(x, div, add *float32, n, period int)

//go:noescape
func scaleAVX2(x *float32, n int, s float32)

//go:noescape
func divAVX2(x *float32, n int, d float32)

// divVec divides the first len(x)/8*8 values of x by d and says how many.
func divVec(x []float32, d float32) int {
	n8 := len(x) &^ 7
	if !vecAVX2 || n8 == 0 {
		return 0
	}
	divAVX2(&x[0], n8, d)
	return n8
}

//go:noescape
func geluAVX2(x *float32, n int)

//go:noescape
func sumF64AVX2(x *float32, n int) float64

//go:noescape
func sqDevF64AVX2(x *float32, n int, mean float64) float64

//go:noescape
func normApplyAVX2(dst, src, w, b *float32, n int, mean, inv float64)

//go:noescape
func reluAVX2(x *float32, n int)

//go:noescape
func addAVX2(dst, src *float32, n int)
