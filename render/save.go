package render

import (
	"bytes"
	"fmt"
	"image"
	"image/jpeg"
	"image/png"
	"os"
	"path/filepath"
	"strings"
)

// Save writes img to path as PNG or JPEG, chosen by the extension
// (.png, .jpg, .jpeg; any case).
func Save(path string, img image.Image) error {
	switch strings.ToLower(filepath.Ext(path)) {
	case ".png":
		return SavePNG(path, img)
	case ".jpg", ".jpeg":
		return SaveJPEG(path, img, 90)
	}
	return fmt.Errorf("render: %s: unknown image extension (want .png, .jpg or .jpeg)", path)
}

// SavePNG writes img to path as PNG.
func SavePNG(path string, img image.Image) error {
	return writeFile(path, func(b *bytes.Buffer) error { return png.Encode(b, img) })
}

// SaveJPEG writes img to path as JPEG at quality 1–100.
func SaveJPEG(path string, img image.Image, quality int) error {
	if quality < 1 || quality > 100 {
		return fmt.Errorf("render: JPEG quality %d is outside 1–100", quality)
	}
	return writeFile(path, func(b *bytes.Buffer) error { return jpeg.Encode(b, img, &jpeg.Options{Quality: quality}) })
}

// writeFile encodes in memory first, so a failed encode leaves no file.
func writeFile(path string, enc func(*bytes.Buffer) error) error {
	var b bytes.Buffer
	if err := enc(&b); err != nil {
		return fmt.Errorf("render: encoding %s: %w", path, err)
	}
	if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
		return fmt.Errorf("render: %w", err)
	}
	return nil
}

// MaskImage turns a row-major h×w mask into a grey image: 255 where set,
// 0 elsewhere.
func MaskImage(mask []bool, h, w int) (*image.Gray, error) {
	if h < 0 || w < 0 || len(mask) != h*w {
		return nil, fmt.Errorf("render: mask has %d values, want %d×%d", len(mask), h, w)
	}
	g := image.NewGray(image.Rect(0, 0, w, h))
	for i, on := range mask {
		if on {
			g.Pix[(i/w)*g.Stride+i%w] = 255
		}
	}
	return g, nil
}

// MaskPNG encodes a row-major h×w mask as a black-and-white PNG.
func MaskPNG(mask []bool, h, w int) ([]byte, error) {
	g, err := MaskImage(mask, h, w)
	if err != nil {
		return nil, err
	}
	var b bytes.Buffer
	if err := png.Encode(&b, g); err != nil {
		return nil, fmt.Errorf("render: %w", err)
	}
	return b.Bytes(), nil
}
