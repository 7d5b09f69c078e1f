package groundedsam

import (
	"context"
	"errors"
	"image"
	"math"
	"path/filepath"
	"runtime"
	"slices"
	"testing"

	"github.com/gsam-go/gsam/groundingdino"
	"github.com/gsam-go/gsam/internal/fixture"
	"github.com/gsam-go/gsam/internal/leak"
	"github.com/gsam-go/gsam/processor"
	"github.com/gsam-go/gsam/sam"
)

// The fixture models have random weights: scores sit near 0.99, so high
// thresholds keep a handful of boxes. The tests check the mechanics.
var (
	prompt = groundingdino.Prompt{Caption: "a cat . a remote control ."}
	opts   = Options{BoxThreshold: 0.99, TextThreshold: 0.99}
)

func load(t *testing.T) (*Pipeline, image.Image) {
	t.Helper()
	dir := fixture.Dir(t, "gdino_swin_single")
	p, err := Load(context.Background(), LoadOptions{ModelDir: dir, SAMDir: fixture.Dir(t, "sam")})
	if err != nil {
		t.Fatal(err)
	}
	img, err := processor.LoadImage(filepath.Join(dir, "case", "image0_astronaut.png"))
	if err != nil {
		t.Fatal(err)
	}
	return p, img
}

func TestGround(t *testing.T) {
	p, img := load(t)
	ctx := context.Background()
	res, err := p.Ground(ctx, img, prompt, opts)
	if err != nil {
		t.Fatal(err)
	}
	b := img.Bounds()
	W, H := b.Dx(), b.Dy()
	if res.Width != W || res.Height != H {
		t.Fatalf("result size %dx%d, image %dx%d", res.Width, res.Height, W, H)
	}
	if len(res.Detections) < 2 {
		t.Fatalf("want several detections to exercise the batched decoder, got %d", len(res.Detections))
	}
	boxes := make([][4]float64, len(res.Detections))
	for i, d := range res.Detections {
		if d.Box[0] < 0 || d.Box[1] < 0 || d.Box[2] > float32(W) || d.Box[3] > float32(H) || d.Box[0] > d.Box[2] || d.Box[1] > d.Box[3] {
			t.Errorf("detection %d: box %v outside the %dx%d image", i, d.Box, W, H)
		}
		if d.Mask.Width != W || d.Mask.Height != H || len(d.Mask.Pix) != W*H {
			t.Errorf("detection %d: mask %dx%d (%d values), want %dx%d", i, d.Mask.Width, d.Mask.Height, len(d.Mask.Pix), W, H)
		}
		if math.IsNaN(float64(d.IoU)) {
			t.Errorf("detection %d: IoU is NaN", i)
		}
		boxes[i] = [4]float64{float64(d.Box[0]), float64(d.Box[1]), float64(d.Box[2]), float64(d.Box[3])}
	}

	// By hand: the detector alone, then SAM one box at a time. The batched
	// decoder call must give the same boxes, masks and IoUs.
	dets, err := p.Detector.Detect(ctx, []image.Image{img}, prompt, groundingdino.Options{BoxThreshold: 0.99, TextThreshold: 0.99})
	if err != nil {
		t.Fatal(err)
	}
	if len(dets[0]) != len(res.Detections) {
		t.Fatalf("detector alone found %d objects, pipeline %d", len(dets[0]), len(res.Detections))
	}
	pixels, _, orig, err := p.SAMProcessor.Preprocess(img)
	if err != nil {
		t.Fatal(err)
	}
	pred := sam.NewPredictor(p.SAM)
	if err := pred.SetPixels(ctx, pixels, sam.Size{Height: orig[0], Width: orig[1]}); err != nil {
		t.Fatal(err)
	}
	for i, d := range dets[0] {
		got := res.Detections[i]
		if d != got.Detection {
			t.Errorf("detection %d: pipeline %+v, detector %+v", i, got.Detection, d)
		}
		one, err := pred.Predict(ctx, sam.Prompt{Boxes: boxes[i : i+1]})
		if err != nil {
			t.Fatal(err)
		}
		if diff := math.Abs(float64(one.Scores[0][0] - got.IoU)); diff > 1e-4 {
			t.Errorf("detection %d: IoU %v batched, %v alone", i, got.IoU, one.Scores[0][0])
		}
		differ := 0
		for j, v := range one.Masks[0][0].Pix {
			if v != got.Mask.Pix[j] {
				differ++
			}
		}
		// Logits within float noise of 0 may flip; anything more is a bug.
		if differ > W*H/1000 {
			t.Errorf("detection %d: %d of %d mask pixels differ between batched and single decoding", i, differ, W*H)
		}
	}
}

func TestGroundMultimaskAndBatch(t *testing.T) {
	p, img := load(t)
	ctx := context.Background()
	mo := opts
	mo.Multimask = true
	res, err := p.GroundBatch(ctx, []image.Image{img, img}, prompt, mo)
	if err != nil {
		t.Fatal(err)
	}
	if len(res) != 2 || len(res[0].Detections) == 0 || len(res[0].Detections) != len(res[1].Detections) {
		t.Fatalf("batch of two identical images gave %v", res)
	}
	pred, err := p.Predictor(ctx, img)
	if err != nil {
		t.Fatal(err)
	}
	for i, d := range res[0].Detections {
		b := [][4]float64{{float64(d.Box[0]), float64(d.Box[1]), float64(d.Box[2]), float64(d.Box[3])}}
		all, err := pred.Predict(ctx, sam.Prompt{Boxes: b, Multimask: true})
		if err != nil {
			t.Fatal(err)
		}
		best := all.Scores[0][BestMask(all.Scores[0])]
		if math.Abs(float64(best-d.IoU)) > 1e-4 {
			t.Errorf("detection %d: kept IoU %v, best of three is %v (%v)", i, d.IoU, best, all.Scores[0])
		}
		if e := res[1].Detections[i]; e.Box != d.Box || math.Abs(float64(e.IoU-d.IoU)) > 1e-4 {
			t.Errorf("detection %d differs between identical images: %+v vs %+v", i, d.Detection, e.Detection)
		}
	}
}

