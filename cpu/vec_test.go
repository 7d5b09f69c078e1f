package cpu

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// ulpDiff is the distance in float32 steps between a and b (same sign).
func ulpDiff(a, b float32) int64 {
	d := int64(math.Float32bits(a)) - int64(math.Float32bits(b))
	if d < 0 {
		d = -d
	}
	return d
}

// randomInputs mixes ordinary values with the special ones every kernel
// must get right, in lengths that exercise the 8-lane tails.
func randomInputs(r *rand.Rand, n int, scale float64) []float32 {
	x := make([]float32, n)
	for i := range x {
		x[i] = float32((r.Float64()*2 - 1) * scale)
	}
	return x
}

func TestExpSliceMatchesExp32(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	x := randomInputs(r, 4099, 110)
	inf, nan := float32(math.Inf(1)), float32(math.NaN())
	x = append(x, 0, -0, 1, -1, 88.7, 88.72283, 88.72284, 89, 100, -87.3, -87.4, -100, -103.9, -103.98, -104, -110, inf, -inf, nan,
		float32(math.Ln2)*64.5, -float32(math.Ln2)*126.5, -float32(math.Ln2)*149.5)
	for _, n := range []int{0, 1, 7, 8, 9, 16, 23, len(x)} {
		got := make([]float32, n)
		ExpSlice(got, x[len(x)-n:])
		for i, v := range x[len(x)-n:] {
			want := Exp32(v)
			g := got[i]
			switch {
			case want != want:
				if g == g {
					t.Fatalf("n=%d: exp(%g) = %g, want NaN", n, v, g)
				}
			case ulpDiff(g, want) > 2:
				t.Fatalf("n=%d: exp(%g) = %g, want %g (%d ulp)", n, v, g, want, ulpDiff(g, want))
			}
		}
	}
	// In place.
	y := append([]float32(nil), x[:64]...)
	ExpSlice(y, y)
	for i, v := range x[:64] {
		if ulpDiff(y[i], Exp32(v)) > 2 {
			t.Fatalf("in place: exp(%g) = %g", v, y[i])
		}
	}
}

func TestExpSliceAccuracy(t *testing.T) {
	x := make([]float32, 0, 1<<20)
	for v := float32(-103); v < 88.7; v += 0.000173 {
		x = append(x, v)
	}
	y := make([]float32, len(x))
	ExpSlice(y, x)
	worst := 0.0
	for i, v := range x {
		want := math.Exp(float64(v))
		if want < 0x1p-126 { // subnormal: within one step
			if math.Abs(float64(y[i])-want) > 0x1p-149 {
				t.Fatalf("exp(%g) = %g, want %g", v, y[i], want)
			}
			continue
		}
		worst = max(worst, math.Abs(float64(y[i])-want)/want)
	}
	t.Logf("ExpSlice max relative error %.3g (vec %v)", worst, vecAVX2)
	if worst > 2.5e-7 {
		t.Fatalf("ExpSlice max relative error %.3g", worst)
	}
}

func softmaxWant(row []float32) []float64 {
	m := math.Inf(-1)
	for _, v := range row {
		if float64(v) > m {
			m = float64(v)
		}
	}
	out := make([]float64, len(row))
	if math.IsInf(m, -1) {
		return out
	}
	var s float64
	for i, v := range row {
		out[i] = math.Exp(float64(v) - m)
		s += out[i]
	}
	for i := range out {
		out[i] /= s
	}
	return out
}

