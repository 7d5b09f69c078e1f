// Package render draws detection results onto images: translucent masks,
// box outlines and "label 0.87" tags, and saves images and masks as PNG or
// JPEG. It is what the CLI uses to show what Grounded-SAM found.
package render

import (
	"fmt"
	"image"
	"image/color"
	"image/draw"
	"math"

	"golang.org/x/image/font"
	"golang.org/x/image/font/basicfont"
	"golang.org/x/image/math/fixed"
)

// Annotation is one detection to draw.
type Annotation struct {
	Box   [4]float64 // x0, y0, x1, y1 in pixels from the image's top-left corner
	Label string
	Score float64
	Mask  []bool // optional: row-major, one value per image pixel (h*w)
}

// Options tune Overlay; the zero value gives the defaults.
type Options struct {
	MaskAlpha  float64      // opacity of the mask colour; 0 means 0.5
	LineWidth  int          // box outline in pixels; 0 means 3
	Palette    []color.RGBA // detection i gets Palette[i%len]; nil means DefaultPalette
	HideBoxes  bool         // draw masks only
	HideLabels bool         // no text tags
	HideMasks  bool         // boxes and labels only
}

// DefaultPalette holds distinct, saturated colours that stay readable under
// white or black text.
var DefaultPalette = []color.RGBA{
	{230, 25, 75, 255},   // red
	{60, 180, 75, 255},   // green
	{0, 130, 200, 255},   // blue
	{245, 130, 48, 255},  // orange
	{145, 30, 180, 255},  // purple
	{70, 240, 240, 255},  // cyan
	{240, 50, 230, 255},  // magenta
	{210, 245, 60, 255},  // lime
	{255, 225, 25, 255},  // yellow
	{0, 128, 128, 255},   // teal
	{170, 110, 40, 255},  // brown
	{128, 0, 0, 255},     // maroon
	{128, 128, 0, 255},   // olive
	{0, 0, 128, 255},     // navy
	{250, 190, 212, 255}, // pink
	{128, 128, 128, 255}, // grey
}

// Overlay returns a copy of img with every annotation drawn on it: all masks
// first, then boxes, then labels, so that no mask hides a label. The result
// has its origin at (0, 0). Masks of the wrong size and non-finite boxes are
// errors; boxes and labels that leave the image are clipped.
func Overlay(img image.Image, dets []Annotation, opts *Options) (*image.RGBA, error) {
	var o Options
	if opts != nil {
		o = *opts
	}
	if o.MaskAlpha == 0 {
		o.MaskAlpha = 0.5
	}
	if o.MaskAlpha < 0 || o.MaskAlpha > 1 || math.IsNaN(o.MaskAlpha) {
		return nil, fmt.Errorf("render: mask alpha %v is outside [0, 1]", o.MaskAlpha)
	}
	if o.LineWidth == 0 {
		o.LineWidth = 3
	}
	if o.LineWidth < 0 {
		return nil, fmt.Errorf("render: negative line width %d", o.LineWidth)
	}
	if len(o.Palette) == 0 {
		o.Palette = DefaultPalette
	}

	b := img.Bounds()
	w, h := b.Dx(), b.Dy()
	out := image.NewRGBA(image.Rect(0, 0, w, h))
	draw.Draw(out, out.Bounds(), img, b.Min, draw.Src)

	boxes := make([]image.Rectangle, len(dets))
	for i, d := range dets {
		if d.Mask != nil && len(d.Mask) != w*h {
			return nil, fmt.Errorf("render: detection %d: mask has %d values, want %d×%d = %d", i, len(d.Mask), w, h, w*h)
		}
		r, err := pixelBox(d.Box)
		if err != nil {
			return nil, fmt.Errorf("render: detection %d: %w", i, err)
		}
		boxes[i] = r
	}
	colour := func(i int) color.RGBA { return o.Palette[i%len(o.Palette)] }
	if !o.HideMasks {
		for i, d := range dets {
			if d.Mask != nil {
				blendMask(out, d.Mask, colour(i), o.MaskAlpha)
			}
		}
	}
	if !o.HideBoxes {
		for i := range dets {
			drawOutline(out, boxes[i], o.LineWidth, colour(i))
		}
	}
	if !o.HideLabels {
		for i, d := range dets {
			drawLabel(out, boxes[i], LabelText(d.Label, d.Score), colour(i))
		}
	}
	return out, nil
}

