package groundingdino

import (
	"context"
	"errors"
	"fmt"
	"image"
	"sort"
	"strings"

	"github.com/gsam-go/gsam/postprocess"
	"github.com/gsam-go/gsam/processor"
	"github.com/gsam-go/gsam/tokenize"
)

// Detector is a loaded Grounding DINO with its tokenizer and image
// processor: everything needed to go from images and a prompt to boxes.
// It holds no per-call state and is safe for concurrent use.
type Detector struct {
	Model     *Model
	Tokenizer *tokenize.Tokenizer
	Processor *processor.GroundingDinoProcessor
}

// Load reads a model folder as downloaded from the Hub
// (IDEA-Research/grounding-dino-tiny or -base): config.json,
// model.safetensors, tokenizer.json or vocab.txt, and
// preprocessor_config.json when present.
func Load(dir string) (*Detector, error) {
	m, err := LoadModel(dir)
	if err != nil {
		return nil, err
	}
	tok, err := tokenize.Load(dir)
	if err != nil {
		return nil, err
	}
	p, err := processor.LoadGroundingDino(dir)
	if err != nil {
		return nil, err
	}
	return &Detector{Model: m, Tokenizer: tok, Processor: p}, nil
}

// Prompt is what to look for: a free caption ("a cat . a remote control .")
// or a label list (["cat", "remote control"]). Exactly one must be set.
// A label list longer than the model's 256 text tokens is split into
// several passes whose detections are merged.
type Prompt struct {
	Caption string
	Labels  []string
}

// Options are the detection thresholds and extras.
type Options struct {
	// BoxThreshold keeps a query whose best token probability exceeds it
	// (0 means the original's 0.35). TextThreshold selects the tokens that
	// form its phrase (0 means 0.25).
	BoxThreshold, TextThreshold float32
	// NMSThreshold > 0 drops, per label, boxes overlapping a better one by
	// more than this IoU.
	NMSThreshold float32
	// CleanLabels names each detection with the whole input label (or
	// caption phrase) its tokens belong to, instead of the reference's
	// decoded token phrase (which can hold "##" pieces or merged neighbours).
	CleanLabels bool
}

// Detection is one detected object.
type Detection struct {
	Box    [4]float32 // x0, y0, x1, y1 in pixels of the original image
	Score  float32    // best token probability
	Label  string     // clean label (with CleanLabels or a label list) or the phrase
	Phrase string     // the reference's phrase: tokens above the text threshold, decoded
	// LabelIndex is the index in Prompt.Labels (or in the caption's
	// phrases), -1 when no label token passed the text threshold.
	LabelIndex int
}

// Detect finds the prompt's objects in each image. Images are processed as
// one batch per pass.
func (d *Detector) Detect(ctx context.Context, images []image.Image, prompt Prompt, opt Options) ([][]Detection, error) {
	if len(images) == 0 {
		return nil, errors.New("groundingdino: no images")
	}
	if opt.BoxThreshold == 0 {
		opt.BoxThreshold = 0.35
	}
	if opt.TextThreshold == 0 {
		opt.TextThreshold = 0.25
	}
	passes, err := d.passes(prompt)
	if err != nil {
		return nil, err
	}
	pixels, mask, _, err := d.Processor.Preprocess(images)
	if err != nil {
		return nil, err
	}
	B := len(images)
	targets := make([][2]int, B)
	for i, img := range images {
		b := img.Bounds()
		targets[i] = [2]int{b.Dy(), b.Dx()}
	}
	out := make([][]Detection, B)
	labelBase := 0
	for _, lb := range passes {
		enc := lb.Encoding
		T := len(enc.InputIDs)
		in := Inputs{PixelValues: pixels, PixelMask: mask, T: T}
		rows := make([][]int64, B)
		labels := make([]*tokenize.Labeled, B)
		for b := 0; b < B; b++ {
			in.InputIDs = append(in.InputIDs, enc.InputIDs...)
			in.TokenTypeIDs = append(in.TokenTypeIDs, enc.TokenTypeIDs...)
			in.AttentionMask = append(in.AttentionMask, enc.AttentionMask...)
			rows[b], labels[b] = enc.InputIDs, lb
		}
		res, err := d.Model.Forward(ctx, in, nil, nil)
		if err != nil {
			return nil, err
		}
		dets, err := postprocess.GroundedObjectDetection(res.Logits, res.PredBoxes, rows, d.Tokenizer, postprocess.Options{
			Threshold: opt.BoxThreshold, TextThreshold: opt.TextThreshold, TargetSizes: targets,
			Labels: labels, NMSThreshold: opt.NMSThreshold,
		})
		d.Model.Release(res) // the detections hold copies
		if err != nil {
			return nil, err
		}
		clean := opt.CleanLabels || prompt.Labels != nil
		for b, ds := range dets {
			for _, det := range ds {
				x := Detection{Box: clampBox(det.Box, targets[b]), Score: det.Score, Phrase: det.TextLabel, Label: det.TextLabel, LabelIndex: -1}
				if det.Label >= 0 {
					x.LabelIndex = labelBase + det.Label
					if clean {
						x.Label = lb.Labels[det.Label]
					}
				}
				out[b] = append(out[b], x)
			}
		}
		labelBase += len(lb.Labels)
	}
	for b := range out {
		sort.SliceStable(out[b], func(i, j int) bool { return out[b][i].Score > out[b][j].Score })
	}
	return out, nil
}

// CheckPrompt reports whether Detect would accept p (a caption or labels
// that tokenize within the model's limits), without running anything.
func (d *Detector) CheckPrompt(p Prompt) error {
	_, err := d.passes(p)
	return err
}

// passes encodes the prompt as one or more captions that each fit the model.
func (d *Detector) passes(p Prompt) ([]*tokenize.Labeled, error) {
	maxLen := d.Model.Config.MaxTextLen
	switch {
	case p.Labels != nil && p.Caption != "":
		return nil, errors.New("groundingdino: give a caption or a label list, not both")
	case p.Labels != nil:
		if len(p.Labels) == 0 {
			return nil, errors.New("groundingdino: empty label list")
		}
		groups, err := d.Tokenizer.SplitLabels(p.Labels, maxLen)
		if err != nil {
			return nil, err
		}
		var out []*tokenize.Labeled
		for _, g := range groups {
			lb, err := d.Tokenizer.EncodeLabels(g)
			if err != nil {
				return nil, err
			}
			out = append(out, lb)
		}
		return out, nil
	default:
		caption := tokenize.NormalizeCaption(p.Caption)
		if strings.Trim(caption, " .?") == "" {
			return nil, fmt.Errorf("groundingdino: prompt %q names nothing to detect", p.Caption)
		}
		lb, err := d.Tokenizer.EncodePhrases(caption)
		if err != nil {
			return nil, err
		}
		// A free caption is cut at max_text_len as the reference does.
		return []*tokenize.Labeled{lb.Truncate(maxLen)}, nil
	}
}

// clampBox keeps a box inside the image (the model can predict slightly
// past the border).
func clampBox(b [4]float32, hw [2]int) [4]float32 {
	h, w := float32(hw[0]), float32(hw[1])
	lim := [4]float32{w, h, w, h}
	for i := range b {
		b[i] = max(0, min(b[i], lim[i]))
	}
	return b
}
