package cpu

import "math"

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

// SoftmaxRows applies softmax in place to each row of length n, computing
// max, exponentials and the sum in one pass over the row after the max. A
// row that is entirely -Inf becomes zeros rather than NaN.
func SoftmaxRows(x []float32, n int) {
	for r := 0; r+n <= len(x); r += n {
		row := x[r : r+n]
		m := float32(math.Inf(-1))
		for _, v := range row {
			if v > m {
				m = v
			}
		}
		if math.IsInf(float64(m), -1) {
			clear(row)
			continue
		}
		var sum float32
		for i, v := range row {
			e := Exp32(v - m)
			row[i] = e
			sum += e
		}
		inv := 1 / sum
		for i := range row {
			row[i] *= inv
		}
	}
}
