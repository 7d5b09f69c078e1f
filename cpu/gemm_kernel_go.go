package cpu

import (
	"fmt"
	"unsafe"
)

// genericKernel is the portable micro-kernel: plain Go, 4×4 register tile.
// It is the only kernel under the purego tag and on non-amd64 machines, and
// the tests run it everywhere.
var genericKernel = &gemmKernel{
	name: "purego 4x4",
	mr:   4, nr: 4,
	kc: 256, mc: 128, nc: 2048,
	micro: sgemmMicroGo4x4,
}

func sgemmMicroGo4x4(kc int, a, b, c *float32, ldc int, alpha, beta float32) {
	as := unsafe.Slice(a, kc*4)
	bs := unsafe.Slice(b, kc*4)
	var c00, c01, c02, c03 float32
	var c10, c11, c12, c13 float32
	var c20, c21, c22, c23 float32
	var c30, c31, c32, c33 float32
	for p := 0; p < kc; p++ {
		ap := as[p*4 : p*4+4 : p*4+4]
		bp := bs[p*4 : p*4+4 : p*4+4]
		b0, b1, b2, b3 := bp[0], bp[1], bp[2], bp[3]
		a0 := ap[0]
		c00 += a0 * b0
		c01 += a0 * b1
		c02 += a0 * b2
		c03 += a0 * b3
		a1 := ap[1]
		c10 += a1 * b0
		c11 += a1 * b1
		c12 += a1 * b2
		c13 += a1 * b3
		a2 := ap[2]
		c20 += a2 * b0
		c21 += a2 * b1
		c22 += a2 * b2
		c23 += a2 * b3
		a3 := ap[3]
		c30 += a3 * b0
		c31 += a3 * b1
		c32 += a3 * b2
		c33 += a3 * b3
	}
	cs := unsafe.Slice(c, 3*ldc+4)
	storeRow4(cs[0:4:4], alpha, beta, c00, c01, c02, c03)
	storeRow4(cs[ldc:ldc+4:ldc+4], alpha, beta, c10, c11, c12, c13)
	storeRow4(cs[2*ldc:2*ldc+4:2*ldc+4], alpha, beta, c20, c21, c22, c23)
	storeRow4(cs[3*ldc:3*ldc+4:3*ldc+4], alpha, beta, c30, c31, c32, c33)
}

func storeRow4(cr []float32, alpha, beta float32, v0, v1, v2, v3 float32) {
	if beta == 0 {
		cr[0], cr[1], cr[2], cr[3] = alpha*v0, alpha*v1, alpha*v2, alpha*v3
		return
	}
	cr[0] = alpha*v0 + beta*cr[0]
	cr[1] = alpha*v1 + beta*cr[1]
	cr[2] = alpha*v2 + beta*cr[2]
	cr[3] = alpha*v3 + beta*cr[3]
}

// checkMicroKernel runs one micro-tile of kern on small integers (exact in
// float32) and compares with a plain loop, for kernels that could not be
// tested where they were written.
func checkMicroKernel(kern *gemmKernel) error {
	mr, nr := kern.mr, kern.nr
	for _, kc := range []int{1, 7} {
		ldc := nr + 3
		a := make([]float32, kc*mr)
		b := make([]float32, kc*nr)
		for i := range a {
			a[i] = float32(i%7 - 3)
		}
		for i := range b {
			b[i] = float32(i%5 - 2)
		}
		for _, beta := range []float32{0, 2} {
			c := make([]float32, mr*ldc)
			want := make([]float32, mr*ldc)
			for i := range c {
				c[i] = float32(i%3 + 1)
				want[i] = c[i]
			}
			kern.micro(kc, &a[0], &b[0], &c[0], ldc, 3, beta)
			for r := 0; r < mr; r++ {
				for x := 0; x < nr; x++ {
					var s float32
					for p := 0; p < kc; p++ {
						s += a[p*mr+r] * b[p*nr+x]
					}
					want[r*ldc+x] = 3*s + beta*want[r*ldc+x]
				}
			}
			for i := range c {
				if c[i] != want[i] {
					return fmt.Errorf("self-check kc=%d beta=%g: c[%d]=%g want %g", kc, beta, i, c[i], want[i])
				}
			}
		}
	}
	return nil
}
