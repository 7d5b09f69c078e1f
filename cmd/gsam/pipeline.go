package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"image"
	"os"
	"os/signal"
	"strings"
	"time"

	"github.com/gsam-go/gsam/groundedsam"
	"github.com/gsam-go/gsam/groundingdino"
	"github.com/gsam-go/gsam/processor"
	"github.com/gsam-go/gsam/sam"
)

const helpGround = `Usage: gsam ground --image FILE|DIR|- (--text CAPTION | --labels LIST) [flags]

Finds the objects a text prompt names with Grounding DINO, then segments each
box with SAM (the image is embedded once; all its boxes are decoded together).
Writes DIR/<name>.png (boxes, labels and translucent masks drawn on the image)
and DIR/<name>.json:
  {"image": "chelsea.png", "width": 451, "height": 300, "detections": [
    {"box": [x0, y0, x1, y1], "score": 0.62, "label": "cat", "phrase": "cat",
     "mask": {"size": [h, w], "counts": "..."}, "iou": 0.97}]}
The mask is COCO RLE: pycocotools.mask.decode(mask) gives the h×w bitmap.

Examples:
  gsam ground --image testdata/chelsea.png --text "cat ." --out out/
  gsam ground --image photos/ --labels "cat,remote control" --clean-labels --out out/
  cat photo.jpg | gsam ground --image - --text "dog ." > dog.json
  gsam ground --image photo.jpg --text "cat ." --model-dir ./grounding-dino-tiny --sam-dir ./sam-vit-base --out out/

` + helpInput + "\n" + helpDetector + "\n" + helpSAM + helpCommon

const helpDetect = `Usage: gsam detect --image FILE|DIR|- (--text CAPTION | --labels LIST) [flags]

Finds the objects a text prompt names with Grounding DINO (no SAM, no masks).
Writes DIR/<name>.png (boxes and labels) and DIR/<name>.json:
  {"image": "chelsea.png", "width": 451, "height": 300, "detections": [
    {"box": [x0, y0, x1, y1], "score": 0.62, "label": "cat", "phrase": "cat"}]}

Examples:
  gsam detect --image testdata/chelsea.png --text "cat ." --out out/
  gsam detect --image photos/ --labels "cat,dog,remote control" --box-threshold 0.3 --out out/

` + helpInput + "\n" + helpDetector + helpCommon

const helpSegment = `Usage: gsam segment --image FILE|DIR|- (--box x0,y0,x1,y1 | --point x,y[,label])... [flags]

Segments what the prompts point at with SAM. Coordinates are pixels of the
original image. Each --box is a prompt of its own and gives one mask; points
(label 1 foreground, the default, or 0 background) are added to every box, or
form a single prompt when no box is given. Both flags repeat.
Writes DIR/<name>.png and DIR/<name>.json:
  {"image": "chelsea.png", "width": 451, "height": 300, "detections": [
    {"box": [x0, y0, x1, y1], "mask": {"size": [h, w], "counts": "..."}, "iou": 0.97}]}
(for a points-only prompt the box is the mask's bounding box).

Examples:
  gsam segment --image testdata/chelsea.png --box 50,20,330,300 --out out/
  gsam segment --image testdata/chelsea.png --point 200,150 --point 400,40,0 --multimask --out out/

` + helpInput + "\n" + helpSAM + helpCommon

// detectorFlags are the Grounding DINO flags of ground and detect.
type detectorFlags struct {
	model, modelDir, text, labels string
	boxThr, textThr, nms          float64
	cleanLabels                   bool
}

func (f *detectorFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&f.model, "model", "", "")
	fs.StringVar(&f.modelDir, "model-dir", "", "")
	fs.StringVar(&f.text, "text", "", "")
	fs.StringVar(&f.labels, "labels", "", "")
	fs.Float64Var(&f.boxThr, "box-threshold", 0.35, "")
	fs.Float64Var(&f.textThr, "text-threshold", 0.25, "")
	fs.Float64Var(&f.nms, "nms", 0, "")
	fs.BoolVar(&f.cleanLabels, "clean-labels", false, "")
}