func TestSoftmaxRowsFastAndReference(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	ninf := float32(math.Inf(-1))
	for _, n := range []int{1, 3, 7, 8, 9, 15, 16, 17, 49, 64, 100, 900, 4096} {
		for _, masked := range []bool{false, true} {
			x := randomInputs(r, 5*n, 20)
			if masked {
				for i := range x {
					if r.IntN(3) == 0 {
						x[i] = ninf
					}
				}
				for i := n; i < 2*n; i++ { // one fully masked row
					x[i] = ninf
				}
			}
			// Three sentinels after the rows, outside the slice passed:
			// the masked tail stores must stay inside it.
			buf := append(append([]float32(nil), x...), 7, 8, 9)
			fast := buf[:5*n]
			ref := append([]float32(nil), x...)
			SoftmaxRows(fast, n)
			softmaxRowsGo(ref, n)
			if buf[5*n] != 7 || buf[5*n+1] != 8 || buf[5*n+2] != 9 {
				t.Fatalf("n=%d: the values after the last row changed: %v", n, buf[5*n:])
			}
			for row := 0; row < 5; row++ {
				want := softmaxWant(x[row*n : (row+1)*n])
				for i, w := range want {
					for name, got := range map[string]float32{"fast": fast[row*n+i], "ref": ref[row*n+i]} {
						if !(math.Abs(float64(got)-w) <= 1e-7+2e-6*w) { // NaN fails too
							t.Fatalf("n=%d masked=%v %s row %d [%d] = %g, want %g", n, masked, name, row, i, got, w)
						}
					}
				}
			}
			inv := make([]float32, 5)
			un := append([]float32(nil), x...)
			SoftmaxRowsUnscaled(un, n, inv)
			for i := range un {
				// A few ulps apart: the unscaled rows go through expRow,
				// whose tail and sum order differ from the block kernel's.
				if d := math.Abs(float64(un[i]*inv[i/n] - fast[i])); d > 1e-7+3e-7*math.Abs(float64(fast[i])) {
					t.Fatalf("n=%d unscaled[%d]·inv = %g, want %g", n, i, un[i]*inv[i/n], fast[i])
				}
			}
		}
	}
}

// TestSoftmaxColsFastAndReference checks SoftmaxCols (vector blocks of 8
// columns and the Go tail) and its plain reference against float64
// softmax down each column, with and without the per-row add, −Inf
// entries and a fully masked column, on a strided block whose padding
// columns must stay as they are.
func TestSoftmaxColsFastAndReference(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	ninf := float32(math.Inf(-1))
	for _, rows := range []int{1, 2, 7, 12} {
		for _, n := range []int{1, 7, 8, 9, 17, 64, 100} {
			for _, withAdd := range []bool{false, true} {
				ld := n + 3
				x := randomInputs(r, rows*ld, 20)
				for i := range x {
					if r.IntN(4) == 0 {
						x[i] = ninf
					}
				}
				for row := 0; row < rows; row++ { // column n/2 fully masked
					x[row*ld+n/2] = ninf
				}
				var add []float32
				if withAdd {
					add = randomInputs(r, rows, 5)
				}
				fast := append([]float32(nil), x...)
				ref := append([]float32(nil), x...)
				SoftmaxCols(fast, rows, n, ld, add)
				softmaxColsGo(ref, rows, n, ld, add)
				for c := 0; c < ld; c++ {
					col := make([]float32, rows)
					for row := range col {
						col[row] = x[row*ld+c]
						if add != nil {
							col[row] += add[row]
						}
					}
					want := softmaxWant(col)
					for row, w := range want {
						i := row*ld + c
						if c >= n { // padding: untouched
							if math.Float32bits(fast[i]) != math.Float32bits(x[i]) || math.Float32bits(ref[i]) != math.Float32bits(x[i]) {
								t.Fatalf("rows=%d n=%d: padding [%d][%d] changed", rows, n, row, c)
							}
							continue
						}
						for name, got := range map[string]float32{"fast": fast[i], "ref": ref[i]} {
							if !(math.Abs(float64(got)-w) <= 1e-7+2e-6*w) { // NaN fails too
								t.Fatalf("rows=%d n=%d add=%v %s [%d][%d] = %g, want %g", rows, n, withAdd, name, row, c, got, w)
							}
						}
					}
				}
			}
		}
	}
	// A NaN makes its column NaN and leaves the others alone.
	x := []float32{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18}
	x[9] = float32(math.NaN())
	SoftmaxCols(x, 2, 9, 9, nil)
	for c := 0; c < 9; c++ {
		nan := math.IsNaN(float64(x[c])) && math.IsNaN(float64(x[9+c]))
		if nan != (c == 0) {
			t.Fatalf("column %d: %v, %v", c, x[c], x[9+c])
		}
	}
}

