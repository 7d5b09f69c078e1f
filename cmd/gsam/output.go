package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"image"
	"math"
	"os"
	"path/filepath"

	"github.com/gsam-go/gsam/render"
	"github.com/gsam-go/gsam/rle"
	"github.com/gsam-go/gsam/sam"
)

// imageResult is the JSON written per image.
type imageResult struct {
	Image      string          `json:"image"`
	Width      int             `json:"width"`
	Height     int             `json:"height"`
	Detections []jsonDetection `json:"detections"`
}

// jsonDetection is one object. detect leaves out mask and iou; segment
// leaves out score, label and phrase.
type jsonDetection struct {
	Box    [4]float64 `json:"box"` // x0, y0, x1, y1 in pixels
	Score  *float64   `json:"score,omitempty"`
	Label  *string    `json:"label,omitempty"`
	Phrase *string    `json:"phrase,omitempty"`
	Mask   *rle.RLE   `json:"mask,omitempty"` // COCO RLE, pycocotools-compatible
	IoU    *float64   `json:"iou,omitempty"`  // SAM's predicted IoU of the mask

	mask *sam.Mask // for the overlay and --mask-pngs
}

// round keeps JSON readable: float32 values carry no more digits than this.
func round(v float64, digits int) float64 {
	p := math.Pow(10, float64(digits))
	return math.Round(v*p) / p
}

func box32(b [4]float32) [4]float64 {
	return [4]float64{round(float64(b[0]), 2), round(float64(b[1]), 2), round(float64(b[2]), 2), round(float64(b[3]), 2)}
}

func ptr[T any](v T) *T { return &v }

// setMask attaches a SAM mask and its IoU to d.
func (d *jsonDetection) setMask(m sam.Mask, iou float32) error {
	r, err := rle.Encode(m.Pix, m.Height, m.Width)
	if err != nil {
		return err
	}
	d.Mask, d.IoU, d.mask = &r, ptr(round(float64(iou), 4)), &m
	return nil
}

// writeOutputs writes the JSON (to stdout without --out) and, with --out,
// the overlay and the optional mask PNGs.
func (c *cli) writeOutputs(f *commonFlags, in input, img image.Image, res *imageResult, maskPNGs bool) error {
	if res.Detections == nil {
		res.Detections = []jsonDetection{} // "detections": [] rather than null
	}
	// RLE strings hold '<', '>' and '&': keep them literal rather than
	// HTML-escaped, so the file reads like pycocotools' own output.
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(res); err != nil {
		return err
	}
	js := bytes.TrimSuffix(buf.Bytes(), []byte("\n"))
	if f.out == "" {
		_, err := fmt.Fprintf(c.stdout, "%s\n", js)
		return err
	}
	if err := os.MkdirAll(f.out, 0o755); err != nil {
		return err
	}
	var anns []render.Annotation
	for _, d := range res.Detections {
		a := render.Annotation{Box: d.Box}
		if d.Label != nil {
			a.Label = *d.Label
		}
		switch {
		case d.Score != nil:
			a.Score = *d.Score
		case d.IoU != nil:
			a.Score = *d.IoU
		}
		if d.mask != nil {
			a.Mask = d.mask.Pix
		}
		anns = append(anns, a)
	}
	over, err := render.Overlay(img, anns, nil)
	if err != nil {
		return err
	}
	base := filepath.Join(f.out, in.name)
	written := []string{base + ".json", base + "." + f.format}
	if err := os.WriteFile(written[0], append(js, '\n'), 0o644); err != nil {
		return err
	}
	if err := render.Save(written[1], over); err != nil {
		return err
	}
	if maskPNGs {
		for i, d := range res.Detections {
			if d.mask == nil {
				continue
			}
			b, err := render.MaskPNG(d.mask.Pix, d.mask.Height, d.mask.Width)
			if err != nil {
				return err
			}
			p := fmt.Sprintf("%s.mask%d.png", base, i)
			if err := os.WriteFile(p, b, 0o644); err != nil {
				return err
			}
			written = append(written, p)
		}
	}
	for _, p := range written {
		fmt.Fprintln(c.stdout, p)
	}
	return nil
}
