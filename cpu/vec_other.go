//go:build !amd64 || purego

package cpu

// vecAVX2 is false without the assembly: every kernel runs its Go reference.
const vecAVX2 = false

// Stubs for the amd64 assembly, never reached since vecAVX2 is false.

func expSumAVX2(dst, src *float32, n int, m float32) float32 { panic("cpu: no AVX2") }
func maxAVX2(x *float32, n int) float32                      { panic("cpu: no AVX2") }
func softmaxRowsAVX2(x *float32, rows, n int)                { panic("cpu: no AVX2") }
func softmaxColsAVX2(x, add *float32, rows, n8, ld int)      { panic("cpu: no AVX2") }
func divAddAVX2(x, div, add *float32, n, period int)         { panic("cpu: no AVX2") }
func scaleAVX2(x *float32, n int, s float32)                 { panic("cpu: no AVX2") }
func geluAVX2(x *float32, n int)                             { panic("cpu: no AVX2") }
func reluAVX2(x *float32, n int)                             { panic("cpu: no AVX2") }
func addAVX2(dst, src *float32, n int)                       { panic("cpu: no AVX2") }
func sumF64AVX2(x *float32, n int) float64                   { panic("cpu: no AVX2") }
func sqDevF64AVX2(x *float32, n int, mean float64) float64   { panic("cpu: no AVX2") }
func normApplyAVX2(dst, src, w, b *float32, n int, mean, inv float64) {
	panic("cpu: no AVX2")
}

// divVec has no vector form here.
func divVec(x []float32, d float32) int { return 0 }
