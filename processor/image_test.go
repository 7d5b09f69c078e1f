package processor

import (
	"bytes"
	"encoding/binary"
	"hash/crc32"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"strings"
	"testing"
)

// exifJPEG encodes img as a JPEG carrying an APP1 Exif block with the given
// orientation (little- or big-endian TIFF header).
func exifJPEG(t *testing.T, img image.Image, orientation uint16, bo binary.ByteOrder) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, img, &jpeg.Options{Quality: 100}); err != nil {
		t.Fatal(err)
	}
	tiff := make([]byte, 8+2+12+4)
	if bo == binary.LittleEndian {
		copy(tiff, "II")
	} else {
		copy(tiff, "MM")
	}
	bo.PutUint16(tiff[2:], 42)
	bo.PutUint32(tiff[4:], 8)
	bo.PutUint16(tiff[8:], 1)
	bo.PutUint16(tiff[10:], 0x0112)
	bo.PutUint16(tiff[12:], 3)
	bo.PutUint32(tiff[14:], 1)
	bo.PutUint16(tiff[18:], orientation)
	seg := append([]byte("Exif\x00\x00"), tiff...)
	app1 := []byte{0xFF, 0xE1, 0, 0}
	binary.BigEndian.PutUint16(app1[2:], uint16(len(seg)+2))
	app1 = append(app1, seg...)
	b := buf.Bytes()
	return append(append(append([]byte{}, b[:2]...), app1...), b[2:]...)
}

func TestEXIFOrientation(t *testing.T) {
	// A 4×2 image: left half black, right half white, so a rotation moves
	// the white half somewhere recognisable.
	src := image.NewGray(image.Rect(0, 0, 32, 16))
	for y := 0; y < 16; y++ {
		for x := 16; x < 32; x++ {
			src.SetGray(x, y, color.Gray{255})
		}
	}
	// Where the bright half ends up: the (x, y) of a bright test pixel and
	// the output size for each orientation.
	tests := []struct {
		o          uint16
		w, h       int
		brightX, y int
	}{
		{1, 32, 16, 28, 8}, {2, 32, 16, 4, 8}, {3, 32, 16, 4, 8}, {4, 32, 16, 28, 8},
		{5, 16, 32, 8, 28}, {6, 16, 32, 8, 28}, {7, 16, 32, 8, 4}, {8, 16, 32, 8, 4},
	}
	for _, tc := range tests {
		for _, bo := range []binary.ByteOrder{binary.LittleEndian, binary.BigEndian} {
			data := exifJPEG(t, src, tc.o, bo)
			if got := jpegOrientation(data); got != int(tc.o) {
				t.Errorf("orientation %d: parsed %d", tc.o, got)
			}
			img, err := DecodeImage(bytes.NewReader(data))
			if err != nil {
				t.Fatal(err)
			}
			m := ToRGB(img)
			if m.W != tc.w || m.H != tc.h {
				t.Errorf("orientation %d: %d×%d, want %d×%d", tc.o, m.W, m.H, tc.w, tc.h)
				continue
			}
			if v := m.Pix[3*(tc.y*m.W+tc.brightX)]; v < 200 {
				t.Errorf("orientation %d: pixel (%d,%d) = %d, want bright", tc.o, tc.brightX, tc.y, v)
			}
		}
	}
}

func TestToRGB(t *testing.T) {
	r := image.Rect(0, 0, 2, 1)
	gray := image.NewGray(r)
	gray.Pix[0] = 77
	g16 := image.NewGray16(r)
	g16.SetGray16(0, 0, color.Gray16{0xAB12})
	nrgba := image.NewNRGBA(r)
	nrgba.SetNRGBA(0, 0, color.NRGBA{10, 20, 30, 0}) // fully transparent: colour kept, as PIL's convert("RGB")
	rgba := image.NewRGBA(r)
	rgba.SetRGBA(0, 0, color.RGBA{50, 60, 70, 128}) // premultiplied: un-premultiplied on conversion
	pal := image.NewPaletted(r, color.Palette{color.RGBA{1, 2, 3, 255}, color.RGBA{4, 5, 6, 255}})
	pal.Pix[0] = 1
	cmyk := image.NewCMYK(r)
	cmyk.SetCMYK(0, 0, color.CMYK{0, 255, 255, 0})
	n64 := image.NewNRGBA64(r)
	n64.SetNRGBA64(0, 0, color.NRGBA64{0x1234, 0x5678, 0x9ABC, 0xFFFF})
	tests := []struct {
		name string
		img  image.Image
		want [3]uint8
	}{
		{"gray", gray, [3]uint8{77, 77, 77}},
		{"gray16", g16, [3]uint8{0xAB, 0xAB, 0xAB}},
		{"nrgba", nrgba, [3]uint8{10, 20, 30}},
		{"rgba", rgba, [3]uint8{99, 119, 139}},
		{"paletted", pal, [3]uint8{4, 5, 6}},
		{"cmyk", cmyk, [3]uint8{255, 0, 0}},
		{"nrgba64", n64, [3]uint8{0x12, 0x56, 0x9A}},
	}
	for _, tc := range tests {
		m := ToRGB(tc.img)
		if m.W != 2 || m.H != 1 {
			t.Fatalf("%s: %d×%d", tc.name, m.W, m.H)
		}
		if got := [3]uint8(m.Pix[:3]); got != tc.want {
			t.Errorf("%s: %v, want %v", tc.name, got, tc.want)
		}
	}
	// A sub-image keeps its own origin.
	big := image.NewNRGBA(image.Rect(0, 0, 4, 4))
	big.SetNRGBA(2, 3, color.NRGBA{9, 8, 7, 255})
	sub := ToRGB(big.SubImage(image.Rect(2, 3, 4, 4)))
	if got := [3]uint8(sub.Pix[:3]); got != [3]uint8{9, 8, 7} {
		t.Errorf("sub-image: %v", got)
	}
}

