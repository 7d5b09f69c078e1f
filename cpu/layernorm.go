package cpu

import "math"

// LayerNormRows normalises each row of length d of x in place:
// (x - mean)/sqrt(var + eps)·weight + bias, with mean and variance
// accumulated in float64 (two passes). Long inputs run over several cores.
func LayerNormRows(x, weight, bias []float32, d int, eps float32) {
	if d <= 0 {
		return
	}
	rows := len(x) / d
	if rows*d < 1<<15 {
		for r := 0; r < rows; r++ {
			LayerNorm(x[r*d:(r+1)*d], x[r*d:(r+1)*d], weight, bias, eps)
		}
		return
	}
	ParallelFor(rows, func(lo, hi int) {
		for r := lo; r < hi; r++ {
			LayerNorm(x[r*d:(r+1)*d], x[r*d:(r+1)*d], weight, bias, eps)
		}
	})
}

// LayerNorm writes the layer norm of the row src into dst (which may be
// src); weight and bias have len(src) elements. It runs on the calling
// goroutine, vectorised with AVX2/FMA where available.
func LayerNorm(dst, src, weight, bias []float32, eps float32) {
	n := len(src)
	if n == 0 {
		return
	}
	dst, weight, bias = dst[:n], weight[:n], bias[:n]
	n8 := 0
	if vecAVX2 {
		n8 = n &^ 7
	}
	if n8 == 0 {
		layerNormGo(dst, src, weight, bias, eps)
		return
	}
	var s float64
	s = sumF64AVX2(&src[0], n8)
	for _, v := range src[n8:] {
		s += float64(v)
	}
	mean := s / float64(n)
	ss := sqDevF64AVX2(&src[0], n8, mean)
	for _, v := range src[n8:] {
		d := float64(v) - mean
		ss += d * d
	}
	inv := 1 / math.Sqrt(ss/float64(n)+float64(eps))
	normApplyAVX2(&dst[0], &src[0], &weight[0], &bias[0], n8, mean, inv)
	for i := n8; i < n; i++ {
		dst[i] = float32((float64(src[i])-mean)*inv)*weight[i] + bias[i]
	}
}

// layerNormGo is the reference for LayerNorm.
func layerNormGo(dst, src, weight, bias []float32, eps float32) {
	var mean float64
	for _, v := range src {
		mean += float64(v)
	}
	mean /= float64(len(src))
	var variance float64
	for _, v := range src {
		d := float64(v) - mean
		variance += d * d
	}
	variance /= float64(len(src))
	inv := 1 / math.Sqrt(variance+float64(eps))
	for i, v := range src {
		dst[i] = float32((float64(v)-mean)*inv)*weight[i] + bias[i]
	}
}

// AddBias adds bias to every row of length len(bias) of x, vectorised,
// over several cores for long inputs.
func AddBias(x, bias []float32) {
	d := len(bias)
	if d == 0 {
		return
	}
	rows := len(x) / d
	if !elemsParallel(rows * d) {
		for r := 0; r < rows; r++ {
			addSerial(x[r*d:(r+1)*d], bias)
		}
		return
	}
	ParallelFor(rows, func(lo, hi int) {
		for r := lo; r < hi; r++ {
			addSerial(x[r*d:(r+1)*d], bias)
		}
	})
}

// Add sets dst[i] += src[i] for every element of src, eight lanes at a
// time with AVX2 where available, over several cores for long slices.
func Add(dst, src []float32) {
	dst = dst[:len(src)]
	if !elemsParallel(len(src)) {
		addSerial(dst, src) // without building the closure: it would be allocated
		return
	}
	parallelElems(len(src), func(lo, hi int) { addSerial(dst[lo:hi], src[lo:hi]) })
}

// Sum sets dst[i] = a[i] + b[i] for every element of a (dst is a, b, or
// apart from both): Add's vector adds, a 16K-value piece at a time (copied
// and added while in cache), over several cores for long slices.
func Sum(dst, a, b []float32) {
	dst, b = dst[:len(a)], b[:len(a)]
	if !elemsParallel(len(a)) {
		sumSerial(dst, a, b)
		return
	}
	parallelElems(len(a), func(lo, hi int) { sumSerial(dst[lo:hi], a[lo:hi], b[lo:hi]) })
}

func sumSerial(dst, a, b []float32) {
	const piece = 1 << 14
	for lo := 0; lo < len(a); lo += piece {
		hi := min(lo+piece, len(a))
		d := dst[lo:hi]
		switch {
		case &d[0] == &b[lo]:
			addSerial(d, a[lo:hi]) // b + a: the same sums
		case &d[0] == &a[lo]:
			addSerial(d, b[lo:hi])
		default:
			copy(d, a[lo:hi])
			addSerial(d, b[lo:hi])
		}
	}
}

func addSerial(dst, src []float32) {
	n8 := 0
	if vecAVX2 {
		if n8 = len(src) &^ 7; n8 > 0 {
			addAVX2(&dst[0], &src[0], n8)
		}
	}
	addGo(dst[n8:], src[n8:])
}

// addGo is the reference for Add.
func addGo(dst, src []float32) {
	for i, v := range src {
		dst[i] += v
	}
}
