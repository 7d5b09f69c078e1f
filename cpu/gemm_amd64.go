//go:build amd64 && !purego

package cpu

//go:noescape
func sgemmMicroAVX2x6x16(kc int, a, b, c *float32, ldc int, alpha, beta float32)

//go:noescape
func packBTransAVX2(dst, src *float32, ldb, kc8, nr int)

//go:noescape
func packA6AVX2(dst, src *float32, lda, kc8 int)

//go:noescape
func packB16AVX2(dst, src *float32, ldb, kc int)

//go:noescape
func packB16RowsAVX2(dst, src *float32, ldb, kc, np int)

//go:noescape
func packAT6AVX2(dst, src *float32, lda, kc int)

//go:noescape
func sgemmMicroAVX512x12x32(kc int, a, b, c *float32, ldc int, alpha, beta float32)

// Blocking for Zen 3 (32 KiB L1d, 512 KiB L2, shared L3): the 256×16 B
// micro-panel (16 KiB) stays in L1, the 144×256 A block (144 KiB) in L2.
var avx2Kernel = &gemmKernel{
	name: "avx2-fma 6x16",
	mr:   6, nr: 16,
	kc: 256, mc: 144, nc: 4080,
	micro:  sgemmMicroAVX2x6x16,
	packBT: packBTransAVX(16),
	packA:  packA6,
	packB:  packB16,
	packBN: packB16Rows,
	packAT: packAT6,
}

// packB16 copies a full 16-column panel of a row-major B, all kc rows.
func packB16(dst, b []float32, off, ldb, kc int) int {
	if kc == 0 {
		return 0
	}
	_ = dst[kc*16-1]
	_ = b[off+(kc-1)*ldb+15]
	packB16AVX2(&dst[0], &b[off], ldb, kc)
	return kc
}

// packB16Rows packs np adjacent full 16-column panels of a row-major B, all
// kc rows, reading each row of B once across the panels.
func packB16Rows(dst, b []float32, off, ldb, kc, np int) {
	if kc == 0 || np == 0 {
		return
	}
	_ = dst[np*kc*16-1]
	_ = b[off+(kc-1)*ldb+np*16-1]
	packB16RowsAVX2(&dst[0], &b[off], ldb, kc, np)
}

// packAT6 packs a full 6-row panel of a transposed A, all kc columns.
func packAT6(dst, a []float32, off, lda, kc int) int {
	if kc == 0 {
		return 0
	}
	_ = dst[kc*6-1]
	_ = a[off+(kc-1)*lda+5]
	packAT6AVX2(&dst[0], &a[off], lda, kc)
	return kc
}

// packA6 packs the first kc/8*8 columns of a full 6-row panel with AVX2;
// dst must have 2 floats of room past them.
func packA6(dst, a []float32, off, lda, kc int) int {
	kc8 := kc / 8
	if kc8 == 0 {
		return 0
	}
	_ = dst[kc8*8*6+1]
	_ = a[off+5*lda+kc8*8-1]
	packA6AVX2(&dst[0], &a[off], lda, kc8)
	return kc8 * 8
}

// packBTransAVX packs a full panel (nr a multiple of 8) of a transposed B
// with AVX2 8×8 transposes; the last kc%8 rows are left to the caller.
func packBTransAVX(nr int) func(dst, b []float32, off, ldb, kc int) int {
	return func(dst, b []float32, off, ldb, kc int) int {
		kc8 := kc / 8
		if kc8 == 0 {
			return 0
		}
		_ = dst[kc8*8*nr-1]
		_ = b[off+(nr-1)*ldb+kc8*8-1]
		packBTransAVX2(&dst[0], &b[off], ldb, kc8, nr)
		return kc8 * 8
	}
}

// The AVX-512 kernel could not be run where it was written (no AVX-512 on
// that machine); init checks it against the generic kernel before use.
var avx512Kernel = &gemmKernel{
	name: "avx512 12x32",
	mr:   12, nr: 32,
	kc: 192, mc: 144, nc: 4096,
	micro:  sgemmMicroAVX512x12x32,
	packBT: packBTransAVX(32),
}

func init() {
	kernelInUse = genericKernel
	if kernelOverride == "purego" {
		return
	}
	if x86HasAVX2FMA {
		kernelInUse = avx2Kernel
	}
	if x86HasAVX512F && kernelOverride != "avx2" {
		if err := checkMicroKernel(avx512Kernel); err == nil {
			kernelInUse = avx512Kernel
		} else {
			avx2Kernel.name += " (avx512 kernel disabled: " + err.Error() + ")"
		}
	}
}

// gemmKernels lists every kernel this CPU can run, for the tests.
func gemmKernels() []*gemmKernel {
	ks := []*gemmKernel{genericKernel}
	if x86HasAVX2FMA {
		ks = append(ks, avx2Kernel)
	}
	if x86HasAVX512F {
		ks = append(ks, avx512Kernel)
	}
	return ks
}
