package backbone

import (
	"math"
	"runtime"
	"sync"
)

// parallelFor splits [0, n) into contiguous chunks, one per available core,
// and runs fn on each; small n stays on the calling goroutine.
func parallelFor(n int, fn func(lo, hi int)) {
	workers := runtime.GOMAXPROCS(0)
	if workers > n {
		workers = n
	}
	if workers <= 1 {
		if n > 0 {
			fn(0, n)
		}
		return
	}
	var wg sync.WaitGroup
	q, r := n/workers, n%workers
	lo := 0
	for w := 0; w < workers; w++ {
		hi := lo + q
		if w < r {
			hi++
		}
		wg.Add(1)
		go func(lo, hi int) {
			defer wg.Done()
			fn(lo, hi)
		}(lo, hi)
		lo = hi
	}
	wg.Wait()
}

// layerNormRow writes LayerNorm(src) into dst (they may alias). One pass
// gathers the sum and the sum of squares in float64, ample for float32 rows.
func layerNormRow(dst, src, w, b []float32, eps float32) {
	var s, ss float64
	for _, v := range src {
		f := float64(v)
		s += f
		ss += f * f
	}
	n := float64(len(src))
	mean := s / n
	variance := max(ss/n-mean*mean, 0)
	inv := float32(1 / math.Sqrt(variance+float64(eps)))
	m := float32(mean)
	for i, v := range src {
		dst[i] = (v-m)*inv*w[i] + b[i]
	}
}

// layerNormRows normalises every row of length d of src into dst in parallel.
func layerNormRows(dst, src, w, b []float32, eps float32) {
	d := len(w)
	rows := len(src) / d
	parallelFor(rows, func(lo, hi int) {
		for r := lo; r < hi; r++ {
			layerNormRow(dst[r*d:(r+1)*d], src[r*d:(r+1)*d], w, b, eps)
		}
	})
}

// geluSlice is exact-form GELU, 0.5·x·(1 + erf(x/√2)), with erf as the
// rational approximation Eigen and PyTorch's vectorised kernels use (odd
// degree-13 over even degree-8 polynomial on [-4, 4], ±1 outside), written
// inline because a call per element dominated the loop.
func geluSlice(x []float32) {
	for i, v := range x {
		z := v * (1 / math.Sqrt2)
		if z > 4 {
			z = 4
		} else if z < -4 {
			z = -4
		}
		z2 := z * z
		p := z2*-2.72614225801306e-10 + 2.77068142495902e-08
		p = z2*p + -2.10102402082508e-06
		p = z2*p + -5.69250639462346e-05
		p = z2*p + -7.34990630326855e-04
		p = z2*p + -2.95459980854025e-03
		p = z2*p + -1.60960333262415e-02
		q := z2*-1.45660718464996e-05 + -2.13374055278905e-04
		q = z2*q + -1.68282697438203e-03
		q = z2*q + -7.37332916720468e-03
		q = z2*q + -1.42647390514189e-02
		x[i] = 0.5 * v * (1 + z*p/q)
	}
}

// addParallel does a += b.
func addParallel(a, b []float32) {
	const chunk = 1 << 14
	parallelFor((len(a)+chunk-1)/chunk, func(lo, hi int) {
		s, e := lo*chunk, min(hi*chunk, len(a))
		bb := b[s:e]
		for i := range a[s:e] {
			a[s+i] += bb[i]
		}
	})
}
