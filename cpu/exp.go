package cpu

import (
	"fmt"
	"math"
)

// Exp32 is e^x in float32 with about 2 ulp error: Cody–Waite range
// reduction x = k·ln2 + r, a degree-6 polynomial for e^r, and the exponent
// built by hand. It is several times faster than float64 math.Exp, which
// dominates softmax over long rows.
func Exp32(x float32) float32 {
	switch {
	case x != x: // NaN
		return x
	case x > 88.72283:
		return float32(math.Inf(1))
	case x < -103.97208:
		return 0
	}
	const (
		log2e = 1.44269504088896341
		ln2hi = 0.693359375
		ln2lo = -2.12194440e-4
	)
	// Round x·log2(e) to the nearest integer with the 1.5·2²³ trick.
	const magic = 12582912
	k := (x*log2e + magic) - magic
	r := x - k*ln2hi - k*ln2lo
	// e^r on [-ln2/2, ln2/2], Cephes expf coefficients.
	p := float32(1.9875691500e-4)
	p = p*r + 1.3981999507e-3
	p = p*r + 8.3334519073e-3
	p = p*r + 4.1665795894e-2
	p = p*r + 1.6666665459e-1
	p = p*r + 5.0000001201e-1
	p = p*r*r + r + 1
	ki := int32(k)
	if ki < -126 { // subnormal result: scale in two steps
		return p * math.Float32frombits(uint32(ki+126+127)<<23) * math.Float32frombits(1<<23)
	}
	if ki > 127 {
		return p * 2 * math.Float32frombits(uint32(ki-1+127)<<23)
	}
	return p * math.Float32frombits(uint32(ki+127)<<23)
}

// ExpSlice sets dst[i] = Exp32(src[i]) for every element of src (dst may
// be src), eight lanes at a time with AVX2/FMA where available.
func ExpSlice(dst, src []float32) {
	dst = dst[:len(src)]
	n8 := 0
	if vecAVX2 {
		if n8 = len(src) &^ 7; n8 > 0 {
			expSumAVX2(&dst[0], &src[0], n8, 0)
		}
	}
	expSliceGo(dst[n8:], src[n8:])
}

// expSliceGo is the reference for ExpSlice.
func expSliceGo(dst, src []float32) {
	for i, v := range src {
		dst[i] = Exp32(v)
	}
}

// SoftmaxRows applies softmax in place to each row of length n: a max pass,
// an exp-and-sum pass and a scale pass, vectorised with AVX2/FMA where
// available. A row that is entirely -Inf (or NaN) becomes zeros rather than
// NaN; otherwise a NaN anywhere in a row makes the whole row NaN. It runs on
// the calling goroutine (callers parallelise over heads or row blocks).
func SoftmaxRows(x []float32, n int) {
	if n <= 0 {
		return
	}
	if rows := len(x) / n; vecAVX2 && rows > 0 {
		// All rows in one call: short rows (Swin's 49, the deformable
		// weights' 16) cost little more than their arithmetic.
		softmaxRowsAVX2(&x[0], rows, n)
		return
	}
	for r := 0; r+n <= len(x); r += n {
		row := x[r : r+n]
		if inv := expRow(row); inv != 1 {
			scaleRow(row, inv)
		}
	}
}

// SoftmaxCols applies softmax in place down each of the n columns of the
// rows×n block x (row stride ld ≥ n), over x[r][c] + add[r] (add nil: x
// alone; otherwise rows values). Attention of many queries over a few
// keys stored keys × queries (SAM's image → token attention: 7 tokens per
// image position) normalises this way with whole vectors. A column that
// is entirely −Inf becomes zeros and a NaN makes its column NaN, as in
// SoftmaxRows. It runs on the calling goroutine.
func SoftmaxCols(x []float32, rows, n, ld int, add []float32) {
	if rows <= 0 || n <= 0 {
		return
	}
	if ld < n || len(x) < (rows-1)*ld+n || (add != nil && len(add) < rows) {
		panic(fmt.Sprintf("cpu.SoftmaxCols: %d values, %d add, for %d rows of %d (stride %d)", len(x), len(add), rows, n, ld))
	}
	n8 := 0
	if vecAVX2 {
		if n8 = n &^ 7; n8 > 0 {
			var ap *float32
			if add != nil {
				ap = &add[0]
			}
			softmaxColsAVX2(&x[0], ap, rows, n8, ld)
		}
	}
	softmaxColsGo(x[n8:], rows, n-n8, ld, add)
}

