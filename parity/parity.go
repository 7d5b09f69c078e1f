// Package parity compares tensors computed here with reference tensors
// under the documented fp32 tolerances: |got − want| ≤ Abs + Rel·|want|
// element-wise, exact for integer and mask tensors. The tests and
// `gsam verify` share it, so both apply one rule.
package parity

import (
	"fmt"
	"math"
)

// Tolerance is an element-wise bound |got − want| ≤ Abs + Rel·|want|.
type Tolerance struct{ Abs, Rel float64 }

// Default is the fixtures' tolerance for float activations and outputs.
var Default = Tolerance{Abs: 1e-4, Rel: 1e-3}

// Result is one compared tensor.
type Result struct {
	Name      string
	N         int     // elements compared
	Bad       int     // elements outside the tolerance
	MaxAbs    float64 // largest |got − want|
	MaxRel    float64 // largest |got − want| / |want| (where want ≠ 0)
	WorstAt   int     // index of the worst element
	Got, Want float64 // values at WorstAt
	Err       string  // shape mismatch or other reason it could not compare
}

// OK says whether every element is within tolerance.
func (r Result) OK() bool { return r.Err == "" && r.Bad == 0 }

// String is the line `gsam verify` prints.
func (r Result) String() string {
	status := "PASS"
	if !r.OK() {
		status = "FAIL"
	}
	s := fmt.Sprintf("%s %s maxabs=%.3g maxrel=%.3g", status, r.Name, r.MaxAbs, r.MaxRel)
	if r.Err != "" {
		s += " (" + r.Err + ")"
	} else if r.Bad > 0 {
		s += fmt.Sprintf(" (%d of %d outside tolerance; worst at %d: got %g want %g)", r.Bad, r.N, r.WorstAt, r.Got, r.Want)
	}
	return s
}

// Compare checks float tensors of equal shape under tol.
func Compare(name string, got []float32, gotShape []int, want []float32, wantShape []int, tol Tolerance) Result {
	r := Result{Name: name, N: len(want)}
	if !sameShape(gotShape, wantShape) || len(got) != len(want) {
		r.Err = fmt.Sprintf("shape %v, want %v", gotShape, wantShape)
		return r
	}
	worst := -1.0
	for i := range want {
		g, w := float64(got[i]), float64(want[i])
		d := math.Abs(g - w)
		if math.IsNaN(g) != math.IsNaN(w) {
			d = math.Inf(1)
		} else if math.IsNaN(g) || (math.IsInf(g, 0) && g == w) {
			d = 0
		}
		if d > r.MaxAbs {
			r.MaxAbs = d
		}
		if w != 0 {
			if rel := d / math.Abs(w); rel > r.MaxRel {
				r.MaxRel = rel
			}
		}
		excess := d - (tol.Abs + tol.Rel*math.Abs(w))
		if excess > 0 {
			r.Bad++
		}
		if excess > worst {
			worst = excess
			r.WorstAt, r.Got, r.Want = i, g, w
		}
	}
	return r
}

// CompareExact checks integer or mask tensors for equality.
func CompareExact(name string, got []int64, gotShape []int, want []int64, wantShape []int) Result {
	r := Result{Name: name, N: len(want)}
	if !sameShape(gotShape, wantShape) || len(got) != len(want) {
		r.Err = fmt.Sprintf("shape %v, want %v", gotShape, wantShape)
		return r
	}
	for i := range want {
		d := math.Abs(float64(got[i] - want[i]))
		if d > r.MaxAbs {
			r.MaxAbs = d
		}
		if d != 0 {
			if r.Bad == 0 {
				r.WorstAt, r.Got, r.Want = i, float64(got[i]), float64(want[i])
			}
			r.Bad++
		}
	}
	return r
}

// CompareFraction checks that at least frac of the elements are equal
// (thresholded masks, where a logit within rounding of 0 may flip).
func CompareFraction(name string, got []int64, gotShape []int, want []int64, wantShape []int, frac float64) Result {
	r := CompareExact(name, got, gotShape, want, wantShape)
	if r.Err == "" && r.N > 0 {
		r.MaxRel = float64(r.Bad) / float64(r.N) // report the mismatch fraction
		if float64(r.N-r.Bad) >= frac*float64(r.N) {
			r.Bad = 0
		}
	}
	return r
}

func sameShape(a, b []int) bool {
	na, nb := 1, 1
	for _, d := range a {
		na *= d
	}
	for _, d := range b {
		nb *= d
	}
	if len(a) == len(b) {
		for i := range a {
			if a[i] != b[i] {
				return false
			}
		}
		return true
	}
	// Allow a squeezed leading batch of 1.
	return na == nb && (len(a)+1 == len(b) && len(b) > 0 && b[0] == 1 || len(b)+1 == len(a) && len(a) > 0 && a[0] == 1)
}