func TestErrors(t *testing.T) {
	if _, err := DecodeImage(strings.NewReader("not an image")); err == nil {
		t.Error("garbage decoded")
	}
	p, _ := NewGroundingDinoProcessor(GroundingDinoConfig{})
	if _, _, _, err := p.Preprocess(nil); err == nil {
		t.Error("no images accepted")
	}
	if _, _, _, err := p.Preprocess([]image.Image{image.NewRGBA(image.Rect(0, 0, 0, 5))}); err == nil {
		t.Error("zero-size image accepted")
	}
	p.MaxPixels = 100
	if _, _, _, err := p.Preprocess([]image.Image{image.NewRGBA(image.Rect(0, 0, 20, 20))}); err == nil || !strings.Contains(err.Error(), "limit") {
		t.Errorf("image over the pixel limit: %v", err)
	}
	s, _ := NewSamProcessor(SamConfig{})
	if _, _, _, err := s.Preprocess(image.NewGray(image.Rect(0, 0, 3, 0))); err == nil {
		t.Error("sam: zero-size image accepted")
	}
	// A PNG header announcing a huge image is refused before decoding.
	var buf bytes.Buffer
	if err := png.Encode(&buf, image.NewGray(image.Rect(0, 0, 1, 1))); err != nil {
		t.Fatal(err)
	}
	b := buf.Bytes()
	binary.BigEndian.PutUint32(b[16:], 200000) // IHDR width
	binary.BigEndian.PutUint32(b[20:], 200000) // IHDR height
	binary.BigEndian.PutUint32(b[29:], crc32.ChecksumIEEE(b[12:29]))
	if _, err := DecodeImage(bytes.NewReader(b)); err == nil || !strings.Contains(err.Error(), "limit") {
		t.Errorf("huge PNG: %v", err)
	}
	if _, err := NewGroundingDinoProcessor(GroundingDinoConfig{ImageMean: []float32{1}}); err == nil {
		t.Error("bad image_mean accepted")
	}
}

// TestBatchPadding checks the padding and mask of a two-image batch and the
// reference's size rounding.
func TestBatchPadding(t *testing.T) {
	p, _ := NewGroundingDinoProcessor(GroundingDinoConfig{Size: Size{ShortestEdge: 20, LongestEdge: 30}})
	a := image.NewGray(image.Rect(0, 0, 40, 20)) // → 20×40 capped to 15×30
	b := image.NewGray(image.Rect(0, 0, 20, 20)) // → 20×20
	for i := range a.Pix {
		a.Pix[i] = 200
	}
	px, mask, sizes, err := p.Preprocess([]image.Image{a, b})
	if err != nil {
		t.Fatal(err)
	}
	if sizes[0] != [2]int{15, 30} || sizes[1] != [2]int{20, 20} {
		t.Fatalf("sizes %v", sizes)
	}
	s := px.Shape()
	if s[0] != 2 || s[1] != 3 || s[2] != 20 || s[3] != 30 {
		t.Fatalf("shape %v", s)
	}
	d := px.Float32s()
	H, W := 20, 30
	if d[(0*3*H+16)*W+3] != 0 || mask[16*W+3] != 0 || mask[14*W+29] != 1 {
		t.Error("image 0: padding rows not zero or mask wrong")
	}
	if d[(1*3*H+5)*W+25] != 0 || mask[H*W+5*W+25] != 0 || mask[H*W+19*W+19] != 1 {
		t.Error("image 1: padding columns not zero or mask wrong")
	}
	for _, tc := range [][5]int{
		{300, 451, 200, 220, 146}, {400, 600, 200, 220, 147}, {480, 640, 800, 1333, 800}, {1333, 800, 800, 1333, 1333},
	} {
		oh, ow := SizeWithAspectRatio(tc[0], tc[1], tc[2], tc[3])
		if oh != tc[4] {
			t.Errorf("SizeWithAspectRatio(%d, %d, %d, %d) = %d×%d", tc[0], tc[1], tc[2], tc[3], oh, ow)
		}
	}
}
