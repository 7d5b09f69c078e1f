package processor

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"image"
	"image/color"
	_ "image/gif" // register decoders
	_ "image/jpeg"
	_ "image/png"
	"io"
	"os"

	_ "golang.org/x/image/bmp"
	_ "golang.org/x/image/tiff"
	_ "golang.org/x/image/webp"
)

// DefaultMaxPixels is the largest image (width×height) decoded or processed
// unless a processor sets another limit: a guard against decompression bombs.
const DefaultMaxPixels = 100_000_000

// RGB is an 8-bit RGB image, pixels interleaved row by row (3 bytes each).
type RGB struct {
	Pix  []uint8
	W, H int
}

// LoadImage reads and decodes an image file (see DecodeImage).
func LoadImage(path string) (image.Image, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	img, err := DecodeImage(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return img, nil
}

// DecodeImage decodes a JPEG, PNG, GIF, BMP, TIFF or WebP image. A JPEG's
// EXIF orientation is applied, as transformers' load_image does with
// PIL.ImageOps.exif_transpose. Images over DefaultMaxPixels are refused
// before their pixels are decoded.
func DecodeImage(r io.Reader) (image.Image, error) {
	data, err := io.ReadAll(r)
	if err != nil {
		return nil, err
	}
	cfg, _, err := image.DecodeConfig(bytes.NewReader(data))
	if err != nil {
		return nil, fmt.Errorf("decode image: %w", err)
	}
	if err := checkSize(cfg.Width, cfg.Height, DefaultMaxPixels); err != nil {
		return nil, err
	}
	img, _, err := image.Decode(bufio.NewReader(bytes.NewReader(data)))
	if err != nil {
		return nil, fmt.Errorf("decode image: %w", err)
	}
	if o := jpegOrientation(data); o > 1 {
		img = Orient(ToRGB(img), o).Image()
	}
	return img, nil
}

func checkSize(w, h, limit int) error {
	if w <= 0 || h <= 0 {
		return fmt.Errorf("image has zero size (%d×%d)", w, h)
	}
	if limit > 0 && int64(w)*int64(h) > int64(limit) {
		return fmt.Errorf("image of %d×%d pixels is over the limit of %d pixels", w, h, limit)
	}
	return nil
}

// jpegOrientation returns the EXIF orientation tag (1–8) of a JPEG, or 0.
func jpegOrientation(b []byte) int {
	if len(b) < 4 || b[0] != 0xFF || b[1] != 0xD8 {
		return 0
	}
	i := 2
	for i+4 <= len(b) {
		if b[i] != 0xFF {
			return 0
		}
		marker := b[i+1]
		if marker == 0xFF { // fill byte
			i++
			continue
		}
		if marker == 0xDA || marker == 0xD9 { // start of scan, end of image
			return 0
		}
		n := int(binary.BigEndian.Uint16(b[i+2:]))
		if n < 2 || i+2+n > len(b) {
			return 0
		}
		seg := b[i+4 : i+2+n]
		if marker == 0xE1 && len(seg) > 6 && string(seg[:6]) == "Exif\x00\x00" {
			if o := exifOrientation(seg[6:]); o != 0 {
				return o
			}
		}
		i += 2 + n
	}
	return 0
}

// exifOrientation reads tag 0x0112 from IFD0 of a TIFF-structured block.
func exifOrientation(t []byte) int {
	if len(t) < 8 {
		return 0
	}
	var bo binary.ByteOrder
	switch string(t[:2]) {
	case "II":
		bo = binary.LittleEndian
	case "MM":
		bo = binary.BigEndian
	default:
		return 0
	}
	if bo.Uint16(t[2:]) != 42 {
		return 0
	}
	off := int(bo.Uint32(t[4:]))
	if off < 8 || off+2 > len(t) {
		return 0
	}
	n := int(bo.Uint16(t[off:]))
	for e := 0; e < n; e++ {
		p := off + 2 + 12*e
		if p+12 > len(t) {
			return 0
		}
		if bo.Uint16(t[p:]) == 0x0112 && bo.Uint16(t[p+2:]) == 3 {
			if v := int(bo.Uint16(t[p+8:])); v >= 1 && v <= 8 {
				return v
			}
			return 0
		}
	}
	return 0
}

// Orient applies an EXIF orientation (1–8) as PIL's exif_transpose does:
// 2 mirror, 3 rotate 180°, 4 flip, 5 transpose, 6 rotate 90° clockwise,
// 7 transverse, 8 rotate 90° counter-clockwise.
func Orient(src *RGB, orientation int) *RGB {
	W, H := src.W, src.H
	if orientation < 2 || orientation > 8 {
		return src
	}
	ow, oh := W, H
	if orientation >= 5 {
		ow, oh = H, W
	}
	dst := &RGB{Pix: make([]uint8, 3*ow*oh), W: ow, H: oh}
	for y := 0; y < oh; y++ {
		for x := 0; x < ow; x++ {
			var sx, sy int
			switch orientation {
			case 2:
				sx, sy = W-1-x, y
			case 3:
				sx, sy = W-1-x, H-1-y
			case 4:
				sx, sy = x, H-1-y
			case 5:
				sx, sy = y, x
			case 6:
				sx, sy = y, H-1-x
			case 7:
				sx, sy = W-1-y, H-1-x
			case 8:
				sx, sy = W-1-y, x
			}
			copy(dst.Pix[3*(y*ow+x):3*(y*ow+x)+3], src.Pix[3*(sy*W+sx):])
		}
	}
	return dst
}

// Image returns m as an image.Image (opaque NRGBA).
func (m *RGB) Image() *image.NRGBA {
	out := image.NewNRGBA(image.Rect(0, 0, m.W, m.H))
	for i := 0; i < m.W*m.H; i++ {
		copy(out.Pix[4*i:4*i+3], m.Pix[3*i:3*i+3])
		out.Pix[4*i+3] = 255
	}
	return out
}

// ToRGB converts any image to 8-bit RGB. Alpha is dropped without
// compositing (as PIL's convert("RGB")), grey is replicated, 16-bit samples
// keep their high byte, paletted and CMYK images go through their colour
// models.
func ToRGB(img image.Image) *RGB {
	b := img.Bounds()
	W, H := b.Dx(), b.Dy()
	out := &RGB{Pix: make([]uint8, 3*W*H), W: W, H: H}
	p := out.Pix
	switch m := img.(type) {
	case *image.NRGBA:
		for y := 0; y < H; y++ {
			o := m.PixOffset(b.Min.X, b.Min.Y+y)
			row := m.Pix[o : o+4*W]
			for x := 0; x < W; x++ {
				copy(p[3*(y*W+x):], row[4*x:4*x+3])
			}
		}
	case *image.Gray:
		for y := 0; y < H; y++ {
			o := m.PixOffset(b.Min.X, b.Min.Y+y)
			row := m.Pix[o : o+W]
			for x, v := range row {
				i := 3 * (y*W + x)
				p[i], p[i+1], p[i+2] = v, v, v
			}
		}
	case *image.RGBA:
		if m.Opaque() {
			for y := 0; y < H; y++ {
				o := m.PixOffset(b.Min.X, b.Min.Y+y)
				row := m.Pix[o : o+4*W]
				for x := 0; x < W; x++ {
					copy(p[3*(y*W+x):], row[4*x:4*x+3])
				}
			}
			break
		}
		toRGBSlow(img, p)
	case *image.YCbCr:
		for y := 0; y < H; y++ {
			for x := 0; x < W; x++ {
				yi := m.YOffset(b.Min.X+x, b.Min.Y+y)
				ci := m.COffset(b.Min.X+x, b.Min.Y+y)
				i := 3 * (y*W + x)
				p[i], p[i+1], p[i+2] = color.YCbCrToRGB(m.Y[yi], m.Cb[ci], m.Cr[ci])
			}
		}
	default:
		toRGBSlow(img, p)
	}
	return out
}

// toRGBSlow converts through the colour model, pixel by pixel.
func toRGBSlow(img image.Image, p []uint8) {
	b := img.Bounds()
	W, H := b.Dx(), b.Dy()
	{
		for y := 0; y < H; y++ {
			for x := 0; x < W; x++ {
				c := color.NRGBA64Model.Convert(img.At(b.Min.X+x, b.Min.Y+y)).(color.NRGBA64)
				i := 3 * (y*W + x)
				p[i], p[i+1], p[i+2] = uint8(c.R>>8), uint8(c.G>>8), uint8(c.B>>8)
			}
		}
	}
}

// FromRGB is the inverse of ToRGB for callers holding raw pixels.
func FromRGB(pix []uint8, w, h int) (*RGB, error) {
	if w <= 0 || h <= 0 || len(pix) != 3*w*h {
		return nil, errors.New("processor: RGB pixels do not match the size")
	}
	return &RGB{Pix: pix, W: w, H: h}, nil
}
