//go:build amd64 && !purego

package cpu

import (
	"testing"
	"unsafe"
)

func init() {
	if x86HasAVX2FMA {
		// The AVX-512 kernel's geometry (12×32) and B packer, with a plain Go
		// micro-kernel, so that the driver path it takes runs on AVX2 machines.
		extraTestKernels = append(extraTestKernels, &gemmKernel{
			name: "go 12x32 + avx2 packBT",
			mr:   12, nr: 32,
			kc: 192, mc: 144, nc: 4096,
			micro:  microAny(12, 32),
			packBT: packBTransAVX(32),
		})
	}
}

// microAny is a plain micro-kernel for any tile size.
func microAny(mr, nr int) microKernel {
	return func(kc int, a, b, c *float32, ldc int, alpha, beta float32) {
		as, bs := unsafe.Slice(a, kc*mr), unsafe.Slice(b, kc*nr)
		cs := unsafe.Slice(c, (mr-1)*ldc+nr)
		for r := 0; r < mr; r++ {
			for x := 0; x < nr; x++ {
				var s float32
				for p := 0; p < kc; p++ {
					s += as[p*mr+r] * bs[p*nr+x]
				}
				if beta == 0 {
					cs[r*ldc+x] = alpha * s
				} else {
					cs[r*ldc+x] = alpha*s + beta*cs[r*ldc+x]
				}
			}
		}
	}
}

func TestPackBTransAVX2(t *testing.T) {
	if !x86HasAVX2FMA {
		t.Skip("no AVX2")
	}
	for _, nr := range []int{8, 16, 32} {
		for _, kc := range []int{0, 7, 8, 9, 33} {
			ldb := kc + 3
			b := make([]float32, nr*ldb+1)
			for i := range b {
				b[i] = float32(i)
			}
			dst := make([]float32, kc*nr+nr)
			for i := range dst {
				dst[i] = -1
			}
			done := packBTransAVX(nr)(dst, b, 1, ldb, kc)
			if done != kc/8*8 {
				t.Fatalf("nr=%d kc=%d: packed %d rows", nr, kc, done)
			}
			for i, v := range dst {
				p, x := i/nr, i%nr
				want := float32(-1)
				if p < done {
					want = b[1+x*ldb+p]
				}
				if v != want {
					t.Fatalf("nr=%d kc=%d: dst[%d,%d] = %g, want %g", nr, kc, p, x, v, want)
				}
			}
		}
	}
}

func TestPackA6AVX2(t *testing.T) {
	if !x86HasAVX2FMA {
		t.Skip("no AVX2")
	}
	for _, kc := range []int{0, 7, 8, 9, 33} {
		lda := kc + 3
		a := make([]float32, 6*lda+1)
		for i := range a {
			a[i] = float32(i)
		}
		dst := make([]float32, kc*6+10)
		for i := range dst {
			dst[i] = -1
		}
		done := packA6(dst, a, 1, lda, kc)
		if done != kc/8*8 {
			t.Fatalf("kc=%d: packed %d columns", kc, done)
		}
		for i, v := range dst {
			p, r := i/6, i%6
			want := float32(-1)
			if p < done {
				want = a[1+r*lda+p]
			} else if done > 0 && i < done*6+2 {
				want = v // the documented 2-float overrun
			}
			if v != want {
				t.Fatalf("kc=%d: dst[%d] (p=%d r=%d) = %g, want %g", kc, i, p, r, v, want)
			}
		}
	}
}

func TestPackB16AVX2(t *testing.T) {
	if !x86HasAVX2FMA {
		t.Skip("no AVX2")
	}
	for _, kc := range []int{0, 1, 2, 3, 8, 33} {
		ldb := 16 + 5
		b := make([]float32, 1+max(kc, 1)*ldb)
		for i := range b {
			b[i] = float32(i)
		}
		dst := make([]float32, kc*16+16)
		for i := range dst {
			dst[i] = -1
		}
		done := packB16(dst, b, 1, ldb, kc)
		if done != kc {
			t.Fatalf("kc=%d: packed %d rows", kc, done)
		}
		for i, v := range dst {
			p, x := i/16, i%16
			want := float32(-1)
			if p < done {
				want = b[1+p*ldb+x]
			}
			if v != want {
				t.Fatalf("kc=%d: dst[%d,%d] = %g, want %g", kc, p, x, v, want)
			}
		}
	}
}

func TestPackAT6AVX2(t *testing.T) {
	if !x86HasAVX2FMA {
		t.Skip("no AVX2")
	}
	for _, kc := range []int{0, 1, 2, 3, 8, 33} {
		lda := 6 + 3
		// A ends right at the last packed element: no read past it.
		a := make([]float32, 1+max(kc-1, 0)*lda+6)
		for i := range a {
			a[i] = float32(i)
		}
		dst := make([]float32, kc*6+8)
		for i := range dst {
			dst[i] = -1
		}
		done := packAT6(dst, a, 1, lda, kc)
		if done != kc {
			t.Fatalf("kc=%d: packed %d columns", kc, done)
		}
		for i, v := range dst {
			p, r := i/6, i%6
			want := float32(-1)
			if p < done {
				want = a[1+p*lda+r]
			}
			if v != want {
				t.Fatalf("kc=%d: dst[%d] (p=%d r=%d) = %g, want %g", kc, i, p, r, v, want)
			}
		}
	}
}

func TestPackB16RowsAVX2(t *testing.T) {
	if !x86HasAVX2FMA {
		t.Skip("no AVX2")
	}
	for _, np := range []int{0, 1, 3} {
		for _, kc := range []int{0, 1, 2, 5} {
			ldb := np*16 + 7
			b := make([]float32, 1+max(kc-1, 0)*ldb+np*16)
			for i := range b {
				b[i] = float32(i)
			}
			dst := make([]float32, np*kc*16+16)
			for i := range dst {
				dst[i] = -1
			}
			packB16Rows(dst, b, 1, ldb, kc, np)
			for i, v := range dst {
				q, p, x := i/(16*max(kc, 1)), i%(16*max(kc, 1))/16, i%16
				want := float32(-1)
				if i < np*kc*16 {
					want = b[1+p*ldb+q*16+x]
				}
				if v != want {
					t.Fatalf("np=%d kc=%d: dst[%d] = %g, want %g", np, kc, i, v, want)
				}
			}
		}
	}
}
