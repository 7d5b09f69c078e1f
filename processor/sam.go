package processor

import (
	"errors"
	"fmt"
	"image"

	"github.com/gsam-go/gsam/nn"
	"gorgonia.org/tensor"
)

// SamConfig is the Hub's preprocessor_config.json for SAM.
type SamConfig struct {
	DoResize      *bool     `json:"do_resize"`
	Size          Size      `json:"size"`
	Resample      *int      `json:"resample"`
	DoRescale     *bool     `json:"do_rescale"`
	RescaleFactor *float64  `json:"rescale_factor"`
	DoNormalize   *bool     `json:"do_normalize"`
	ImageMean     []float32 `json:"image_mean"`
	ImageStd      []float32 `json:"image_std"`
	DoPad         *bool     `json:"do_pad"`
	PadSize       Size      `json:"pad_size"`
	MaxPixels     int       `json:"-"` // 0: DefaultMaxPixels
}

// SamProcessor resizes the longest side to LongestEdge, normalises and
// zero-pads to PadH×PadW.
type SamProcessor struct {
	DoResize      bool
	LongestEdge   int
	DoRescale     bool
	RescaleFactor float64
	DoNormalize   bool
	Mean, Std     [3]float32
	DoPad         bool
	PadH, PadW    int
	MaxPixels     int
	// Filter picks the resize arithmetic: PIL (default) or Torch (the
	// torchvision-based SamImageProcessor).
	Filter Filter
}

// NewSamProcessor applies HF's defaults (1024, ImageNet statistics) to c.
func NewSamProcessor(c SamConfig) (*SamProcessor, error) {
	p := &SamProcessor{
		DoResize: boolOr(c.DoResize, true), LongestEdge: 1024,
		DoRescale: boolOr(c.DoRescale, true), RescaleFactor: 1.0 / 255,
		DoNormalize: boolOr(c.DoNormalize, true), Mean: ImageNetMean, Std: ImageNetStd,
		DoPad: boolOr(c.DoPad, true), PadH: 1024, PadW: 1024, MaxPixels: DefaultMaxPixels,
	}
	if c.MaxPixels != 0 {
		p.MaxPixels = c.MaxPixels
	}
	if c.Size.LongestEdge != 0 {
		p.LongestEdge = c.Size.LongestEdge
	}
	if c.PadSize.Height != 0 || c.PadSize.Width != 0 {
		p.PadH, p.PadW = c.PadSize.Height, c.PadSize.Width
	} else if c.Size.LongestEdge != 0 {
		p.PadH, p.PadW = p.LongestEdge, p.LongestEdge
	}
	if c.RescaleFactor != nil {
		p.RescaleFactor = *c.RescaleFactor
	}
	if err := meanStd(&p.Mean, &p.Std, c.ImageMean, c.ImageStd); err != nil {
		return nil, err
	}
	if c.Resample != nil && *c.Resample != 2 {
		return nil, fmt.Errorf("sam preprocessor: resample %d not supported (2, bilinear)", *c.Resample)
	}
	if p.LongestEdge < 1 {
		return nil, errors.New("sam preprocessor: longest_edge must be positive")
	}
	return p, nil
}

// LoadSam reads dir/preprocessor_config.json, or uses the defaults.
func LoadSam(dir string) (*SamProcessor, error) {
	var c SamConfig
	if err := readConfig(dir, &c); err != nil {
		return nil, err
	}
	return NewSamProcessor(c)
}

// PreprocessShape is SAM's get_preprocess_shape: (height, width) scaled so
// the longer side is longest, rounded half up.
func PreprocessShape(height, width, longest int) (int, int) {
	scale := float64(longest) / float64(max(height, width))
	return int(float64(height)*scale + 0.5), int(float64(width)*scale + 0.5)
}

// Preprocess returns pixel values [1, 3, PadH, PadW], the resized
// (height, width) the prompts' coordinates refer to, and the original size.
func (p *SamProcessor) Preprocess(img image.Image) (pixelValues *tensor.Dense, reshaped, original [2]int, err error) {
	if img == nil {
		return nil, reshaped, original, errors.New("sam preprocess: nil image")
	}
	b := img.Bounds()
	if err := checkSize(b.Dx(), b.Dy(), p.MaxPixels); err != nil {
		return nil, reshaped, original, fmt.Errorf("sam preprocess: %w", err)
	}
	return p.PreprocessRGB(ToRGB(img))
}

// PreprocessRGB is Preprocess for an image already in 8-bit RGB.
func (p *SamProcessor) PreprocessRGB(m *RGB) (pixelValues *tensor.Dense, reshaped, original [2]int, err error) {
	if err := checkSize(m.W, m.H, p.MaxPixels); err != nil {
		return nil, reshaped, original, fmt.Errorf("sam preprocess: %w", err)
	}
	original = [2]int{m.H, m.W}
	r := m
	if p.DoResize {
		oh, ow := PreprocessShape(m.H, m.W, p.LongestEdge)
		if oh < 1 || ow < 1 {
			return nil, reshaped, original, fmt.Errorf("sam preprocess: image %d×%d resizes to nothing", m.W, m.H)
		}
		if r, err = m.ResizeWith(ow, oh, p.Filter); err != nil {
			return nil, reshaped, original, err
		}
	}
	reshaped = [2]int{r.H, r.W}
	H, W := r.H, r.W
	if p.DoPad {
		if r.H > p.PadH || r.W > p.PadW {
			return nil, reshaped, original, fmt.Errorf("sam preprocess: resized image %d×%d exceeds pad size %d×%d", r.W, r.H, p.PadW, p.PadH)
		}
		H, W = p.PadH, p.PadW
	}
	pix := make([]float32, 3*H*W)
	normalizePlanes(pix, r, H, W, p.DoRescale, p.RescaleFactor, p.DoNormalize, p.Mean, p.Std)
	return nn.FromData(pix, 1, 3, H, W), reshaped, original, nil
}
