// Package groundedsam is the Grounded-SAM pipeline: Grounding DINO finds
// the objects a text prompt names (boxes, scores, phrases) and Segment
// Anything turns each box into a pixel mask.
//
//	p, err := groundedsam.Load(ctx, groundedsam.LoadOptions{}) // Hub defaults
//	res, err := p.Ground(ctx, img, groundingdino.Prompt{Caption: "cat . remote control ."}, groundedsam.Options{})
//	for _, d := range res.Detections { fmt.Println(d.Label, d.Score, d.Box, d.Mask.Area()) }
//
// Each image is embedded by SAM once, and all of its boxes go through the
// mask decoder together in one batched call.
package groundedsam

import (
	"context"
	"errors"
	"fmt"
	"image"

	"github.com/gsam-go/gsam/groundingdino"
	"github.com/gsam-go/gsam/processor"
	"github.com/gsam-go/gsam/sam"
)

// Pipeline holds the two loaded models. It keeps no per-call state, so
// Ground may be called from several goroutines at once.
type Pipeline struct {
	Detector *groundingdino.Detector
	SAM      *sam.Model
	// SAMProcessor resizes and normalises images for SAM; nil means SAM's
	// defaults sized to the model's input.
	SAMProcessor *processor.SamProcessor
	// Sequential embeds images for SAM after Grounding DINO instead of
	// beside it: the peak memory of one model's activations at a time
	// (gsam bench, both models in one process: 2.0 GB side by side) for
	// about a fifth more time on 2 cores.
	Sequential bool
}

// Options are the detection thresholds and the mask choice.
type Options struct {
	// BoxThreshold and TextThreshold are Grounding DINO's (0 means 0.35 and
	// 0.25); NMSThreshold > 0 drops per-label boxes overlapping a better
	// one by more than this IoU.
	BoxThreshold, TextThreshold, NMSThreshold float32
	// CleanLabels names detections with the whole prompt label instead of
	// the decoded token phrase.
	CleanLabels bool
	// Multimask asks SAM for three candidate masks per box and keeps the
	// one with the best predicted IoU (helps with ambiguous boxes).
	Multimask bool
}

// Detection is one object: Grounding DINO's box, score, label and phrase,
// with SAM's mask for that box.
type Detection struct {
	groundingdino.Detection
	Mask sam.Mask // at the image size, row-major
	IoU  float32  // SAM's predicted IoU of Mask
}

// Result is what was found in one image.
type Result struct {
	Width, Height int
	Detections    []Detection // best score first
}

// Ground detects the prompt's objects in img and segments each one.
func (p *Pipeline) Ground(ctx context.Context, img image.Image, prompt groundingdino.Prompt, opts Options) (*Result, error) {
	res, err := p.GroundBatch(ctx, []image.Image{img}, prompt, opts)
	if err != nil {
		return nil, err
	}
	return res[0], nil
}

// GroundBatch runs Grounding DINO on all images as one batch (smaller
// images are zero-padded, as the reference processor does), then SAM on
// each image that has detections.
//
// SAM's image encoder does not need the boxes, so it embeds the images
// while Grounding DINO runs: each model alone leaves cores idle at its many
// synchronisation points, and the other fills them (one 800×1333 image on
// 2 cores: Grounding DINO and the SAM encoder 10–19 % faster together than
// one after the other). An image without detections has its embedding
// cancelled; SAM's work on it is lost only when Grounding DINO finishes
// later than the embedding.
func (p *Pipeline) GroundBatch(ctx context.Context, imgs []image.Image, prompt groundingdino.Prompt, opts Options) ([]*Result, error) {
	if p == nil || p.Detector == nil || p.SAM == nil {
		return nil, errNoPipeline
	}
	if len(imgs) == 0 {
		return nil, errors.New("groundedsam: no images")
	}
	for i, img := range imgs {
		if img == nil || img.Bounds().Empty() {
			return nil, fmt.Errorf("groundedsam: image %d is empty", i)
		}
	}
	if err := p.Detector.CheckPrompt(prompt); err != nil {
		return nil, err // before any background work is started
	}
	var embeds *embeddings
	if !p.Sequential {
		embeds = p.embedAll(ctx, imgs, nil)
		defer embeds.stop()
	}
	dets, err := p.Detector.Detect(ctx, imgs, prompt, groundingdino.Options{
		BoxThreshold: opts.BoxThreshold, TextThreshold: opts.TextThreshold,
		NMSThreshold: opts.NMSThreshold, CleanLabels: opts.CleanLabels,
	})
	if err != nil {
		return nil, err
	}
	if embeds == nil {
		embeds = p.embedAll(ctx, imgs, dets)
		defer embeds.stop()
	}
	for i := range imgs {
		if len(dets[i]) == 0 {
			embeds.jobs[i].cancel() // no boxes: no SAM work
		}
	}
	out := make([]*Result, len(imgs))
	for i, img := range imgs {
		b := img.Bounds()
		r := &Result{Width: b.Dx(), Height: b.Dy()}
		out[i] = r
		if len(dets[i]) == 0 {
			continue
		}
		boxes := make([][4]float64, len(dets[i]))
		for j, d := range dets[i] {
			boxes[j] = [4]float64{float64(d.Box[0]), float64(d.Box[1]), float64(d.Box[2]), float64(d.Box[3])}
		}
		pred, err := embeds.wait(i)
		if err != nil {
			return nil, fmt.Errorf("groundedsam: image %d: %w", i, err)
		}
		masks, ious, err := segmentWith(ctx, pred, boxes, opts.Multimask)
		if err != nil {
			return nil, fmt.Errorf("groundedsam: image %d: %w", i, err)
		}
		for j, d := range dets[i] {
			r.Detections = append(r.Detections, Detection{Detection: d, Mask: masks[j], IoU: ious[j]})
		}
	}
	return out, nil
}

