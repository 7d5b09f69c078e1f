package processor

import (
	"bytes"
	"image"
	"image/color"
	"image/gif"
	"image/jpeg"
	"image/png"
	"testing"

	"golang.org/x/image/bmp"
	"golang.org/x/image/tiff"
)

// seedImages encodes small images of every colour model the decoders
// produce (grey, grey16, RGBA64, paletted, YCbCr, NRGBA with alpha) in every
// format DecodeImage reads.
func seedImages(tb testing.TB) [][]byte {
	tb.Helper()
	r := image.Rect(0, 0, 5, 3)
	gray, gray16, rgba64, nrgba := image.NewGray(r), image.NewGray16(r), image.NewRGBA64(r), image.NewNRGBA(r)
	pal := image.NewPaletted(r, color.Palette{color.Black, color.White, color.NRGBA{255, 0, 0, 128}})
	for y := 0; y < 3; y++ {
		for x := 0; x < 5; x++ {
			v := uint8(40*x + 10*y)
			gray.SetGray(x, y, color.Gray{v})
			gray16.SetGray16(x, y, color.Gray16{uint16(v) << 8})
			rgba64.SetRGBA64(x, y, color.RGBA64{uint16(v) << 8, 0, 0xffff, 0xffff})
			nrgba.SetNRGBA(x, y, color.NRGBA{v, 255 - v, 7, v})
			pal.SetColorIndex(x, y, uint8((x+y)%3))
		}
	}
	var out [][]byte
	add := func(enc func(*bytes.Buffer) error) {
		var b bytes.Buffer
		if err := enc(&b); err != nil {
			tb.Fatal(err)
		}
		out = append(out, b.Bytes())
	}
	for _, m := range []image.Image{gray, gray16, rgba64, nrgba, pal} {
		add(func(b *bytes.Buffer) error { return png.Encode(b, m) })
		add(func(b *bytes.Buffer) error { return tiff.Encode(b, m, nil) })
	}
	add(func(b *bytes.Buffer) error { return jpeg.Encode(b, nrgba, nil) })
	add(func(b *bytes.Buffer) error { return jpeg.Encode(b, gray, nil) })
	add(func(b *bytes.Buffer) error { return gif.Encode(b, pal, nil) })
	add(func(b *bytes.Buffer) error { return bmp.Encode(b, nrgba) })
	add(func(b *bytes.Buffer) error { return bmp.Encode(b, gray) })
	return out
}

// FuzzDecodeImage decodes arbitrary bytes; whatever decodes is converted to
// RGB and run through both processors (small sizes, so every input stays
// fast). Properties: no panic; a decoded image has at most the pixels its
// header announced (the pixel limit is checked on the header); the
// processors' outputs have the shapes they promise.
func FuzzDecodeImage(f *testing.F) {
	for _, b := range seedImages(f) {
		f.Add(b)
	}
	f.Add([]byte("\x89PNG\r\n\x1a\n"))
	f.Add([]byte("GIF89a"))
	gd, err := NewGroundingDinoProcessor(GroundingDinoConfig{Size: Size{ShortestEdge: 16, LongestEdge: 24}})
	if err != nil {
		f.Fatal(err)
	}
	sp, err := NewSamProcessor(SamConfig{Size: Size{LongestEdge: 16}})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		cfg, _, err := image.DecodeConfig(bytes.NewReader(data))
		if err != nil || cfg.Width*cfg.Height > 1<<16 {
			// Too big to decode quickly: DecodeImage must still refuse or
			// decode it, but the fuzz loop only checks the header path.
			if err == nil && int64(cfg.Width)*int64(cfg.Height) > DefaultMaxPixels {
				if _, err := DecodeImage(bytes.NewReader(data)); err == nil {
					t.Fatalf("%d×%d image over the limit decoded", cfg.Width, cfg.Height)
				}
			}
			return
		}
		img, err := DecodeImage(bytes.NewReader(data))
		if err != nil {
			return
		}
		b := img.Bounds()
		if b.Dx()*b.Dy() > cfg.Width*cfg.Height {
			t.Fatalf("header says %d×%d, decoded %v", cfg.Width, cfg.Height, b)
		}
		px, mask, sizes, err := gd.Preprocess([]image.Image{img})
		if err == nil {
			s := px.Shape()
			if s[0] != 1 || s[1] != 3 || len(mask) != s[2]*s[3] || sizes[0][0] > s[2] || sizes[0][1] > s[3] || min(sizes[0][0], sizes[0][1]) > 16 {
				t.Fatalf("grounding dino: shape %v, mask %d, sizes %v", s, len(mask), sizes)
			}
		} else if b.Dx() > 0 && b.Dy() > 0 && max(b.Dx(), b.Dy()) < 24*min(b.Dx(), b.Dy()) {
			t.Fatalf("grounding dino refused a %v image: %v", b, err)
		}
		sv, reshaped, original, err := sp.Preprocess(img)
		if err == nil {
			if s := sv.Shape(); s[0] != 1 || s[1] != 3 || s[2] != 16 || s[3] != 16 || max(reshaped[0], reshaped[1]) != 16 || original != [2]int{b.Dy(), b.Dx()} {
				t.Fatalf("sam: shape %v, reshaped %v, original %v", s, reshaped, original)
			}
		}
	})
}
