package processor

import (
	"encoding/json"
	"errors"
	"fmt"
	"image"
	"math"
	"os"
	"path/filepath"

	"github.com/gsam-go/gsam/nn"
	"gorgonia.org/tensor"
)

// ImageNet statistics, the defaults of both processors.
var (
	ImageNetMean = [3]float32{0.485, 0.456, 0.406}
	ImageNetStd  = [3]float32{0.229, 0.224, 0.225}
)

// Size is the `size` field of a preprocessor_config.json.
type Size struct {
	ShortestEdge int `json:"shortest_edge,omitempty"`
	LongestEdge  int `json:"longest_edge,omitempty"`
	Height       int `json:"height,omitempty"`
	Width        int `json:"width,omitempty"`
}

// GroundingDinoConfig is the Hub's preprocessor_config.json for Grounding DINO.
type GroundingDinoConfig struct {
	DoResize      *bool     `json:"do_resize"`
	Size          Size      `json:"size"`
	Resample      *int      `json:"resample"`
	DoRescale     *bool     `json:"do_rescale"`
	RescaleFactor *float64  `json:"rescale_factor"`
	DoNormalize   *bool     `json:"do_normalize"`
	ImageMean     []float32 `json:"image_mean"`
	ImageStd      []float32 `json:"image_std"`
	DoPad         *bool     `json:"do_pad"`
	MaxPixels     int       `json:"-"` // 0: DefaultMaxPixels
}

// GroundingDinoProcessor resizes (shortest edge, capped longest edge),
// rescales, normalises and pads a batch of images.
type GroundingDinoProcessor struct {
	DoResize      bool
	ShortestEdge  int
	LongestEdge   int // 0: no cap
	DoRescale     bool
	RescaleFactor float64
	DoNormalize   bool
	Mean, Std     [3]float32
	DoPad         bool
	MaxPixels     int // input images over this many pixels are refused (0: no limit)
	// Filter picks whose resize arithmetic to reproduce: PIL (the default,
	// GroundingDinoImageProcessorPil and the fixtures' model inputs) or
	// Torch (the torchvision-based GroundingDinoImageProcessor).
	Filter Filter
}

// NewGroundingDinoProcessor applies HF's defaults to c.
func NewGroundingDinoProcessor(c GroundingDinoConfig) (*GroundingDinoProcessor, error) {
	p := &GroundingDinoProcessor{
		DoResize: boolOr(c.DoResize, true), ShortestEdge: 800, LongestEdge: 1333,
		DoRescale: boolOr(c.DoRescale, true), RescaleFactor: 1.0 / 255,
		DoNormalize: boolOr(c.DoNormalize, true), Mean: ImageNetMean, Std: ImageNetStd,
		DoPad: boolOr(c.DoPad, true), MaxPixels: DefaultMaxPixels,
	}
	if c.MaxPixels != 0 {
		p.MaxPixels = c.MaxPixels
	}
	if c.Size != (Size{}) {
		if c.Size.ShortestEdge == 0 {
			return nil, fmt.Errorf("grounding dino preprocessor: size %+v has no shortest_edge", c.Size)
		}
		p.ShortestEdge, p.LongestEdge = c.Size.ShortestEdge, c.Size.LongestEdge
	}
	if c.RescaleFactor != nil {
		p.RescaleFactor = *c.RescaleFactor
	}
	if err := meanStd(&p.Mean, &p.Std, c.ImageMean, c.ImageStd); err != nil {
		return nil, err
	}
	if c.Resample != nil && *c.Resample != 2 {
		return nil, fmt.Errorf("grounding dino preprocessor: resample %d not supported (2, bilinear)", *c.Resample)
	}
	return p, nil
}

// LoadGroundingDino reads dir/preprocessor_config.json, or uses the
// defaults (800/1333, ImageNet statistics) when the file is absent.
func LoadGroundingDino(dir string) (*GroundingDinoProcessor, error) {
	var c GroundingDinoConfig
	if err := readConfig(dir, &c); err != nil {
		return nil, err
	}
	return NewGroundingDinoProcessor(c)
}

func readConfig(dir string, v any) error {
	raw, err := os.ReadFile(filepath.Join(dir, "preprocessor_config.json"))
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	if err := json.Unmarshal(raw, v); err != nil {
		return fmt.Errorf("%s: %w", filepath.Join(dir, "preprocessor_config.json"), err)
	}
	return nil
}

func boolOr(b *bool, def bool) bool {
	if b == nil {
		return def
	}
	return *b
}

func meanStd(mean, std *[3]float32, m, s []float32) error {
	if m != nil {
		if len(m) != 3 {
			return fmt.Errorf("preprocessor: image_mean has %d values, want 3", len(m))
		}
		copy(mean[:], m)
	}
	if s != nil {
		if len(s) != 3 {
			return fmt.Errorf("preprocessor: image_std has %d values, want 3", len(s))
		}
		copy(std[:], s)
	}
	for _, v := range std {
		if v == 0 {
			return errors.New("preprocessor: image_std has a zero")
		}
	}
	return nil
}

