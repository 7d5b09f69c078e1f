package cpu

import (
	"math"
	"math/rand"
	"testing"
	"time"
)

type deformCase struct {
	B, H, D, Q, P int
	shapes        [][2]int
}

func (c deformCase) layout() (S int, starts []int) {
	for _, s := range c.shapes {
		starts = append(starts, S)
		S += s[0] * s[1]
	}
	return S, starts
}

// deformInputs makes random values, locations that reach past every border
// (to exercise zero padding) and softmax-like weights.
func deformInputs(r *rand.Rand, c deformCase) (value, locs, weights []float32) {
	S, _ := c.layout()
	L := len(c.shapes)
	value = make([]float32, c.B*S*c.H*c.D)
	for i := range value {
		value[i] = r.Float32()*2 - 1
	}
	locs = make([]float32, c.B*c.Q*c.H*L*c.P*2)
	for i := range locs {
		locs[i] = r.Float32()*1.4 - 0.2
	}
	weights = make([]float32, c.B*c.Q*c.H*L*c.P)
	for i := range weights {
		weights[i] = r.Float32() / float32(L*c.P)
	}
	return value, locs, weights
}

func TestMSDeformAttnMatchesReference(t *testing.T) {
	r := rand.New(rand.NewSource(1))
	cases := []deformCase{
		{B: 1, H: 1, D: 1, Q: 1, P: 1, shapes: [][2]int{{1, 1}}},
		{B: 2, H: 4, D: 16, Q: 37, P: 4, shapes: [][2]int{{12, 16}, {6, 8}, {3, 4}, {2, 2}}},
		{B: 1, H: 8, D: 32, Q: 300, P: 4, shapes: [][2]int{{20, 33}, {10, 17}, {5, 9}, {3, 5}}},
		{B: 3, H: 2, D: 5, Q: 9, P: 3, shapes: [][2]int{{7, 1}, {1, 7}}},
	}
	for _, c := range cases {
		S, starts := c.layout()
		L := len(c.shapes)
		value, locs, weights := deformInputs(r, c)
		got := make([]float32, c.B*c.Q*c.H*c.D)
		for i := range got {
			got[i] = float32(math.NaN()) // must be overwritten
		}
		want := make([]float32, len(got))
		MSDeformAttn(got, value, c.shapes, starts, locs, weights, c.B, S, c.H, c.D, c.Q, L, c.P)
		MSDeformAttnReference(want, value, c.shapes, starts, locs, weights, c.B, S, c.H, c.D, c.Q, L, c.P)
		nonzero := 0
		for i := range want {
			if d := math.Abs(float64(got[i] - want[i])); !(d <= 1e-5+1e-5*math.Abs(float64(want[i]))) {
				t.Fatalf("%+v: out[%d] = %g, reference %g", c, i, got[i], want[i])
			}
			if want[i] != 0 {
				nonzero++
			}
		}
		if nonzero == 0 {
			t.Fatalf("%+v: reference output is all zero", c)
		}
	}
}

// TestMSDeformAttnBilinear checks the sampling rule itself on a tiny map:
// align_corners=False puts pixel centres at (i+0.5)/W, and samples outside
// the map fade to zero.
func TestMSDeformAttnBilinear(t *testing.T) {
	// One level 2×3, one head, D=1: value = 1..6 row-major.
	value := []float32{1, 2, 3, 4, 5, 6}
	shapes := [][2]int{{2, 3}}
	cases := []struct {
		x, y, want float32
	}{
		{0.5 / 3, 0.5 / 2, 1},         // centre of pixel (0,0)
		{2.5 / 3, 1.5 / 2, 6},         // centre of pixel (2,1)
		{1.0 / 3, 0.5 / 2, 1.5},       // between (0,0) and (1,0)
		{0.5, 0.5, 3.5},               // middle of column 1: mean of 2 and 5
		{0, 0.5 / 2, 0.5},             // half a pixel left of the border: half of value 1
		{1.2, 0.5, 0},                 // far outside
		{0.5 / 3, -0.25 / 2, 0.25},    // a quarter pixel above (0,0)... weight 0.25
		{2.5 / 3, 2.25 / 2, 6 * 0.25}, // below the last row
	}
	for _, c := range cases {
		out := []float32{0}
		MSDeformAttn(out, value, shapes, []int{0}, []float32{c.x, c.y}, []float32{1}, 1, 6, 1, 1, 1, 1, 1)
		if math.Abs(float64(out[0]-c.want)) > 1e-5 {
			t.Errorf("sample at (%g, %g) = %g, want %g", c.x, c.y, out[0], c.want)
		}
	}
}

