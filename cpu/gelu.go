package cpu

import "math"

// Erf32 is erf in float32: the rational approximation on [-4, 4] that
// Eigen and XLA use for float32 (odd degree-13 over even degree-8, ±1
// outside, where erf rounds to ±1), evaluated with fused multiply-adds. Its
// error against math.Erf is below 3.5e-7 absolute (largest near |x| ≈ 3.9,
// where erf is within 1e-7 of ±1), 1e-7 for |x| < 2.
func Erf32(x float32) float32 {
	z := min(max(x, -4), 4) // NaN stays NaN
	z2 := z * z
	p := fma32(z2, -2.72614225801306e-10, 2.77068142495902e-08)
	p = fma32(z2, p, -2.10102402082508e-06)
	p = fma32(z2, p, -5.69250639462346e-05)
	p = fma32(z2, p, -7.34990630326855e-04)
	p = fma32(z2, p, -2.95459980854025e-03)
	p = fma32(z2, p, -1.60960333262415e-02)
	p *= z
	q := fma32(z2, -1.45660718464996e-05, -2.13374055278905e-04)
	q = fma32(z2, q, -1.68282697438203e-03)
	q = fma32(z2, q, -7.37332916720468e-03)
	q = fma32(z2, q, -1.42647390514189e-02)
	return p / q
}

// fma32 is x·y+z rounded once (math.FMA is exact, so the float32 rounding
// of its float64 result differs from a float32 FMA only in double-rounding
// ties), so the Go path computes what the FMA assembly does.
func fma32(x, y, z float32) float32 {
	return float32(math.FMA(float64(x), float64(y), float64(z)))
}

// GELU applies the exact (erf) GELU, 0.5·x·(1 + erf(x/√2)), in place, eight
// lanes at a time with AVX2/FMA where available, and over several cores
// for long slices. The absolute error against float64 math.Erf is below
// 2e-7·max(1, |x|).
func GELU(x []float32) { inPlaceElems(x, geluSerial) }

func geluSerial(x []float32) {
	n8 := 0
	if vecAVX2 {
		if n8 = len(x) &^ 7; n8 > 0 {
			geluAVX2(&x[0], n8)
		}
	}
	geluGo(x[n8:])
}

// geluGo is the reference for GELU.
func geluGo(x []float32) {
	for i, v := range x {
		h := 0.5 * v
		x[i] = fma32(h, Erf32(v*0.70710678118654752), h)
	}
}