// prompt checks the detector flags and builds the prompt and options.
func (f *detectorFlags) prompt() (groundingdino.Prompt, groundingdino.Options, error) {
	var p groundingdino.Prompt
	var o groundingdino.Options
	switch {
	case f.text != "" && f.labels != "":
		return p, o, usagef("give --text or --labels, not both")
	case f.text != "":
		p.Caption = f.text
	case f.labels != "":
		for _, l := range strings.Split(f.labels, ",") {
			if l = strings.TrimSpace(l); l != "" {
				p.Labels = append(p.Labels, l)
			}
		}
		if len(p.Labels) == 0 {
			return p, o, usagef("--labels %q names no label", f.labels)
		}
	default:
		return p, o, usagef(`say what to find: --text "cat . remote control ." or --labels "cat,remote control"`)
	}
	for _, t := range []struct {
		name string
		v    float64
	}{{"box-threshold", f.boxThr}, {"text-threshold", f.textThr}, {"nms", f.nms}} {
		if !(t.v >= 0 && t.v <= 1) {
			return p, o, usagef("--%s %v: want a value in [0, 1]", t.name, t.v)
		}
	}
	if f.boxThr == 0 || f.textThr == 0 {
		return p, o, usagef("thresholds must be above 0")
	}
	o = groundingdino.Options{BoxThreshold: float32(f.boxThr), TextThreshold: float32(f.textThr), NMSThreshold: float32(f.nms), CleanLabels: f.cleanLabels}
	return p, o, nil
}

// samFlags are the SAM flags of ground and segment.
type samFlags struct {
	sam, samDir         string
	multimask, maskPNGs bool
}

func (f *samFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&f.sam, "sam", "", "")
	fs.StringVar(&f.samDir, "sam-dir", "", "")
	fs.BoolVar(&f.multimask, "multimask", false, "")
	fs.BoolVar(&f.maskPNGs, "mask-pngs", false, "")
}

func signalContext() (context.Context, context.CancelFunc) {
	return signal.NotifyContext(context.Background(), os.Interrupt)
}

// forEachImage decodes each input and calls fn on it. A bad image is
// reported and skipped; the returned status is 1 if any image failed.
func (c *cli) forEachImage(inputs []input, fn func(in input, img image.Image) (string, error)) int {
	code := exitOK
	for i, in := range inputs {
		start := time.Now()
		img, err := c.decode(in)
		if err == nil {
			var summary string
			summary, err = fn(in, img)
			if err == nil {
				c.progress("[%d/%d] %s: %s in %s", i+1, len(inputs), in.displayName(), summary, seconds(time.Since(start)))
				continue
			}
		}
		if errors.Is(err, context.Canceled) {
			return c.fail(err)
		}
		c.fail(fmt.Errorf("%s: %w", in.displayName(), err))
		code = exitFailure
	}
	return code
}

func (c *cli) decode(in input) (image.Image, error) {
	if in.path == "-" {
		return processor.DecodeImage(c.stdin)
	}
	return processor.LoadImage(in.path)
}

// detectSetup checks the flags ground and detect share and lists the images.
func (c *cli) detectSetup(cf *commonFlags, df *detectorFlags) (groundingdino.Prompt, groundingdino.Options, []input, error) {
	c.quiet = cf.quiet
	if err := cf.check(); err != nil {
		return groundingdino.Prompt{}, groundingdino.Options{}, nil, err
	}
	prompt, dopts, err := df.prompt()
	if err != nil {
		return groundingdino.Prompt{}, groundingdino.Options{}, nil, err
	}
	inputs, err := listInputs(cf.image)
	return prompt, dopts, inputs, err
}