func TestSoftmaxRowsSpecial(t *testing.T) {
	inf, nan := float32(math.Inf(1)), float32(math.NaN())
	for _, n := range []int{3, 8, 11, 24} {
		mk := func(fill float32, at map[int]float32) []float32 {
			x := make([]float32, n)
			for i := range x {
				x[i] = fill
			}
			for i, v := range at {
				x[i] = v
			}
			return x
		}
		cases := []struct {
			name string
			x    []float32
			want string // "zeros", "nan", "ok"
		}{
			{"all -Inf", mk(-inf, nil), "zeros"},
			{"all NaN", mk(nan, nil), "zeros"},
			{"NaN and -Inf", mk(-inf, map[int]float32{1: nan}), "zeros"},
			{"one NaN", mk(1, map[int]float32{n - 1: nan}), "nan"},
			{"one +Inf", mk(1, map[int]float32{0: inf}), "nan"},
			{"one finite", mk(-inf, map[int]float32{n / 2: 3}), "ok"},
		}
		for _, c := range cases {
			for name, f := range map[string]func([]float32, int){"fast": SoftmaxRows, "ref": softmaxRowsGo} {
				x := append([]float32(nil), c.x...)
				f(x, n)
				for i, v := range x {
					bad := false
					switch c.want {
					case "zeros":
						bad = v != 0
					case "nan":
						bad = v == v
					case "ok":
						bad = (i == n/2) != (v == 1) || (i != n/2 && v != 0)
					}
					if bad {
						t.Fatalf("n=%d %s %s: %v", n, c.name, name, x)
					}
				}
			}
		}
	}
}

func TestGELUAgainstMathErf(t *testing.T) {
	xs := make([]float32, 0, 1200011)
	for i := -600000; i <= 600000; i++ {
		xs = append(xs, float32(i)/50000) // [-12, 12]
	}
	xs = append(xs, 0, -0, 1e-30, -1e-30, 30, -30, 1e5, -1e5, 3.9, -3.9)
	fast := append([]float32(nil), xs...)
	ref := append([]float32(nil), xs...)
	GELU(fast)
	geluGo(ref)
	for name, g := range map[string][]float32{"fast": fast, "ref": ref} {
		worst, at := 0.0, float32(0)
		for i, x := range xs {
			want := 0.5 * float64(x) * (1 + math.Erf(float64(x)/math.Sqrt2))
			if e := math.Abs(float64(g[i])-want) / max(1, math.Abs(float64(x))); e > worst {
				worst, at = e, x
			}
		}
		t.Logf("%s GELU max error %.3g·max(1,|x|) at x=%g (vec %v)", name, worst, at, vecAVX2)
		if worst > 2e-7 {
			t.Errorf("%s GELU max error %.3g·max(1,|x|) at x=%g", name, worst, at)
		}
	}
	for i := range fast {
		if d := math.Abs(float64(fast[i] - ref[i])); d > 1e-7*max(1, math.Abs(float64(xs[i]))) {
			t.Fatalf("GELU(%g): fast %g, reference %g", xs[i], fast[i], ref[i])
		}
	}
	// Special values.
	s := []float32{float32(math.NaN()), float32(math.Inf(1)), 0, 0, 0, 0, 0, 0, float32(math.NaN())}
	GELU(s)
	if s[0] == s[0] || s[8] == s[8] || !math.IsInf(float64(s[1]), 1) {
		t.Fatalf("GELU specials: %v", s)
	}
}

func TestErf32(t *testing.T) {
	worst := 0.0
	for i := -1000000; i <= 1000000; i++ {
		x := float32(i) / 100000
		worst = max(worst, math.Abs(float64(Erf32(x))-math.Erf(float64(x))))
	}
	t.Logf("Erf32 max abs error %.3g on [-10, 10]", worst)
	if worst > 3.5e-7 {
		t.Fatalf("Erf32 max abs error %.3g", worst)
	}
}

