package enhancer

import (
	"github.com/gsam-go/gsam/nn"
	"math"
	"runtime"
	"sync"
	"sync/atomic"
)

// parallelRows runs fn over [0, n) in blocks of grain on GOMAXPROCS
// goroutines (the image-sized elementwise passes: softmax, masks, transposes).
func parallelRows(n, grain int, fn func(lo, hi int)) {
	if n <= 0 {
		return
	}
	blocks := (n + grain - 1) / grain
	workers := min(runtime.GOMAXPROCS(0), blocks)
	if workers <= 1 {
		fn(0, n)
		return
	}
	var next atomic.Int64
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				k := int(next.Add(1)) - 1
				if k >= blocks {
					return
				}
				fn(k*grain, min((k+1)*grain, n))
			}
		}()
	}
	wg.Wait()
}

// softmaxRows is a parallel softmax over rows of length n with a float32
// exp. A row that is entirely −Inf gives zeros (the reference would give
// NaN; such rows never reach it).
func softmaxRows(x []float32, n int) {
	rows := len(x) / n
	grain := max(1, 4096/max(n, 1))
	parallelRows(rows, grain, func(lo, hi int) {
		for r := lo; r < hi; r++ {
			row := x[r*n : (r+1)*n]
			m := float32(math.Inf(-1))
			for _, v := range row {
				m = max(m, v)
			}
			if math.IsInf(float64(m), -1) {
				clear(row)
				continue
			}
			var sum float32
			for i, v := range row {
				e := exp32(v - m)
				row[i] = e
				sum += e
			}
			inv := 1 / sum
			for i := range row {
				row[i] *= inv
			}
		}
	})
}

// exp32 is e^x for x ≤ 0 in float32 (Cephes expf: range reduction by ln 2
// and a degree-5 polynomial, ~1 ulp), a few times faster than math.Exp.
func exp32(x float32) float32 {
	if x < -87.33654 {
		return 0
	}
	const (
		log2e = 1.44269504088896341
		c1    = 0.693359375
		c2    = -2.12194440e-4
	)
	t := x*log2e + 0.5
	n := int32(t) // truncation; floor for the negative t of a softmax
	if float32(n) > t {
		n--
	}
	fx := float32(n)
	x -= fx * c1
	x -= fx * c2
	z := x * x
	y := ((((1.9875691500e-4*x+1.3981999507e-3)*x+8.3334519073e-3)*x+4.1665795894e-2)*x+1.6666665459e-1)*x + 5.0000001201e-1
	y = y*z + x + 1
	return y * math.Float32frombits(uint32(n+127)<<23)
}

// layerNorm applies ln in place to rows of x in parallel (image-sized inputs).
func layerNorm(ln *nn.LayerNorm, x []float32) {
	d := ln.Weight.Shape()[0]
	parallelRows(len(x)/d, 256, func(lo, hi int) {
		ln.ForwardInPlace(x[lo*d : hi*d])
	})
}

// scratch recycles the large temporary buffers of the image-sized passes:
// fresh pages cost a page fault each on first touch, which for a 17,821-token
// image is a visible share of a layer.
var scratch sync.Pool

// getScratch returns a buffer of n values (contents undefined).
func getScratch(n int) []float32 {
	if p, ok := scratch.Get().(*[]float32); ok && cap(*p) >= n {
		return (*p)[:n]
	}
	return make([]float32, n)
}

// putScratch hands a buffer from getScratch back.
func putScratch(b []float32) { scratch.Put(&b) }
