package render

import (
	"bytes"
	"image"
	"image/color"
	"image/png"
	"math"
	"os"
	"path/filepath"
	"testing"
)

// testImage is a gradient, so a pixel that changes is easy to tell.
func testImage(w, h int) *image.RGBA {
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			img.SetRGBA(x, y, color.RGBA{uint8(x * 3), uint8(y * 3), 100, 255})
		}
	}
	return img
}

func TestZeroDetectionsIsACopy(t *testing.T) {
	src := testImage(40, 30)
	out, err := Overlay(src, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(out.Pix, src.Pix) || out.Bounds() != src.Bounds() {
		t.Fatal("copy differs")
	}
	out.Pix[0] ^= 0xff
	if out.Pix[0] == src.Pix[0] {
		t.Fatal("the result shares memory with the input")
	}
}

func TestMaskChangesOnlyMaskedPixels(t *testing.T) {
	w, h := 60, 50
	src := testImage(w, h)
	mask := make([]bool, w*h)
	for y := 20; y < 30; y++ {
		for x := 15; x < 35; x++ {
			mask[y*w+x] = true
		}
	}
	out, err := Overlay(src, []Annotation{{Box: [4]float64{15, 20, 35, 30}, Mask: mask}},
		&Options{HideBoxes: true, HideLabels: true})
	if err != nil {
		t.Fatal(err)
	}
	red := DefaultPalette[0]
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			got, orig := out.RGBAAt(x, y), src.RGBAAt(x, y)
			if !mask[y*w+x] {
				if got != orig {
					t.Fatalf("(%d,%d) outside the mask changed: %v → %v", x, y, orig, got)
				}
				continue
			}
			// Half way between the pixel and the palette colour.
			want := func(a, b uint8) int { return (int(a) + int(b)) / 2 }
			if d := int(got.R) - want(orig.R, red.R); d < -1 || d > 1 {
				t.Fatalf("(%d,%d) red %d, want about %d", x, y, got.R, want(orig.R, red.R))
			}
			if d := int(got.G) - want(orig.G, red.G); d < -1 || d > 1 {
				t.Fatalf("(%d,%d) green %d, want about %d", x, y, got.G, want(orig.G, red.G))
			}
			if got.A != 255 {
				t.Fatalf("alpha %d", got.A)
			}
		}
	}
}

func TestBoxOutlinePlacement(t *testing.T) {
	src := image.NewRGBA(image.Rect(0, 0, 80, 80)) // transparent black
	out, err := Overlay(src, []Annotation{{Box: [4]float64{10, 20, 50, 60}}, {Box: [4]float64{60, 65, 70, 75}}},
		&Options{LineWidth: 2, HideLabels: true})
	if err != nil {
		t.Fatal(err)
	}
	c0, c1, none := DefaultPalette[0], DefaultPalette[1], color.RGBA{}
	for _, tc := range []struct {
		x, y int
		want color.RGBA
	}{
		{10, 30, c0}, {11, 30, c0}, {12, 30, none}, // left edge, 2 px
		{49, 30, c0}, {48, 30, c0}, {47, 30, none}, {50, 30, none}, // right edge ends at x1-1
		{30, 20, c0}, {30, 21, c0}, {30, 22, none}, {30, 19, none},
		{30, 59, c0}, {30, 58, c0}, {30, 57, none}, {30, 60, none},
		{10, 20, c0}, {49, 59, c0}, // corners
		{30, 40, none},             // inside
		{60, 70, c1}, {65, 74, c1}, // the second box in the second colour
	} {
		if got := out.RGBAAt(tc.x, tc.y); got != tc.want {
			t.Errorf("(%d,%d) = %v, want %v", tc.x, tc.y, got, tc.want)
		}
	}
}

func TestLabelAboveBoxOrInside(t *testing.T) {
	src := image.NewRGBA(image.Rect(0, 0, 200, 100))
	out, err := Overlay(src, []Annotation{{Box: [4]float64{20, 50, 120, 90}, Label: "cat", Score: 0.87}},
		&Options{HideBoxes: true})
	if err != nil {
		t.Fatal(err)
	}
	// The tag (13 px text + 2 px padding each side) sits on rows 33..49.
	if out.RGBAAt(21, 35) != DefaultPalette[0] {
		t.Errorf("no tag background above the box: %v", out.RGBAAt(21, 35))
	}
	if out.RGBAAt(21, 55) != (color.RGBA{}) {
		t.Errorf("the tag spilled into the box: %v", out.RGBAAt(21, 55))
	}
	// Some text pixels (white on red) exist inside the tag.
	white := 0
	for y := 33; y < 50; y++ {
		for x := 20; x < 80; x++ {
			if out.RGBAAt(x, y) == (color.RGBA{255, 255, 255, 255}) {
				white++
			}
		}
	}
	if white == 0 {
		t.Error("no text drawn")
	}
	// A box at the top edge gets its tag inside.
	out, _ = Overlay(src, []Annotation{{Box: [4]float64{20, 0, 120, 90}, Label: "cat", Score: 0.5}}, &Options{HideBoxes: true})
	if out.RGBAAt(21, 1) != DefaultPalette[0] {
		t.Errorf("no tag inside a box at the top: %v", out.RGBAAt(21, 1))
	}
}