func TestLayerNormFastAndReference(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	for _, d := range []int{1, 5, 8, 13, 96, 256, 768, 1027} {
		rows := 3
		if d == 768 {
			rows = 64 // crosses the parallel threshold
		}
		x := randomInputs(r, rows*d, 3)
		for i := range x[:d] { // a row with a large offset
			x[i] += 100
		}
		w, b := randomInputs(r, d, 1), randomInputs(r, d, 1)
		fast := append([]float32(nil), x...)
		LayerNormRows(fast, w, b, d, 1e-5)
		for row := 0; row < rows; row++ {
			ref := make([]float32, d)
			layerNormGo(ref, x[row*d:(row+1)*d], w, b, 1e-5)
			out := make([]float32, d)
			LayerNorm(out, x[row*d:(row+1)*d], w, b, 1e-5)
			for i := range ref {
				g := fast[row*d+i]
				if math.Abs(float64(g-ref[i])) > 2e-6*(1+math.Abs(float64(ref[i]))) || out[i] != g {
					t.Fatalf("d=%d row %d [%d]: fast %g, out-of-place %g, reference %g", d, row, i, g, out[i], ref[i])
				}
			}
		}
	}
}

// TestSum checks Sum against the scalar sum bit for bit, short and long
// (over the cores), with tails, into a third slice and in place on either
// operand.
func TestSum(t *testing.T) {
	r := rand.New(rand.NewPCG(11, 12))
	for _, n := range []int{0, 1, 7, 9, 1<<14 + 3, 1<<17 + 5} {
		a, b := randomInputs(r, n, 10), randomInputs(r, n, 10)
		want := make([]float32, n)
		for i := range want {
			want[i] = a[i] + b[i]
		}
		for _, into := range []string{"new", "a", "b"} {
			x, y := append([]float32(nil), a...), append([]float32(nil), b...)
			dst := make([]float32, n)
			switch into {
			case "a":
				dst = x
			case "b":
				dst = y
			}
			Sum(dst, x, y)
			for i := range want {
				if math.Float32bits(dst[i]) != math.Float32bits(want[i]) {
					t.Fatalf("n=%d into %s: [%d] = %g, want %g", n, into, i, dst[i], want[i])
				}
			}
		}
	}
}

func TestAddAndBias(t *testing.T) {
	a := []float32{1, 2, 3, 4, 5, 6}
	AddBias(a, []float32{10, 20, 30})
	Add(a, []float32{1, 1, 1, 1, 1, 1})
	if fmt.Sprint(a) != "[12 23 34 15 26 37]" {
		t.Fatal(a)
	}
	big := make([]float32, 1<<17)
	one := make([]float32, len(big))
	for i := range one {
		one[i] = float32(i)
	}
	Add(big, one)
	for i, v := range big {
		if v != float32(i) {
			t.Fatalf("Add[%d] = %g", i, v)
		}
	}
}

func TestParallelFor(t *testing.T) {
	for _, n := range []int{0, 1, 2, 3, 7, 100, 1001} {
		seen := make([]int32, n)
		ParallelFor(n, func(lo, hi int) {
			for i := lo; i < hi; i++ {
				seen[i]++
			}
		})
		for i, s := range seen {
			if s != 1 {
				t.Fatalf("n=%d: index %d visited %d times", n, i, s)
			}
		}
	}
}

func benchRow(n int) []float32 {
	x := make([]float32, n)
	for i := range x {
		x[i] = float32(i%37)*-0.3 + 2
	}
	return x
}

func BenchmarkExpSlice(b *testing.B) {
	for _, impl := range []struct {
		name string
		f    func(dst, src []float32)
	}{{"fast", ExpSlice}, {"ref", expSliceGo}} {
		b.Run(impl.name, func(b *testing.B) {
			x := benchRow(4096)
			y := make([]float32, len(x))
			b.SetBytes(4 * int64(len(x)))
			for b.Loop() {
				impl.f(y, x)
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(x)), "ns/elem")
		})
	}
}