// embedding is SAM's embedding of one image, made in the background.
type embedding struct {
	ctx    context.Context
	cancel context.CancelFunc
	done   chan struct{}
	pred   *sam.Predictor
	err    error
}

// embeddings are the background embeddings of a batch, one image after
// another on one goroutine.
type embeddings struct{ jobs []embedding }

// embedAll starts embedding imgs in the background; with dets, only the
// images that have detections.
func (p *Pipeline) embedAll(ctx context.Context, imgs []image.Image, dets [][]groundingdino.Detection) *embeddings {
	e := &embeddings{jobs: make([]embedding, len(imgs))}
	for i := range e.jobs {
		j := &e.jobs[i]
		j.ctx, j.cancel = context.WithCancel(ctx)
		j.done = make(chan struct{})
		if dets != nil && len(dets[i]) == 0 {
			j.cancel()
		}
	}
	go func() {
		for i := range e.jobs {
			j := &e.jobs[i]
			if j.err = j.ctx.Err(); j.err == nil {
				j.pred, j.err = p.Predictor(j.ctx, imgs[i])
			}
			close(j.done)
		}
	}()
	return e
}

// wait returns image i's predictor once it is embedded.
func (e *embeddings) wait(i int) (*sam.Predictor, error) {
	<-e.jobs[i].done
	return e.jobs[i].pred, e.jobs[i].err
}

// stop cancels what is still running and waits for the goroutine to end,
// so that a returning call leaves nothing behind.
func (e *embeddings) stop() {
	for i := range e.jobs {
		e.jobs[i].cancel()
	}
	<-e.jobs[len(e.jobs)-1].done
}

// Segment embeds img once and decodes all boxes (x0, y0, x1, y1 in image
// pixels) in one batched mask-decoder call, returning one mask per box
// (the best-IoU one of three with multimask). No boxes: no SAM work.
func (p *Pipeline) Segment(ctx context.Context, img image.Image, boxes [][4]float64, multimask bool) ([]sam.Mask, []float32, error) {
	if len(boxes) == 0 {
		return nil, nil, nil
	}
	pred, err := p.Predictor(ctx, img)
	if err != nil {
		return nil, nil, err
	}
	return segmentWith(ctx, pred, boxes, multimask)
}

// segmentWith is Segment on an embedded image.
func segmentWith(ctx context.Context, pred *sam.Predictor, boxes [][4]float64, multimask bool) ([]sam.Mask, []float32, error) {
	res, err := pred.Predict(ctx, sam.Prompt{Boxes: boxes, Multimask: multimask})
	if err != nil {
		return nil, nil, err
	}
	masks := make([]sam.Mask, len(boxes))
	ious := make([]float32, len(boxes))
	for i := range boxes {
		k := BestMask(res.Scores[i])
		masks[i], ious[i] = res.Masks[i][k], res.Scores[i][k]
	}
	return masks, ious, nil
}

// Predictor preprocesses img for SAM and embeds it, ready for any number
// of point or box prompts.
func (p *Pipeline) Predictor(ctx context.Context, img image.Image) (*sam.Predictor, error) {
	if p == nil || p.SAM == nil {
		return nil, errNoPipeline
	}
	proc := p.SAMProcessor
	if proc == nil {
		var err error
		if proc, err = processor.NewSamProcessor(processor.SamConfig{}); err != nil {
			return nil, err
		}
		fitProcessor(proc, p.SAM)
	}
	pixels, _, original, err := proc.Preprocess(img)
	if err != nil {
		return nil, err
	}
	pred := sam.NewPredictor(p.SAM)
	if err := pred.SetPixels(ctx, pixels, sam.Size{Height: original[0], Width: original[1]}); err != nil {
		return nil, err
	}
	return pred, nil
}

// BestMask is the index of the highest predicted IoU (the first on ties).
func BestMask(ious []float32) int {
	best := 0
	for k, v := range ious {
		if v > ious[best] {
			best = k
		}
	}
	return best
}

// DropScratch forgets the buffers both models keep between calls (each
// call running at once keeps its own set: ~250 MB for a SAM encoding at
// 1024², ~155 MB of Swin blocks at 800×1333), returning their memory to
// the collector. The next call allocates them again. It may run while
// calls are in flight: the buffers they hold are kept when they finish.
func (p *Pipeline) DropScratch() {
	if p.Detector != nil && p.Detector.Model != nil {
		p.Detector.Model.DropScratch()
	}
	if p.SAM != nil {
		p.SAM.DropScratch()
	}
}