func TestBordersAndOddInputDoNotPanic(t *testing.T) {
	long := "a very long label that is much wider than the image itself"
	boxes := [][4]float64{
		{0, 0, 10, 10}, {190, 90, 250, 150}, {-50, -50, 5, 5}, {-1e300, -1e300, 1e300, 1e300},
		{300, 300, 400, 400}, {50, 50, 10, 10}, {5, 5, 5, 5}, {199, 0, 200, 1},
	}
	for _, size := range []image.Rectangle{image.Rect(0, 0, 200, 100), image.Rect(0, 0, 1, 1), image.Rect(0, 0, 0, 0), image.Rect(-5, 7, 20, 30)} {
		src := image.NewRGBA(size)
		var dets []Annotation
		for i, b := range boxes {
			dets = append(dets, Annotation{Box: b, Label: long[:i*7], Score: float64(i) / 10})
		}
		out, err := Overlay(src, dets, nil)
		if err != nil {
			t.Fatalf("%v: %v", size, err)
		}
		if out.Bounds().Size() != size.Size() {
			t.Fatalf("size %v, want %v", out.Bounds(), size.Size())
		}
	}
}

func TestNonRGBAInputWithOffsetOrigin(t *testing.T) {
	g := image.NewGray(image.Rect(5, 5, 15, 15))
	for i := range g.Pix {
		g.Pix[i] = 200
	}
	mask := make([]bool, 100)
	mask[0] = true // the top-left pixel of the image, (5,5) in g
	out, err := Overlay(g, []Annotation{{Box: [4]float64{100, 100, 110, 110}, Mask: mask}}, &Options{HideLabels: true})
	if err != nil {
		t.Fatal(err)
	}
	if out.Bounds() != image.Rect(0, 0, 10, 10) {
		t.Fatalf("bounds %v", out.Bounds())
	}
	if out.RGBAAt(1, 1) != (color.RGBA{200, 200, 200, 255}) || out.RGBAAt(0, 0) == (color.RGBA{200, 200, 200, 255}) {
		t.Fatalf("pixels %v %v", out.RGBAAt(0, 0), out.RGBAAt(1, 1))
	}
}

func TestBadInputIsAnError(t *testing.T) {
	src := testImage(10, 10)
	for _, tc := range []struct {
		dets []Annotation
		opts *Options
	}{
		{[]Annotation{{Mask: make([]bool, 99)}}, nil},
		{[]Annotation{{Box: [4]float64{math.NaN(), 0, 1, 1}}}, nil},
		{[]Annotation{{Box: [4]float64{0, 0, math.Inf(1), 1}}}, nil},
		{nil, &Options{MaskAlpha: 2}},
		{nil, &Options{LineWidth: -1}},
	} {
		if _, err := Overlay(src, tc.dets, tc.opts); err == nil {
			t.Errorf("Overlay(%+v, %+v): want an error", tc.dets, tc.opts)
		}
	}
}

func TestSaveAndMaskPNG(t *testing.T) {
	dir := t.TempDir()
	img := testImage(16, 8)
	for _, name := range []string{"a.png", "b.jpg", "c.JPEG"} {
		p := filepath.Join(dir, name)
		if err := Save(p, img); err != nil {
			t.Fatal(err)
		}
		f, err := os.Open(p)
		if err != nil {
			t.Fatal(err)
		}
		got, format, err := image.Decode(f)
		f.Close()
		if err != nil || got.Bounds() != img.Bounds() {
			t.Fatalf("%s: %v %v", name, got, err)
		}
		if wantFmt := map[string]string{"a.png": "png", "b.jpg": "jpeg", "c.JPEG": "jpeg"}[name]; format != wantFmt {
			t.Fatalf("%s saved as %s", name, format)
		}
	}
	if err := Save(filepath.Join(dir, "x.gif"), img); err == nil {
		t.Fatal("want an error for .gif")
	}
	if err := SaveJPEG(filepath.Join(dir, "q.jpg"), img, 0); err == nil {
		t.Fatal("want an error for quality 0")
	}

	mask := []bool{true, false, false, false, false, true} // 2×3
	b, err := MaskPNG(mask, 2, 3)
	if err != nil {
		t.Fatal(err)
	}
	m, err := png.Decode(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	if m.Bounds() != image.Rect(0, 0, 3, 2) {
		t.Fatalf("bounds %v", m.Bounds())
	}
	for i, on := range mask {
		y := color.GrayModel.Convert(m.At(i%3, i/3)).(color.Gray).Y
		if (y == 255) != on || (y != 0 && y != 255) {
			t.Fatalf("pixel %d = %d, want set=%v", i, y, on)
		}
	}
	if _, err := MaskPNG(mask, 3, 3); err == nil {
		t.Fatal("want an error for a wrong-sized mask")
	}
}
