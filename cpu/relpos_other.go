//go:build !amd64 || purego

package cpu

func relPosRowAVX2(row, hr, wr *float32, wh, ww int) { panic("cpu: no AVX2") }
