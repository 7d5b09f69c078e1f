package rle

import (
	"encoding/json"
	"math/rand"
	"reflect"
	"strings"
	"testing"
)

// fromRows builds a row-major mask from strings of '0'/'1'.
func fromRows(rows ...string) ([]bool, int, int) {
	h, w := len(rows), len(rows[0])
	m := make([]bool, 0, h*w)
	for _, r := range rows {
		for _, c := range r {
			m = append(m, c == '1')
		}
	}
	return m, h, w
}

// Vectors worked out by hand from maskApi.c (see the comments).
func TestKnownVectors(t *testing.T) {
	cases := []struct {
		name   string
		rows   []string
		runs   []uint32
		counts string
		area   int
		bbox   [4]float64
	}{
		{
			// Column-major: 010 111 010 → runs 1,1,1,3,1,1,1. Deltas from i=3:
			// 3-1=2 '2', 1-1=0 '0', 1-3=-2 → low group 30 (sign bit set, x=-1
			// after the shift, so no more) → 'N', 1-1=0 '0'.
			name:   "plus",
			rows:   []string{"010", "111", "010"},
			runs:   []uint32{1, 1, 1, 3, 1, 1, 1},
			counts: "11120N0",
			area:   5,
			bbox:   [4]float64{0, 0, 3, 3},
		},
		{
			// 100 zeros: 100 = 4 + 3*32 → groups 4|0x20 ('T'), then 3 ('3').
			name:   "zeros 1x100",
			rows:   []string{strings.Repeat("0", 100)},
			runs:   []uint32{100},
			counts: "T3",
			area:   0,
			bbox:   [4]float64{0, 0, 0, 0},
		},
		{
			name:   "full 2x2",
			rows:   []string{"11", "11"},
			runs:   []uint32{0, 4},
			counts: "04",
			area:   4,
			bbox:   [4]float64{0, 0, 2, 2},
		},
		{
			// Column-major 0 1 | 0 0 | 1 1: runs 1,1,2,2. i=3: 2-1=1 → '1'.
			// Box: x 0..2, y 0..1 (the last run wraps down column 2).
			name:   "2x3",
			rows:   []string{"001", "101"},
			runs:   []uint32{1, 1, 2, 2},
			counts: "1121",
			area:   3,
			bbox:   [4]float64{0, 0, 3, 2},
		},
		{
			// A single pixel in the middle of a 1x3 row: runs 1,1,1.
			name:   "1x3 middle",
			rows:   []string{"010"},
			runs:   []uint32{1, 1, 1},
			counts: "111",
			area:   1,
			bbox:   [4]float64{1, 0, 1, 1},
		},
		{
			// 40 zeros, 1 one, 0 … the delta at i=3 goes negative by 40:
			// 1x82: zeros 40, one 1, zeros 40, one 1 → i=3: 1-1=0 '0';
			// i=2: 40 = 8 + 1*32 → 'X' (8|0x20) then '1'.
			name:   "1x82 with long runs",
			rows:   []string{strings.Repeat("0", 40) + "1" + strings.Repeat("0", 40) + "1"},
			runs:   []uint32{40, 1, 40, 1},
			counts: "X11X10",
			area:   2,
			bbox:   [4]float64{40, 0, 42, 1},
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			m, h, w := fromRows(c.rows...)
			r, err := Encode(m, h, w)
			if err != nil {
				t.Fatal(err)
			}
			if r.Counts != c.counts || r.Size != [2]int{h, w} {
				t.Fatalf("Encode = %+v, want counts %q size [%d %d]", r, c.counts, h, w)
			}
			runs, err := r.Runs()
			if err != nil || !reflect.DeepEqual(runs, c.runs) {
				t.Fatalf("Runs = %v, %v; want %v", runs, err, c.runs)
			}
			back, err := r.Decode()
			if err != nil || !reflect.DeepEqual(back, m) {
				t.Fatalf("Decode = %v, %v; want %v", back, err, m)
			}
			if a, err := r.Area(); err != nil || a != c.area {
				t.Fatalf("Area = %d, %v; want %d", a, err, c.area)
			}
			if b, err := r.ToBBox(); err != nil || b != c.bbox {
				t.Fatalf("ToBBox = %v, %v; want %v", b, err, c.bbox)
			}
		})
	}
}