// SizeWithAspectRatio is the reference's get_size_with_aspect_ratio: the
// (height, width) whose shorter side is size, reduced so the longer side
// stays within maxSize (0 = no cap), rounded the way the reference's float
// arithmetic rounds.
func SizeWithAspectRatio(height, width, size, maxSize int) (int, int) {
	var rawSize float64
	hasRaw := false
	if maxSize > 0 {
		minOrig := float64(min(height, width))
		maxOrig := float64(max(height, width))
		if maxOrig/minOrig*float64(size) > float64(maxSize) {
			rawSize = float64(maxSize) * minOrig / maxOrig
			hasRaw = true
			size = int(math.RoundToEven(rawSize))
		}
	}
	switch {
	case (height <= width && height == size) || (width <= height && width == size):
		return height, width
	case width < height:
		if hasRaw {
			return int(rawSize * float64(height) / float64(width)), size
		}
		return int(float64(size) * float64(height) / float64(width)), size
	default:
		if hasRaw {
			return size, int(rawSize * float64(width) / float64(height))
		}
		return size, int(float64(size) * float64(width) / float64(height))
	}
}

// Preprocess turns images into pixel values [B, 3, H, W] (zero-padded
// bottom/right to the largest image), the pixel mask [B, H, W] (1 on real
// pixels) and each image's resized (height, width).
func (p *GroundingDinoProcessor) Preprocess(imgs []image.Image) (*tensor.Dense, []uint8, [][2]int, error) {
	if len(imgs) == 0 {
		return nil, nil, nil, errors.New("grounding dino preprocess: no images")
	}
	rgbs := make([]*RGB, len(imgs))
	for i, img := range imgs {
		if img == nil {
			return nil, nil, nil, fmt.Errorf("grounding dino preprocess: image %d is nil", i)
		}
		b := img.Bounds()
		if err := checkSize(b.Dx(), b.Dy(), p.MaxPixels); err != nil {
			return nil, nil, nil, fmt.Errorf("grounding dino preprocess: image %d: %w", i, err)
		}
		rgbs[i] = ToRGB(img)
	}
	return p.PreprocessRGB(rgbs)
}

// PreprocessRGB is Preprocess for images already in 8-bit RGB.
func (p *GroundingDinoProcessor) PreprocessRGB(imgs []*RGB) (*tensor.Dense, []uint8, [][2]int, error) {
	sizes := make([][2]int, len(imgs))
	resized := make([]*RGB, len(imgs))
	H, W := 0, 0
	for i, m := range imgs {
		if err := checkSize(m.W, m.H, p.MaxPixels); err != nil {
			return nil, nil, nil, fmt.Errorf("grounding dino preprocess: image %d: %w", i, err)
		}
		r := m
		if p.DoResize {
			oh, ow := SizeWithAspectRatio(m.H, m.W, p.ShortestEdge, p.LongestEdge)
			if oh < 1 || ow < 1 {
				return nil, nil, nil, fmt.Errorf("grounding dino preprocess: image %d (%d×%d) resizes to nothing", i, m.W, m.H)
			}
			var err error
			if r, err = m.ResizeWith(ow, oh, p.Filter); err != nil {
				return nil, nil, nil, err
			}
		}
		resized[i] = r
		sizes[i] = [2]int{r.H, r.W}
		H, W = max(H, r.H), max(W, r.W)
	}
	if !p.DoPad {
		for _, s := range sizes {
			if s != sizes[0] {
				return nil, nil, nil, errors.New("grounding dino preprocess: images of different sizes need do_pad")
			}
		}
	}
	B := len(imgs)
	pix := make([]float32, B*3*H*W)
	mask := make([]uint8, B*H*W)
	for b, r := range resized {
		p.normalizeInto(pix[b*3*H*W:(b+1)*3*H*W], r, H, W)
		for y := 0; y < r.H; y++ {
			row := mask[(b*H+y)*W : (b*H+y)*W+r.W]
			for x := range row {
				row[x] = 1
			}
		}
	}
	return nn.FromData(pix, B, 3, H, W), mask, sizes, nil
}

// normalizeInto writes r as planes [3, H, W] (top-left; the rest stays 0):
// float64(v)·rescale rounded to float32, then (x − mean)/std in float32, as
// the reference's numpy rescale and normalize.
func (p *GroundingDinoProcessor) normalizeInto(dst []float32, r *RGB, H, W int) {
	normalizePlanes(dst, r, H, W, p.DoRescale, p.RescaleFactor, p.DoNormalize, p.Mean, p.Std)
}

func normalizePlanes(dst []float32, r *RGB, H, W int, doRescale bool, factor float64, doNorm bool, mean, std [3]float32) {
	var lut [3][256]float32
	for c := 0; c < 3; c++ {
		for v := 0; v < 256; v++ {
			x := float32(v)
			if doRescale {
				x = float32(float64(v) * factor)
			}
			if doNorm {
				x = (x - mean[c]) / std[c]
			}
			lut[c][v] = x
		}
	}
	for c := 0; c < 3; c++ {
		plane := dst[c*H*W : (c+1)*H*W]
		for y := 0; y < r.H; y++ {
			row := plane[y*W : y*W+r.W]
			src := r.Pix[3*y*r.W:]
			for x := range row {
				row[x] = lut[c][src[3*x+c]]
			}
		}
	}
}