func (c *cli) ground(args []string) int {
	fs := flag.NewFlagSet("ground", flag.ContinueOnError)
	var cf commonFlags
	var df detectorFlags
	var sf samFlags
	cf.register(fs)
	df.register(fs)
	sf.register(fs)
	if code := c.parse(fs, helpGround, args); code >= 0 {
		return code
	}
	prompt, dopts, inputs, err := c.detectSetup(&cf, &df)
	if err != nil {
		return c.fail(err)
	}
	ctx, stop := signalContext()
	defer stop()
	lo := loadOptions(df.model, df.modelDir, sf.sam, sf.samDir, cf.revision)
	det, err := c.loadDetector(ctx, lo)
	if err != nil {
		return c.fail(err)
	}
	p, err := c.loadSAM(ctx, lo)
	if err != nil {
		return c.fail(err)
	}
	p.Detector = det
	opts := groundedsam.Options{BoxThreshold: dopts.BoxThreshold, TextThreshold: dopts.TextThreshold,
		NMSThreshold: dopts.NMSThreshold, CleanLabels: dopts.CleanLabels, Multimask: sf.multimask}
	return c.forEachImage(inputs, func(in input, img image.Image) (string, error) {
		res, err := p.Ground(ctx, img, prompt, opts)
		if err != nil {
			return "", err
		}
		out := &imageResult{Image: in.displayName(), Width: res.Width, Height: res.Height}
		for _, d := range res.Detections {
			j := detectionJSON(d.Detection)
			if err := j.setMask(d.Mask, d.IoU); err != nil {
				return "", err
			}
			out.Detections = append(out.Detections, j)
		}
		return fmt.Sprintf("%d objects", len(out.Detections)), c.writeOutputs(&cf, in, img, out, sf.maskPNGs)
	})
}

func (c *cli) detect(args []string) int {
	fs := flag.NewFlagSet("detect", flag.ContinueOnError)
	var cf commonFlags
	var df detectorFlags
	cf.register(fs)
	df.register(fs)
	if code := c.parse(fs, helpDetect, args); code >= 0 {
		return code
	}
	prompt, dopts, inputs, err := c.detectSetup(&cf, &df)
	if err != nil {
		return c.fail(err)
	}
	ctx, stop := signalContext()
	defer stop()
	det, err := c.loadDetector(ctx, loadOptions(df.model, df.modelDir, "", "", cf.revision))
	if err != nil {
		return c.fail(err)
	}
	return c.forEachImage(inputs, func(in input, img image.Image) (string, error) {
		res, err := det.Detect(ctx, []image.Image{img}, prompt, dopts)
		if err != nil {
			return "", err
		}
		b := img.Bounds()
		out := &imageResult{Image: in.displayName(), Width: b.Dx(), Height: b.Dy()}
		for _, d := range res[0] {
			out.Detections = append(out.Detections, detectionJSON(d))
		}
		return fmt.Sprintf("%d objects", len(out.Detections)), c.writeOutputs(&cf, in, img, out, false)
	})
}

func (c *cli) segment(args []string) int {
	fs := flag.NewFlagSet("segment", flag.ContinueOnError)
	var cf commonFlags
	var sf samFlags
	var boxFlags, pointFlags listFlag
	cf.register(fs)
	sf.register(fs)
	fs.Var(&boxFlags, "box", "")
	fs.Var(&pointFlags, "point", "")
	if code := c.parse(fs, helpSegment, args); code >= 0 {
		return code
	}
	c.quiet = cf.quiet
	if err := cf.check(); err != nil {
		return c.fail(err)
	}
	prompt, err := segmentPrompt(boxFlags, pointFlags, sf.multimask)
	if err != nil {
		return c.fail(err)
	}
	inputs, err := listInputs(cf.image)
	if err != nil {
		return c.fail(err)
	}
	ctx, stop := signalContext()
	defer stop()
	p, err := c.loadSAM(ctx, loadOptions("", "", sf.sam, sf.samDir, cf.revision))
	if err != nil {
		return c.fail(err)
	}
	return c.forEachImage(inputs, func(in input, img image.Image) (string, error) {
		pred, err := p.Predictor(ctx, img)
		if err != nil {
			return "", err
		}
		res, err := pred.Predict(ctx, prompt)
		if err != nil {
			return "", err
		}
		b := img.Bounds()
		out := &imageResult{Image: in.displayName(), Width: b.Dx(), Height: b.Dy()}
		for i := range res.Masks {
			k := groundedsam.BestMask(res.Scores[i])
			var j jsonDetection
			if i < len(prompt.Boxes) {
				bx := prompt.Boxes[i]
				j.Box = [4]float64{bx[0], bx[1], bx[2], bx[3]}
			} else {
				j.Box = maskBox(res.Masks[i][k])
			}
			if err := j.setMask(res.Masks[i][k], res.Scores[i][k]); err != nil {
				return "", err
			}
			out.Detections = append(out.Detections, j)
		}
		return fmt.Sprintf("%d masks", len(out.Detections)), c.writeOutputs(&cf, in, img, out, sf.maskPNGs)
	})
}