// A negative delta that needs two groups: -40 → 24|0x20 ('h'), then 30 ('N').
func TestNegativeDeltaTwoGroups(t *testing.T) {
	runs := []uint32{1, 50, 1, 10}
	r, err := FromCounts(runs, 1, 62)
	if err != nil {
		t.Fatal(err)
	}
	// i=0..2: '1', 50 = 18|0x20 → 'b' then '1', '1'; i=3: 10-50 = -40 → "hN".
	if want := "1b11hN"; r.Counts != want {
		t.Fatalf("counts %q, want %q", r.Counts, want)
	}
	got, err := r.Runs()
	if err != nil || !reflect.DeepEqual(got, runs) {
		t.Fatalf("Runs = %v, %v", got, err)
	}
}

// bboxBrute is the tight box computed pixel by pixel.
func bboxBrute(m []bool, h, w int) [4]float64 {
	x0, y0, x1, y1 := w, h, -1, -1
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			if m[y*w+x] {
				x0, y0, x1, y1 = min(x0, x), min(y0, y), max(x1, x), max(y1, y)
			}
		}
	}
	if x1 < 0 {
		return [4]float64{}
	}
	return [4]float64{float64(x0), float64(y0), float64(x1 - x0 + 1), float64(y1 - y0 + 1)}
}

func TestRoundTripRandom(t *testing.T) {
	rng := rand.New(rand.NewSource(1))
	for it := 0; it < 500; it++ {
		h, w := rng.Intn(12)+1, rng.Intn(12)+1
		p := rng.Float64()
		m := make([]bool, h*w)
		area := 0
		for i := range m {
			m[i] = rng.Float64() < p
			if m[i] {
				area++
			}
		}
		r, err := Encode(m, h, w)
		if err != nil {
			t.Fatal(err)
		}
		back, err := Decode(r)
		if err != nil || !reflect.DeepEqual(back, m) {
			t.Fatalf("%dx%d: round trip failed: %v", h, w, err)
		}
		if a, _ := r.Area(); a != area {
			t.Fatalf("area %d, want %d", a, area)
		}
		// A run that wraps covers the bottom of one column and the top of
		// the next, so pycocotools' column-wise box is the tight box.
		if b, _ := r.ToBBox(); b != bboxBrute(m, h, w) {
			t.Fatalf("%dx%d: bbox %v, want %v", h, w, b, bboxBrute(m, h, w))
		}
	}
}

func TestEdgeCases(t *testing.T) {
	// Empty mask: pycocotools writes the single run [0].
	r, err := Encode(nil, 0, 0)
	if err != nil || r.Counts != "0" {
		t.Fatalf("empty: %+v %v", r, err)
	}
	if m, err := r.Decode(); err != nil || len(m) != 0 {
		t.Fatalf("empty decode: %v %v", m, err)
	}
	// 1x1 both ways.
	for _, v := range []bool{false, true} {
		r, err := Encode([]bool{v}, 1, 1)
		if err != nil {
			t.Fatal(err)
		}
		want := map[bool]string{false: "1", true: "01"}[v]
		if r.Counts != want {
			t.Fatalf("1x1 %v: %q want %q", v, r.Counts, want)
		}
	}
	// Large masks: all zero, all one, and a half.
	h, w := 480, 640
	for _, fill := range []int{0, 1, 2} {
		m := make([]uint8, h*w)
		for i := range m {
			switch fill {
			case 1:
				m[i] = 255
			case 2:
				if (i%w) < w/2 && (i/w) >= h/3 {
					m[i] = 1
				}
			}
		}
		r, err := EncodeBytes(m, h, w)
		if err != nil {
			t.Fatal(err)
		}
		back, err := r.Decode()
		if err != nil {
			t.Fatal(err)
		}
		for i := range m {
			if back[i] != (m[i] != 0) {
				t.Fatalf("fill %d: pixel %d differs", fill, i)
			}
		}
		b, _ := r.ToBBox()
		want := map[int][4]float64{0: {}, 1: {0, 0, 640, 480}, 2: {0, 160, 320, 320}}[fill]
		if b != want {
			t.Fatalf("fill %d: bbox %v want %v", fill, b, want)
		}
	}
	// Size mismatch and negative sizes are errors.
	if _, err := Encode(make([]bool, 5), 2, 2); err == nil {
		t.Fatal("want an error for a wrong-sized mask")
	}
	if _, err := Encode(nil, -1, 0); err == nil {
		t.Fatal("want an error for a negative size")
	}
}