func TestErrors(t *testing.T) {
	ctx := context.Background()
	if _, err := Load(ctx, LoadOptions{ModelDir: filepath.Join(t.TempDir(), "missing"), SAMDir: t.TempDir()}); err == nil {
		t.Error("missing model folder: no error")
	}
	if _, err := (&Pipeline{}).Ground(ctx, image.NewRGBA(image.Rect(0, 0, 4, 4)), prompt, Options{}); err == nil {
		t.Error("empty pipeline: no error")
	}
	p, img := load(t)
	if _, err := p.Ground(ctx, img, groundingdino.Prompt{Caption: " . "}, opts); err == nil {
		t.Error("empty prompt: no error")
	}
	if _, err := p.Ground(ctx, image.NewRGBA(image.Rectangle{}), prompt, opts); err == nil {
		t.Error("empty image: no error")
	}
	if masks, _, err := p.Segment(ctx, img, nil, false); err != nil || masks != nil {
		t.Errorf("no boxes: %v, %v", masks, err)
	}
}

// TestGroundLeavesNoGoroutines: SAM embeds in the background while
// Grounding DINO runs; whether the call succeeds, finds nothing (the
// embedding is cancelled), fails on its prompt or is cancelled, no
// goroutine is left behind.
func TestGroundLeavesNoGoroutines(t *testing.T) {
	p, img := load(t)
	ctx := context.Background()
	base := runtime.NumGoroutine()
	check := func(what string) {
		t.Helper()
		if n := leak.Settle(base); n > base {
			t.Errorf("%s: %d goroutines before, %d after", what, base, n)
		}
	}
	res, err := p.GroundBatch(ctx, []image.Image{img, img}, prompt, Options{BoxThreshold: 1.01, TextThreshold: 1.01})
	if err != nil || len(res) != 2 || len(res[0].Detections)+len(res[1].Detections) != 0 {
		t.Errorf("threshold above 1: %v, %v", res, err)
	}
	check("no detections")
	if _, err := p.Ground(ctx, img, groundingdino.Prompt{Caption: " . "}, opts); err == nil {
		t.Error("empty prompt: no error")
	}
	check("bad prompt")
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := p.Ground(cctx, img, prompt, opts); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled context: %v", err)
	}
	check("cancelled")
	if _, err := p.Ground(ctx, img, prompt, opts); err != nil {
		t.Fatal(err)
	}
	check("success")
	seq := *p
	seq.Sequential = true
	if _, err := seq.Ground(ctx, img, prompt, opts); err != nil {
		t.Fatal(err)
	}
	check("sequential")
}

// TestSequentialMatchesOverlapped: embedding for SAM beside Grounding DINO
// (the default) or after it gives the same detections, masks and IoUs,
// bit for bit.
func TestSequentialMatchesOverlapped(t *testing.T) {
	p, img := load(t)
	ctx := context.Background()
	over, err := p.GroundBatch(ctx, []image.Image{img, img}, prompt, opts)
	if err != nil {
		t.Fatal(err)
	}
	seq := *p
	seq.Sequential = true
	one, err := seq.GroundBatch(ctx, []image.Image{img, img}, prompt, opts)
	if err != nil {
		t.Fatal(err)
	}
	for i := range over {
		if len(over[i].Detections) == 0 || len(over[i].Detections) != len(one[i].Detections) {
			t.Fatalf("image %d: %d detections side by side, %d one after the other", i, len(over[i].Detections), len(one[i].Detections))
		}
		for j, d := range over[i].Detections {
			e := one[i].Detections[j]
			if d.Detection != e.Detection || d.IoU != e.IoU || !slices.Equal(d.Mask.Pix, e.Mask.Pix) {
				t.Errorf("image %d detection %d differs: %+v IoU %v vs %+v IoU %v", i, j, d.Detection, d.IoU, e.Detection, e.IoU)
			}
		}
	}
}

// TestDropScratch: after DropScratch the pipeline allocates its buffers
// again and gives the same results, bit for bit.
func TestDropScratch(t *testing.T) {
	p, img := load(t)
	ctx := context.Background()
	before, err := p.Ground(ctx, img, prompt, opts)
	if err != nil {
		t.Fatal(err)
	}
	p.DropScratch()
	after, err := p.Ground(ctx, img, prompt, opts)
	if err != nil {
		t.Fatal(err)
	}
	if len(before.Detections) == 0 || len(before.Detections) != len(after.Detections) {
		t.Fatalf("%d detections before DropScratch, %d after", len(before.Detections), len(after.Detections))
	}
	for i, d := range before.Detections {
		e := after.Detections[i]
		if d.Detection != e.Detection || d.IoU != e.IoU || !slices.Equal(d.Mask.Pix, e.Mask.Pix) {
			t.Errorf("detection %d differs after DropScratch", i)
		}
	}
	(&Pipeline{}).DropScratch() // an empty pipeline has nothing to drop
}