// softmaxColsGo is the plain reference for SoftmaxCols.
func softmaxColsGo(x []float32, rows, n, ld int, add []float32) {
	at := func(r int) float32 {
		if add == nil {
			return 0
		}
		return add[r]
	}
	for c := 0; c < n; c++ {
		m := float32(math.Inf(-1))
		for r := 0; r < rows; r++ {
			if v := x[r*ld+c] + at(r); v > m {
				m = v
			}
		}
		if math.IsInf(float64(m), -1) {
			for r := 0; r < rows; r++ {
				x[r*ld+c] = 0
			}
			continue
		}
		var sum float32
		for r := 0; r < rows; r++ {
			e := Exp32(x[r*ld+c] + at(r) - m)
			x[r*ld+c] = e
			sum += e
		}
		inv := 1 / sum
		for r := 0; r < rows; r++ {
			x[r*ld+c] *= inv
		}
	}
}

// SoftmaxRowsUnscaled replaces each row of length n of x by e^(x-max(row))
// and stores 1/Σ in inv[row] (0 for a fully masked row, which becomes
// zeros), leaving the normalisation to the caller: attention can scale the
// much narrower product with V instead.
func SoftmaxRowsUnscaled(x []float32, n int, inv []float32) {
	if n <= 0 {
		return
	}
	for r := 0; r+n <= len(x); r += n {
		inv[r/n] = expRow(x[r : r+n])
	}
}

// expRow replaces row by e^(row - max) and returns 1/sum; a row with no
// element above -Inf becomes zeros and returns 1 (nothing left to scale).
func expRow(row []float32) float32 {
	n8 := 0
	if vecAVX2 {
		n8 = len(row) &^ 7
	}
	if n8 == 0 {
		return expRowGo(row)
	}
	m := maxAVX2(&row[0], n8)
	for _, v := range row[n8:] {
		if v > m {
			m = v
		}
	}
	if math.IsInf(float64(m), -1) {
		clear(row)
		return 1
	}
	sum := expSumAVX2(&row[0], &row[0], n8, m)
	for i := n8; i < len(row); i++ {
		e := Exp32(row[i] - m)
		row[i] = e
		sum += e
	}
	return 1 / sum
}

// DivScalar divides every value of x by d: the same quotients as a scalar
// loop (not a multiplication by 1/d), eight at a time where the CPU can.
func DivScalar(x []float32, d float32) {
	for i := divVec(x, d); i < len(x); i++ {
		x[i] /= d
	}
}

// DivAdd sets x[i] = x[i]/div[i%n] + add[i%n], n = len(div) = len(add),
// on whole periods of x (len(x) a multiple of n): offsets over a
// normaliser plus a reference point, as deformable attention's sampling
// locations. The quotients are true divisions, as a scalar loop's, eight
// at a time where the CPU can.
func DivAdd(x, div, add []float32) {
	n := len(div)
	if len(add) != n || n == 0 || len(x)%n != 0 {
		panic(fmt.Sprintf("cpu.DivAdd: %d values over periods of %d divisors and %d addends", len(x), n, len(add)))
	}
	if vecAVX2 && n%8 == 0 && len(x) > 0 {
		divAddAVX2(&x[0], &div[0], &add[0], len(x), n)
		return
	}
	for i := range x {
		x[i] = x[i]/div[i%n] + add[i%n]
	}
}

// scaleRow multiplies row by s.
func scaleRow(row []float32, s float32) {
	n8 := 0
	if vecAVX2 {
		if n8 = len(row) &^ 7; n8 > 0 {
			scaleAVX2(&row[0], n8, s)
		}
	}
	for i := n8; i < len(row); i++ {
		row[i] *= s
	}
}

// expRowGo is the reference for expRow.
func expRowGo(row []float32) float32 {
	m := float32(math.Inf(-1))
	for _, v := range row {
		if v > m {
			m = v
		}
	}
	if math.IsInf(float64(m), -1) {
		clear(row)
		return 1
	}
	var sum float32
	for i, v := range row {
		e := Exp32(v - m)
		row[i] = e
		sum += e
	}
	return 1 / sum
}

// softmaxRowsGo is the plain reference for SoftmaxRows.
func softmaxRowsGo(x []float32, n int) {
	for r := 0; r+n <= len(x); r += n {
		row := x[r : r+n]
		inv := expRowGo(row)
		for i := range row {
			row[i] *= inv
		}
	}
}