func TestDecodeErrors(t *testing.T) {
	for _, c := range []struct {
		counts string
		h, w   int
	}{
		{"11120N", 3, 3},    // runs cover 8 of 9 pixels
		{"11120N01", 3, 3},  // runs cover 10
		{"1 1", 1, 3},       // invalid character
		{"1~", 1, 3},        // beyond the alphabet
		{"T", 1, 100},       // ends mid-count
		{"oooooooo0", 1, 1}, // absurdly long count
		{"1111N", 1, 4},     // negative run after delta
		{"", 2, 2},          // no runs for 4 pixels
		{"04", -2, -2},      // negative size
	} {
		r := RLE{Size: [2]int{c.h, c.w}, Counts: c.counts}
		if _, err := r.Decode(); err == nil {
			t.Errorf("Decode(%q, %dx%d): want an error", c.counts, c.h, c.w)
		}
	}
}

func TestJSON(t *testing.T) {
	m, h, w := fromRows("010", "111", "010")
	r, _ := Encode(m, h, w)
	data, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	if want := `{"size":[3,3],"counts":"11120N0"}`; string(data) != want {
		t.Fatalf("Marshal = %s, want %s", data, want)
	}
	var back RLE
	if err := json.Unmarshal(data, &back); err != nil || back != r {
		t.Fatalf("Unmarshal = %+v, %v", back, err)
	}
	// Uncompressed COCO form.
	if err := json.Unmarshal([]byte(`{"size":[3,3],"counts":[1,1,1,3,1,1,1]}`), &back); err != nil || back != r {
		t.Fatalf("Unmarshal uncompressed = %+v, %v", back, err)
	}
	for _, bad := range []string{
		`{"size":[3],"counts":"11120N0"}`,
		`{"size":[3,3],"counts":"11120N"}`,
		`{"size":[3,3],"counts":[1,1]}`,
		`{"size":[3,3],"counts":[-1,10]}`,
		`{"size":[3,3],"counts":true}`,
		`[]`,
	} {
		if err := json.Unmarshal([]byte(bad), &back); err == nil {
			t.Errorf("Unmarshal(%s): want an error", bad)
		}
	}
}

func FuzzDecode(f *testing.F) {
	f.Add("11120N0", 3, 3)
	f.Add("T3", 1, 100)
	f.Add("", 0, 0)
	f.Fuzz(func(t *testing.T, s string, h, w int) {
		if h > 1<<10 || w > 1<<10 {
			return // keep allocations small
		}
		r := RLE{Size: [2]int{h, w}, Counts: s}
		m, err := r.Decode()
		if err != nil {
			return
		}
		// Whatever decodes must re-encode to runs that decode the same.
		r2, err := Encode(m, h, w)
		if err != nil {
			t.Fatalf("re-encode: %v", err)
		}
		m2, err := r2.Decode()
		if err != nil || !reflect.DeepEqual(m, m2) {
			t.Fatalf("re-decode differs: %v", err)
		}
	})
}