func BenchmarkSoftmaxRows4096(b *testing.B) {
	for _, impl := range []struct {
		name string
		f    func([]float32, int)
	}{{"fast", SoftmaxRows}, {"ref", softmaxRowsGo}} {
		b.Run(impl.name, func(b *testing.B) {
			src := benchRow(64 * 4096)
			x := make([]float32, len(src))
			b.SetBytes(4 * int64(len(x)))
			for b.Loop() {
				copy(x, src)
				impl.f(x, 4096)
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(x)), "ns/elem")
		})
	}
}

func BenchmarkGELU(b *testing.B) {
	for _, impl := range []struct {
		name string
		f    func([]float32)
	}{{"fast", geluSerial}, {"ref", geluGo}} {
		b.Run(impl.name, func(b *testing.B) {
			src := benchRow(16384)
			x := make([]float32, len(src))
			b.SetBytes(4 * int64(len(x)))
			for b.Loop() {
				copy(x, src) // GELU applied again and again would reach subnormals
				impl.f(x)
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(x)), "ns/elem")
		})
	}
}

func BenchmarkLayerNorm768(b *testing.B) {
	for _, impl := range []struct {
		name string
		f    func(dst, src, w, bias []float32, eps float32)
	}{{"fast", LayerNorm}, {"ref", layerNormGo}} {
		b.Run(impl.name, func(b *testing.B) {
			x, w, bias := benchRow(768), benchRow(768), benchRow(768)
			y := make([]float32, 768)
			b.SetBytes(4 * 768)
			for b.Loop() {
				impl.f(y, x, w, bias, 1e-6)
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*768), "ns/elem")
		})
	}
}

// Small element-wise calls (the SAM decoder makes one per pixel) must not
// allocate: their closures escape to the worker goroutines.
func TestSmallElementwiseCallsDoNotAllocate(t *testing.T) {
	x := make([]float32, 64)
	y := make([]float32, 64)
	if n := testing.AllocsPerRun(100, func() { GELU(x) }); n != 0 {
		t.Errorf("GELU of 64 values allocates %v times", n)
	}
	if n := testing.AllocsPerRun(100, func() { ReLU(x) }); n != 0 {
		t.Errorf("ReLU of 64 values allocates %v times", n)
	}
	if n := testing.AllocsPerRun(100, func() { Add(x, y) }); n != 0 {
		t.Errorf("Add of 64 values allocates %v times", n)
	}
}

// TestReLUAndAddFastAndReference compares the AVX2 kernels with their Go
// references on every length up to 40 (lanes and tails), then on a
// parallel-sized slice; NaN stays NaN and negative zero is not negative.
func TestReLUAndAddFastAndReference(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	for n := 0; n <= 40; n++ {
		x := make([]float32, n)
		y := make([]float32, n)
		for i := range x {
			x[i], y[i] = float32(r.NormFloat64()), float32(r.NormFloat64())
		}
		if n > 3 {
			x[1], x[2], x[3] = float32(math.NaN()), float32(math.Copysign(0, -1)), float32(math.Inf(-1))
		}
		want := append([]float32(nil), x...)
		reluGo(want)
		got := append([]float32(nil), x...)
		ReLU(got)
		for i := range got {
			if !(got[i] == want[i] || (got[i] != got[i] && want[i] != want[i])) || got[i] < 0 {
				t.Fatalf("n=%d ReLU[%d] of %g = %g, want %g", n, i, x[i], got[i], want[i])
			}
		}
		wantAdd := append([]float32(nil), x...)
		addGo(wantAdd, y)
		gotAdd := append([]float32(nil), x...)
		Add(gotAdd, y)
		for i := range gotAdd {
			if gotAdd[i] != wantAdd[i] && !(gotAdd[i] != gotAdd[i] && wantAdd[i] != wantAdd[i]) {
				t.Fatalf("n=%d Add[%d] = %g, want %g", n, i, gotAdd[i], wantAdd[i])
			}
		}
	}
	big := make([]float32, 1<<17+5)
	for i := range big {
		big[i] = float32(i%7) - 3
	}
	ReLU(big)
	for i, v := range big {
		if want := max(float32(i%7)-3, 0); v != want {
			t.Fatalf("ReLU[%d] = %g, want %g", i, v, want)
		}
	}
}

