package sam

import (
	"context"
	"errors"
	"fmt"
	"image"
	"math"
	"sync"

	"github.com/gsam-go/gsam/cpu"
	"github.com/gsam-go/gsam/nn"
	"github.com/gsam-go/gsam/processor"
	"gorgonia.org/tensor"
)

// Predictor embeds one image once and answers many prompts on it, like the
// original SamPredictor. Predict may be called from several goroutines at
// once; SetImage replaces the image for calls that start after it returns.
type Predictor struct {
	Model     *Model
	Processor *processor.SamProcessor // resize, normalise, pad (SamProcessor)

	mu    sync.RWMutex
	image *imageState
}

// imageState is immutable once set, so concurrent Predict calls share it.
type imageState struct {
	emb      *Embedding
	original Size // the image as given
	reshaped Size // after resizing the longest side to image_size
}

// NewPredictor wraps a loaded model, with SamProcessor's defaults sized to
// the model's image_size (use processor.LoadSam for a Hub folder's
// preprocessor_config.json instead).
func NewPredictor(m *Model) *Predictor {
	S := m.Config.VisionConfig.ImageSize
	proc, err := processor.NewSamProcessor(processor.SamConfig{
		Size: processor.Size{LongestEdge: S}, PadSize: processor.Size{Height: S, Width: S},
	})
	if err != nil { // only for an invalid image_size, which Load rejects
		panic(err)
	}
	return &Predictor{Model: m, Processor: proc}
}

// ErrNoImage is returned by Predict before SetImage or SetPixels.
var ErrNoImage = errors.New("sam: no image set: call SetImage first")

// SetImage preprocesses img (resize the longest side to image_size,
// normalise, pad) and computes its embedding.
func (p *Predictor) SetImage(ctx context.Context, img image.Image) error {
	if img == nil || img.Bounds().Empty() {
		return errors.New("sam: empty image")
	}
	pixels, reshaped, original, err := p.Processor.Preprocess(img)
	if err != nil {
		return fmt.Errorf("sam: %w", err)
	}
	return p.setPixels(ctx, pixels, Size{original[0], original[1]}, Size{reshaped[0], reshaped[1]})
}

// SetPixels sets an image already preprocessed by SamProcessor: pixels
// [1, 3, S, S] of an image whose original size was original.
func (p *Predictor) SetPixels(ctx context.Context, pixels *tensor.Dense, original Size) error {
	if original.Height <= 0 || original.Width <= 0 {
		return fmt.Errorf("sam: invalid original size %v", original)
	}
	return p.setPixels(ctx, pixels, original, ResizedSize(original, p.Model.Config.VisionConfig.ImageSize))
}

func (p *Predictor) setPixels(ctx context.Context, pixels *tensor.Dense, original, reshaped Size) error {
	emb, err := p.Model.Embed(ctx, pixels)
	if err != nil {
		return err
	}
	p.mu.Lock()
	p.image = &imageState{emb: emb, original: original, reshaped: reshaped}
	p.mu.Unlock()
	return nil
}

// ResizedSize is the size SamProcessor resizes an image to: the longest side
// becomes longest, the other keeps the aspect ratio (rounded half up).
func ResizedSize(original Size, longest int) Size {
	scale := float64(longest) / float64(max(original.Height, original.Width))
	return Size{int(float64(original.Height)*scale + 0.5), int(float64(original.Width)*scale + 0.5)}
}

// Prompt is what to segment, in the original image's pixel coordinates.
// Points with Labels (1 foreground, 0 background; nil Labels means all 1)
// form one prompt; each of Boxes (x0, y0, x1, y1) is a prompt of its own,
// combined with the points when both are given (then every box gets the same
// points). MaskInput, optional, is a low-resolution logit mask from an earlier
// Result ([1, 1, 256, 256] for the Hub models, or one per box).
type Prompt struct {
	Points    [][2]float64
	Labels    []int
	Boxes     [][4]float64
	MaskInput *tensor.Dense
	Multimask bool // three masks per prompt instead of one
}

// Mask is a binary mask at the original image size, row-major (y*Width+x).
type Mask struct {
	Width, Height int
	Pix           []bool
}

// At reports whether (x, y) is in the mask.
func (m *Mask) At(x, y int) bool { return m.Pix[y*m.Width+x] }

// Area counts the pixels in the mask.
func (m *Mask) Area() int {
	n := 0
	for _, b := range m.Pix {
		if b {
			n++
		}
	}
	return n
}

// Result holds, for each of P prompts, K masks (K = 3 with Multimask, else
// 1) with their predicted IoU, and the low-resolution logits [P, K, 4g, 4g]
// to feed back as MaskInput.
type Result struct {
	Masks  [][]Mask
	Scores [][]float32
	LowRes *tensor.Dense
}