func TestMSDeformAttnPanicsOnShortSlices(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Fatal("no panic for a value slice that is too short")
		}
	}()
	MSDeformAttn(make([]float32, 4), make([]float32, 3), [][2]int{{2, 2}}, []int{0}, make([]float32, 8), make([]float32, 4), 1, 4, 1, 1, 1, 1, 4)
}

// Full-size Grounding DINO tiny shapes at 800×1333: d_model 256, 8 heads,
// 4 levels, 4 points; the encoder's queries are all 17,821 tokens, the
// decoder's 900.
var benchShapes = [][2]int{{100, 167}, {50, 84}, {25, 42}, {13, 21}}

func benchDeform(b *testing.B, Q int) {
	c := deformCase{B: 1, H: 8, D: 32, Q: Q, P: 4, shapes: benchShapes}
	S, starts := c.layout()
	L := len(c.shapes)
	r := rand.New(rand.NewSource(2))
	value, locs, weights := deformInputs(r, c)
	// Real sampling locations cluster around each query's reference point
	// (its own pixel in the encoder, a box centre in the decoder), a few
	// pixels away: that locality decides the cache behaviour.
	for q := 0; q < Q; q++ {
		rx, ry := r.Float32(), r.Float32()
		if Q == S {
			l := 0
			for l+1 < L && q >= starts[l+1] {
				l++
			}
			hw := c.shapes[l]
			k := q - starts[l]
			rx, ry = (float32(k%hw[1])+0.5)/float32(hw[1]), (float32(k/hw[1])+0.5)/float32(hw[0])
		}
		for h := 0; h < c.H; h++ {
			for l := 0; l < L; l++ {
				for p := 0; p < c.P; p++ {
					i := ((q*c.H+h)*L+l)*c.P + p
					locs[2*i] = rx + (r.Float32()*8-4)/float32(c.shapes[l][1])
					locs[2*i+1] = ry + (r.Float32()*8-4)/float32(c.shapes[l][0])
				}
			}
		}
	}
	out := make([]float32, c.B*Q*c.H*c.D)
	b.ResetTimer()
	start := time.Now()
	for i := 0; i < b.N; i++ {
		MSDeformAttn(out, value, c.shapes, starts, locs, weights, c.B, S, c.H, c.D, Q, L, c.P)
	}
	sec := time.Since(start).Seconds() / float64(b.N)
	samples := float64(c.B * Q * c.H * L * c.P)
	// 4 corners × D multiply-adds per sample.
	b.ReportMetric(sec*1e3, "ms/op")
	b.ReportMetric(samples*4*float64(c.D)*2/sec/1e9, "GFLOP/s")
	// Bytes touched: 4 corner rows of D floats per sample, plus locations and weights.
	b.ReportMetric(samples*(4*float64(c.D)*4+12)/sec/1e9, "GB/s")
}

func BenchmarkMSDeformAttnTiny(b *testing.B) {
	b.Run("encoder_Q17821", func(b *testing.B) { benchDeform(b, 17821) })
	b.Run("decoder_Q900", func(b *testing.B) { benchDeform(b, 900) })
}