// segmentPrompt parses the repeated --box and --point flags.
func segmentPrompt(boxes, points []string, multimask bool) (sam.Prompt, error) {
	p := sam.Prompt{Multimask: multimask}
	if len(boxes) == 0 && len(points) == 0 {
		return p, usagef("give at least one --box x0,y0,x1,y1 or --point x,y[,label]")
	}
	for _, s := range boxes {
		v, err := parseFloats(s, 4)
		if err != nil {
			return p, usagef("--box %v", err)
		}
		if v[0] < 0 || v[1] < 0 || v[2] < v[0] || v[3] < v[1] {
			return p, usagef("--box %s: want x0,y0,x1,y1 with 0 <= x0 <= x1 and 0 <= y0 <= y1", s)
		}
		p.Boxes = append(p.Boxes, [4]float64{v[0], v[1], v[2], v[3]})
	}
	for _, s := range points {
		n := strings.Count(s, ",") + 1
		if n != 2 && n != 3 {
			return p, usagef("--point %q: want x,y or x,y,label", s)
		}
		v, err := parseFloats(s, n)
		if err != nil {
			return p, usagef("--point %v", err)
		}
		label := 1
		if n == 3 {
			if v[2] != 0 && v[2] != 1 {
				return p, usagef("--point %s: label %v, want 1 (foreground) or 0 (background)", s, v[2])
			}
			label = int(v[2])
		}
		p.Points = append(p.Points, [2]float64{v[0], v[1]})
		p.Labels = append(p.Labels, label)
	}
	return p, nil
}

func detectionJSON(d groundingdino.Detection) jsonDetection {
	return jsonDetection{Box: box32(d.Box), Score: ptr(round(float64(d.Score), 4)), Label: ptr(d.Label), Phrase: ptr(d.Phrase)}
}

// maskBox is the bounding box of a mask's pixels (zeros if empty).
func maskBox(m sam.Mask) [4]float64 {
	x0, y0, x1, y1 := m.Width, m.Height, -1, -1
	for y := 0; y < m.Height; y++ {
		for x := 0; x < m.Width; x++ {
			if m.Pix[y*m.Width+x] {
				x0, y0, x1, y1 = min(x0, x), min(y0, y), max(x1, x), max(y1, y)
			}
		}
	}
	if x1 < 0 {
		return [4]float64{}
	}
	return [4]float64{float64(x0), float64(y0), float64(x1 + 1), float64(y1 + 1)}
}

// loadDetector resolves and loads Grounding DINO with progress lines.
func (c *cli) loadDetector(ctx context.Context, lo groundedsam.LoadOptions) (*groundingdino.Detector, error) {
	start := time.Now()
	dir, err := c.resolve(ctx, "Grounding DINO", lo.ModelDir, lo.Model, groundedsam.DefaultModel, func() (string, error) { return groundedsam.ResolveDetector(ctx, lo) })
	if err != nil {
		return nil, err
	}
	det, err := groundingdino.Load(dir)
	if err != nil {
		return nil, err
	}
	c.progress("loaded Grounding DINO in %s", seconds(time.Since(start)))
	return det, nil
}

// loadSAM resolves and loads SAM with progress lines; the pipeline it
// returns has no detector.
func (c *cli) loadSAM(ctx context.Context, lo groundedsam.LoadOptions) (*groundedsam.Pipeline, error) {
	start := time.Now()
	dir, err := c.resolve(ctx, "SAM", lo.SAMDir, lo.SAM, groundedsam.DefaultSAM, func() (string, error) { return groundedsam.ResolveSAM(ctx, lo) })
	if err != nil {
		return nil, err
	}
	m, p, err := groundedsam.LoadSAM(ctx, groundedsam.LoadOptions{SAMDir: dir})
	if err != nil {
		return nil, err
	}
	c.progress("loaded SAM in %s", seconds(time.Since(start)))
	return &groundedsam.Pipeline{SAM: m, SAMProcessor: p}, nil
}

func (c *cli) resolve(ctx context.Context, what, dir, repo, def string, fn func() (string, error)) (string, error) {
	if dir != "" {
		c.progress("loading %s from %s", what, dir)
	} else {
		if repo == "" {
			repo = def
		}
		c.progress("loading %s from the Hub: %s (downloaded once into the Hub cache)", what, repo)
	}
	return fn()
}
