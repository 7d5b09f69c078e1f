package main

import (
	"math"
	"testing"
)

// FuzzParseFloats: the --box/--point parser never panics and never lets a
// non-finite number through.
func FuzzParseFloats(f *testing.F) {
	for _, s := range []string{"1,2,3,4", "nan,0,1,1", "inf,3", " 5 , 6 ", "1e400,1", ",,,", "1,2,3"} {
		f.Add(s, 4)
		f.Add(s, 2)
	}
	f.Fuzz(func(t *testing.T, s string, n int) {
		if n < 0 || n > 8 {
			return
		}
		v, err := parseFloats(s, n)
		if err != nil {
			return
		}
		if len(v) != n {
			t.Fatalf("%q: %d values, want %d", s, len(v), n)
		}
		for _, x := range v {
			if math.IsNaN(x) || math.IsInf(x, 0) {
				t.Fatalf("%q: non-finite %v accepted", s, x)
			}
		}
	})
}

func TestNonFiniteBoxIsUsageError(t *testing.T) {
	if code, _, _ := runCLI(t, nil, "segment", "--image", "x.png", "--box", "nan,0,1,1"); code != 2 {
		t.Fatalf("exit %d, want 2", code)
	}
}