// Predict segments the prompt on the image set by SetImage.
func (p *Predictor) Predict(ctx context.Context, pr Prompt) (*Result, error) {
	p.mu.RLock()
	st := p.image
	p.mu.RUnlock()
	if st == nil {
		return nil, ErrNoImage
	}
	prompts, err := p.toModelFrame(pr, st)
	if err != nil {
		return nil, err
	}
	out, err := p.Model.Decode(ctx, st.emb, prompts, pr.Multimask)
	if err != nil {
		return nil, err
	}
	logits, err := PostProcessMasks(out.Masks, p.Model.Config.VisionConfig.ImageSize, st.reshaped, st.original)
	if err != nil {
		return nil, err
	}
	s := nn.Shape(out.Masks)
	P, K := s[0], s[1]
	H, W := st.original.Height, st.original.Width
	ld, iou := nn.Data(logits), nn.Data(out.IOU)
	res := &Result{LowRes: out.Masks}
	for i := 0; i < P; i++ {
		var ms []Mask
		for k := 0; k < K; k++ {
			plane := ld[(i*K+k)*H*W : (i*K+k+1)*H*W]
			pix := make([]bool, H*W)
			cpu.ParallelFor((H*W+(1<<16)-1)>>16, func(lo, hi int) {
				lo, hi = lo<<16, min(hi<<16, H*W)
				for j, v := range plane[lo:hi] {
					pix[lo+j] = v > 0
				}
			})
			ms = append(ms, Mask{Width: W, Height: H, Pix: pix})
		}
		res.Masks = append(res.Masks, ms)
		res.Scores = append(res.Scores, append([]float32(nil), iou[i*K:(i+1)*K]...))
	}
	return res, nil
}

// toModelFrame validates the prompt and maps it to the model's input frame
// as SamProcessor's _normalize_coordinates does (scale by resized/original).
func (p *Predictor) toModelFrame(pr Prompt, st *imageState) (*Prompts, error) {
	if len(pr.Points) == 0 && len(pr.Boxes) == 0 && pr.MaskInput == nil {
		return nil, errors.New("sam: empty prompt: give points, boxes or a mask input")
	}
	if pr.Labels != nil && len(pr.Labels) != len(pr.Points) {
		return nil, fmt.Errorf("sam: %d points but %d labels", len(pr.Points), len(pr.Labels))
	}
	H, W := float64(st.original.Height), float64(st.original.Width)
	sx := float64(st.reshaped.Width) / W
	sy := float64(st.reshaped.Height) / H
	bad := func(v float64) bool { return math.IsNaN(v) || math.IsInf(v, 0) }
	var points [][2]float32
	var labels []int
	for i, pt := range pr.Points {
		if bad(pt[0]) || bad(pt[1]) {
			return nil, fmt.Errorf("sam: point %d has a non-finite coordinate %v", i, pt)
		}
		// Points may lie outside the image (SAM embeds any position; the
		// reference fixtures put one in the padding).
		label := LabelPositive
		if pr.Labels != nil {
			label = pr.Labels[i]
		}
		switch label {
		case LabelPositive, LabelNegative, LabelNotAPoint, LabelPad:
		default:
			return nil, fmt.Errorf("sam: point %d has label %d (want 1 foreground or 0 background)", i, label)
		}
		points = append(points, [2]float32{float32(pt[0] * sx), float32(pt[1] * sy)})
		labels = append(labels, label)
	}
	out := &Prompts{}
	for i, b := range pr.Boxes {
		if bad(b[0]) || bad(b[1]) || bad(b[2]) || bad(b[3]) {
			return nil, fmt.Errorf("sam: box %d has a non-finite coordinate %v", i, b)
		}
		if b[2] < b[0] || b[3] < b[1] {
			return nil, fmt.Errorf("sam: box %d %v is inverted (want x0 <= x1, y0 <= y1)", i, b)
		}
		if b[0] < 0 || b[1] < 0 || b[2] > W || b[3] > H {
			return nil, fmt.Errorf("sam: box %d %v outside the %gx%g image", i, b, W, H)
		}
		out.Boxes = append(out.Boxes, [4]float32{float32(b[0] * sx), float32(b[1] * sy), float32(b[2] * sx), float32(b[3] * sy)})
	}
	if len(points) > 0 {
		n := max(len(out.Boxes), 1)
		for i := 0; i < n; i++ {
			out.Points = append(out.Points, points)
			out.Labels = append(out.Labels, labels)
		}
	}
	if pr.MaskInput != nil {
		g := 4 * p.Model.Config.PromptEncoderConfig.ImageEmbeddingSize
		n := pr.MaskInput.Shape().TotalSize()
		if n%(g*g) != 0 {
			return nil, fmt.Errorf("sam: mask input %v is not a stack of %dx%d masks", []int(pr.MaskInput.Shape()), g, g)
		}
		for _, v := range nn.Data(pr.MaskInput) {
			if bad(float64(v)) {
				return nil, errors.New("sam: mask input contains NaN or Inf")
			}
		}
		out.Masks = nn.Reshape(pr.MaskInput, n/(g*g), 1, g, g)
	}
	return out, nil
}