// LabelText is the tag drawn for a detection: "cat 0.87", or the score alone.
func LabelText(label string, score float64) string {
	if label == "" {
		return fmt.Sprintf("%.2f", score)
	}
	return fmt.Sprintf("%s %.2f", label, score)
}

// pixelBox turns a float box into the pixels it covers, [x0, x1) × [y0, y1),
// in any corner order. The integer limits keep huge values from overflowing.
func pixelBox(bx [4]float64) (image.Rectangle, error) {
	var v [4]int
	for i, f := range bx {
		if math.IsNaN(f) || math.IsInf(f, 0) {
			return image.Rectangle{}, fmt.Errorf("box %v is not finite", bx)
		}
		v[i] = int(math.Round(math.Max(-1<<30, math.Min(1<<30, f))))
	}
	return image.Rect(v[0], v[1], v[2], v[3]), nil // Rect sorts the corners
}

// blendMask paints c with opacity a over the pixels where mask is set
// (Porter-Duff "over" on premultiplied values, so any input alpha works).
func blendMask(dst *image.RGBA, mask []bool, c color.RGBA, a float64) {
	w := dst.Bounds().Dx()
	k := uint32(a*256 + 0.5) // weight of the colour in 1/256ths
	src := [4]uint32{uint32(c.R), uint32(c.G), uint32(c.B), 255}
	for i, on := range mask {
		if !on {
			continue
		}
		p := dst.PixOffset(i%w, i/w)
		for j := 0; j < 4; j++ {
			d := uint32(dst.Pix[p+j])
			dst.Pix[p+j] = uint8((d*(256-k) + src[j]*k + 128) >> 8)
		}
	}
}

// drawOutline strokes r inward with the given width, clipped to dst.
func drawOutline(dst *image.RGBA, r image.Rectangle, width int, c color.RGBA) {
	if r.Empty() || width == 0 {
		return
	}
	u := image.NewUniform(c)
	t := min(width, r.Dx(), r.Dy())
	for _, s := range []image.Rectangle{
		image.Rect(r.Min.X, r.Min.Y, r.Max.X, r.Min.Y+t), // top
		image.Rect(r.Min.X, r.Max.Y-t, r.Max.X, r.Max.Y), // bottom
		image.Rect(r.Min.X, r.Min.Y, r.Min.X+t, r.Max.Y), // left
		image.Rect(r.Max.X-t, r.Min.Y, r.Max.X, r.Max.Y), // right
	} {
		draw.Draw(dst, s.Intersect(dst.Bounds()), u, image.Point{}, draw.Src)
	}
}

// drawLabel puts text on a filled tag above the box's top-left corner, or
// just inside the box when there is no room above, shifted to stay inside
// the image.
func drawLabel(dst *image.RGBA, box image.Rectangle, text string, bg color.RGBA) {
	face := basicfont.Face7x13
	const pad = 2
	tw := font.MeasureString(face, text).Ceil()
	m := face.Metrics()
	th := (m.Ascent + m.Descent).Ceil()
	tag := image.Rect(0, 0, tw+2*pad, th+2*pad)

	bounds := dst.Bounds()
	x, y := box.Min.X, box.Min.Y-tag.Dy()
	if y < bounds.Min.Y {
		y = max(box.Min.Y, bounds.Min.Y)
	}
	x = max(min(x, bounds.Max.X-tag.Dx()), bounds.Min.X)
	y = max(min(y, bounds.Max.Y-tag.Dy()), bounds.Min.Y)
	tag = tag.Add(image.Pt(x, y))
	draw.Draw(dst, tag.Intersect(bounds), image.NewUniform(bg), image.Point{}, draw.Src)

	d := font.Drawer{
		Dst:  dst,
		Src:  image.NewUniform(textColour(bg)),
		Face: face,
		Dot:  fixed.P(tag.Min.X+pad, tag.Min.Y+pad+m.Ascent.Ceil()),
	}
	d.DrawString(text) // the drawer clips to dst
}

// textColour picks black or white, whichever reads better on bg.
func textColour(bg color.RGBA) color.Color {
	lum := 0.299*float64(bg.R) + 0.587*float64(bg.G) + 0.114*float64(bg.B)
	if lum > 150 {
		return color.Black
	}
	return color.White
}