// TestDeformGather32MatchesAxpy checks the gathered D = 32 accumulation
// against the per-sample one on samples that cross every border, reading
// the second of two heads (pixel rows 64 floats apart).
func TestDeformGather32MatchesAxpy(t *testing.T) {
	r := rand.New(rand.NewSource(7))
	c := deformCase{B: 1, H: 2, D: 32, Q: 500, P: 4, shapes: [][2]int{{9, 13}, {5, 7}, {3, 4}, {1, 2}}}
	S, starts := c.layout()
	L := len(c.shapes)
	value, locs, weights := deformInputs(r, c)
	lanes := newDeformLanes(c.shapes, starts, 64, L, c.P)
	offs, ws := make([]int, 32*len(lanes)), make([]float32, 32*len(lanes))
	fast, plain := make([]float32, 32), make([]float32, 32)
	for q := 0; q < c.Q; q++ {
		lq, wq := locs[q*2*L*c.P:(q+1)*2*L*c.P], weights[q*L*c.P:(q+1)*L*c.P]
		for i := range fast {
			fast[i] = float32(math.NaN()) // must be overwritten
		}
		v := value[32 : 32+(S-1)*64+32] // head 1 of 2: rows 64 floats apart
		deformCorners(offs, ws, 64, lanes, lq, wq)
		deformGather32(fast, v, offs, ws)
		deformAxpy(plain, v, offs, ws)
		for i := range fast {
			if !(math.Abs(float64(fast[i]-plain[i])) <= 1e-6) {
				t.Fatalf("query %d: out[%d] = %g, per-sample path %g", q, i, fast[i], plain[i])
			}
		}
	}
}

// TestDeformCornersAVX2MatchesGo checks the vectorised corners against
// deformCornersGo bit for bit, on locations that cross every border, land
// exactly on pixel edges and the map's ends, or are NaN or infinite.
func TestDeformCornersAVX2MatchesGo(t *testing.T) {
	if !deformAVX2 {
		t.Skip("no AVX2/FMA on this CPU (or GSAM_GEMM=purego): deformCornersGo is the only path")
	}
	r := rand.New(rand.NewSource(11))
	shapes := [][2]int{{9, 13}, {5, 7}, {3, 4}, {1, 2}}
	starts := []int{0, 117, 152, 164}
	const L, P, stride = 4, 4, 256
	lanes := newDeformLanes(shapes, starts, stride, L, P)
	special := []float32{0, 1, -0.5, 1.5, 0.5, 1e-9, -1e-9, 1 - 1e-7, 1e30, -1e30,
		float32(math.NaN()), float32(math.Inf(1)), float32(math.Inf(-1))}
	locs := make([]float32, 2*L*P)
	weights := make([]float32, L*P)
	got, want := make([]int, 32*len(lanes)), make([]int, 32*len(lanes))
	gotW, wantW := make([]float32, len(got)), make([]float32, len(got))
	inside := 0
	for it := 0; it < 20000; it++ {
		for i := range locs {
			switch k := r.Intn(10); {
			case k == 0:
				locs[i] = special[r.Intn(len(special))]
			case k == 1:
				// An exact pixel edge or centre of the sample's level.
				l := i / 2 / P
				n := shapes[l][1-i%2]
				locs[i] = float32(r.Intn(2*n+3)-1) / float32(2*n)
			default:
				locs[i] = r.Float32()*1.6 - 0.3
			}
		}
		for i := range weights {
			weights[i] = r.Float32()
		}
		deformCornersAVX2(&got[0], &gotW[0], &locs[0], &weights[0], &lanes[0], stride, len(lanes))
		deformCornersGo(want, wantW, stride, lanes, locs, weights)
		for i := range want {
			if got[i] != want[i] || math.Float32bits(gotW[i]) != math.Float32bits(wantW[i]) {
				t.Fatalf("locations %v: corner entry %d = (%d, %g), Go (%d, %g)", locs, i, got[i], gotW[i], want[i], wantW[i])
			}
			if wantW[i] != 0 {
				inside++
			}
		}
	}
	if inside == 0 {
		t.Fatal("no corner inside a map: the comparison is empty")
	}
}