func TestAddBiasLarge(t *testing.T) {
	const d = 256
	x := make([]float32, 5000*d)
	bias := make([]float32, d)
	for i := range bias {
		bias[i] = float32(i) * 0.5
	}
	for i := range x {
		x[i] = float32(i % 7)
	}
	AddBias(x, bias)
	for i, v := range x {
		if want := float32(i%7) + float32(i%d)*0.5; v != want {
			t.Fatalf("AddBias[%d] = %g, want %g", i, v, want)
		}
	}
}

// TestDivScalar checks the vector division against the scalar one, bit for
// bit, on lengths around the vector width and awkward values.
func TestDivScalar(t *testing.T) {
	r := rand.New(rand.NewPCG(9, 9))
	for _, n := range []int{0, 1, 7, 8, 9, 15, 16, 17, 100, 1000} {
		for _, d := range []float32{5.656854, 3, -0.1, 1e-30} {
			x := make([]float32, n)
			for i := range x {
				x[i] = (r.Float32()*2 - 1) * 100
			}
			if n > 3 {
				x[0], x[1], x[2] = float32(math.Inf(1)), float32(math.NaN()), 0
			}
			want := append([]float32(nil), x...)
			for i := range want {
				want[i] /= d
			}
			DivScalar(x, d)
			for i := range x {
				if math.Float32bits(x[i]) != math.Float32bits(want[i]) && !(x[i] != x[i] && want[i] != want[i]) {
					t.Fatalf("n=%d d=%g: x[%d] = %g, want %g", n, d, i, x[i], want[i])
				}
			}
		}
	}
}

// TestDivAdd checks DivAdd against the scalar x/div + add bit for bit, over
// periods that take the vector path (8, 32) and one that does not (5),
// with zero, negative and tiny divisors, infinities and NaN.
func TestDivAdd(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	specials := []float32{0, float32(math.Copysign(0, -1)), 1e-30, -3, float32(math.Inf(1)), float32(math.NaN())}
	for _, n := range []int{8, 32, 5} {
		div, add := make([]float32, n), make([]float32, n)
		for i := range div {
			div[i] = r.Float32()*200 - 100
			add[i] = r.Float32()
		}
		div[0], add[n-1] = 0, float32(math.Inf(-1))
		x := make([]float32, 7*n)
		for i := range x {
			x[i] = r.Float32()*10 - 5
			if r.IntN(10) == 0 {
				x[i] = specials[r.IntN(len(specials))]
			}
		}
		want := append([]float32(nil), x...)
		for i := range want {
			want[i] = want[i]/div[i%n] + add[i%n]
		}
		DivAdd(x, div, add)
		for i := range x {
			if math.Float32bits(x[i]) != math.Float32bits(want[i]) && !(x[i] != x[i] && want[i] != want[i]) {
				t.Fatalf("period %d: x[%d] = %g, want %g", n, i, x[i], want[i])
			}
		}
	}
	defer func() {
		if recover() == nil {
			t.Fatal("no panic for a length that is not a whole number of periods")
		}
	}()
	DivAdd(make([]float32, 9), make([]float32, 8), make([]float32, 8))
}

// BenchmarkSoftmaxCols7x4096 normalises 7 rows of 4096 columns with a
// per-row add: one head of SAM's image → token attention for a box prompt.
func BenchmarkSoftmaxCols7x4096(b *testing.B) {
	for _, impl := range []struct {
		name string
		f    func([]float32, int, int, int, []float32)
	}{{"fast", SoftmaxCols}, {"ref", softmaxColsGo}} {
		b.Run(impl.name, func(b *testing.B) {
			src := benchRow(7 * 4096)
			add := benchRow(7)
			x := make([]float32, len(src))
			b.SetBytes(4 * int64(len(x)))
			for b.Loop() {
				copy(x, src)
				impl.f(x, 7, 4096, 4096, add)
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(x)), "ns/elem")
		})
	}
}
