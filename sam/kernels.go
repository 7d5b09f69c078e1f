package sam

import (
	"math"
	"runtime"
	"sync"
	"sync/atomic"
)

// parallel runs f(i) for every i in [0, n) on GOMAXPROCS goroutines, each
// with its own worker index w (for scratch buffers).
func parallel(n int, f func(w, i int)) {
	workers := min(runtime.GOMAXPROCS(0), n)
	if workers <= 1 {
		for i := 0; i < n; i++ {
			f(0, i)
		}
		return
	}
	var next atomic.Int64
	var wg sync.WaitGroup
	wg.Add(workers)
	for w := 0; w < workers; w++ {
		go func(w int) {
			defer wg.Done()
			for {
				i := int(next.Add(1)) - 1
				if i >= n {
					return
				}
				f(w, i)
			}
		}(w)
	}
	wg.Wait()
}

// parallelRows splits rows into contiguous chunks, one task each.
func parallelRows(rows int, f func(r0, r1 int)) {
	chunks := min(rows, 4*runtime.GOMAXPROCS(0))
	if chunks <= 1 {
		f(0, rows)
		return
	}
	parallel(chunks, func(_, i int) { f(i*rows/chunks, (i+1)*rows/chunks) })
}

// expf is a float32 exp (Cephes' expf polynomial after reducing by the
// nearest multiple of ln 2, ≈1 ulp). math.Exp in float64 costs several times
// more and the softmax of one global-attention layer calls it 200 million
// times. The rounding uses the 1.5·2^23 trick, whose float bits also hold
// the integer for the exponent.
func expf(x float32) float32 {
	if x < -87.33 {
		return 0
	}
	if x > 88.72 {
		return float32(math.Inf(1))
	}
	const magic = 12582912 // 1.5·2^23
	t := x*1.44269504088896341 + magic
	n := int32(math.Float32bits(t) - 0x4B400000)
	fx := t - magic
	x -= fx * 0.693359375
	x -= fx * -2.12194440e-4
	z := x * x
	y := ((((1.9875691500e-4*x+1.3981999507e-3)*x+8.3334519073e-3)*x+4.1665795894e-2)*x+1.6666665459e-1)*x + 5.0000001201e-1
	y = y*z + x + 1
	return y * math.Float32frombits(uint32(n+127)<<23)
}

// softmaxRow normalises row in place with expf; an all -Inf row becomes zeros.
func softmaxRow(row []float32) {
	inv := softmaxUnnormalised(row)
	for i := range row {
		row[i] *= inv
	}
}

// softmaxUnnormalised replaces row by exp(row - max) and returns 1/sum, so a
// caller can scale the (much smaller) product with V instead of the row.
func softmaxUnnormalised(row []float32) float32 {
	m := float32(math.Inf(-1))
	for _, v := range row {
		m = max(m, v)
	}
	if math.IsInf(float64(m), -1) {
		clear(row)
		return 0
	}
	// expf inlined by hand (the compiler will not), clamped below so that
	// -Inf scores give ≈1e-38 instead of a branch.
	const magic = 12582912
	var sum float32
	for i, v := range row {
		x := max(v-m, -87.33)
		t := x*1.44269504088896341 + magic
		n := math.Float32bits(t) - 0x4B400000
		fx := t - magic
		x -= fx * 0.693359375
		x -= fx * -2.12194440e-4
		y := ((((1.9875691500e-4*x+1.3981999507e-3)*x+8.3334519073e-3)*x+4.1665795894e-2)*x+1.6666665459e-1)*x + 5.0000001201e-1
		y = y*(x*x) + x + 1
		e := y * math.Float32frombits((n+127)<<23)
		row[i] = e
		sum += e
	}
	return 1 / sum
}

// erff is a float32 erf: the rational approximation on [-4, 4] that Eigen
// and XLA use (a few ulp), cheap enough for GELU over every MLP activation.
func erff(x float32) float32 {
	x = min(max(x, -4), 4)
	x2 := x * x
	p := x2*-2.72614225801306e-10 + 2.77068142495902e-08
	p = x2*p + -2.10102402082508e-06
	p = x2*p + -5.69250639462346e-05
	p = x2*p + -7.34990630326855e-04
	p = x2*p + -2.95459980854025e-03
	p = x2*p + -1.60960333262415e-02
	p = x * p
	q := x2*-1.45660718464996e-05 + -2.13374055278905e-04
	q = x2*q + -1.68282697438203e-03
	q = x2*q + -7.37332916720468e-03
	q = x2*q + -1.42647390514189e-02
	return p / q
}

// gelu applies the exact (erf) GELU in place, in parallel.
func gelu(x []float32) {
	parallelRows(len(x)/1024+1, func(r0, r1 int) {
		lo, hi := r0*1024, min(r1*1024, len(x))
		for i := lo; i < hi; i++ {
			v := x[i]
			x[i] = 0.5 * v * (1 + erff(v*0.70710678118654752))
		}
	})
}

// activate applies a config's hidden_act in place.
func activate(act string, x []float32) {
	switch act {
	case "relu":
		for i, v := range x {
			if v < 0 {
				x[i] = 0
			}
		}
	default: // "gelu"
		gelu(x)
	}
}

func runtimeProcs() int { return runtime.GOMAXPROCS(0) }
