package groundingdino

import (
	"context"
	"errors"
	"image"
	"image/color"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gsam-go/gsam/internal/fixture"
	"github.com/gsam-go/gsam/internal/leak"
	"github.com/gsam-go/gsam/weights"
)

// smallDetector is the fixture detector with a processor that resizes to
// 64–96 pixels instead of 800–1333, so each Detect takes a fraction of a
// second: these tests check behaviour, not parity.
func smallDetector(t *testing.T) (*Detector, image.Image) {
	t.Helper()
	d, img := loadDetector(t)
	p := *d.Processor
	p.ShortestEdge, p.LongestEdge = 64, 96
	small := *d
	small.Processor = &p
	return &small, img
}

// copyModelDir links (or copies) every file of a fixture model folder into a
// temp dir, leaving out the names in skip.
func copyModelDir(t *testing.T, src string, skip ...string) string {
	t.Helper()
	dst := t.TempDir()
	entries, err := os.ReadDir(src)
	if err != nil {
		t.Fatal(err)
	}
next:
	for _, e := range entries {
		for _, s := range skip {
			if e.Name() == s {
				continue next
			}
		}
		if e.IsDir() {
			continue
		}
		b, err := os.ReadFile(filepath.Join(src, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dst, e.Name()), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dst
}

// TestLoadMissingFiles: a model folder without its config, weights or
// tokenizer is an error that names what is missing.
func TestLoadMissingFiles(t *testing.T) {
	src := fixture.Dir(t, "gdino_swin_single")
	for _, tc := range []struct {
		skip []string
		want string
	}{
		{[]string{"config.json"}, "config.json"},
		{[]string{"model.safetensors"}, "model.safetensors"},
		{[]string{"tokenizer.json", "vocab.txt"}, "neither tokenizer.json nor vocab.txt"},
	} {
		_, err := Load(copyModelDir(t, src, tc.skip...))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("without %v: got %v, want an error naming %q", tc.skip, err, tc.want)
		}
	}
	if _, err := Load(filepath.Join(t.TempDir(), "nope")); err == nil {
		t.Error("absent folder accepted")
	}
}

// TestLoadTruncatedWeights: a model.safetensors cut short is refused with
// the file named.
func TestLoadTruncatedWeights(t *testing.T) {
	dir := copyModelDir(t, fixture.Dir(t, "gdino_swin_single"))
	p := filepath.Join(dir, "model.safetensors")
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range []int{0, 6, 100, len(b) / 2, len(b) - 1} {
		if err := os.WriteFile(p, b[:n], 0o644); err != nil {
			t.Fatal(err)
		}
		if _, err := Load(dir); err == nil || !strings.Contains(err.Error(), "model.safetensors") {
			t.Errorf("weights cut to %d bytes: %v", n, err)
		}
	}
}

// TestLoadConfigMismatch: a config.json whose sizes disagree with the
// weights (d_model 64 → 96, text hidden_size 64 → 32) gives one mismatch
// error listing the mis-shaped keys of every stage.
func TestLoadConfigMismatch(t *testing.T) {
	dir := copyModelDir(t, fixture.Dir(t, "gdino_swin_single"))
	cfgPath := filepath.Join(dir, "config.json")
	raw, err := os.ReadFile(cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	edited := strings.Replace(string(raw), `"d_model": 64`, `"d_model": 96`, 1)
	if edited == string(raw) {
		t.Fatal("fixture config has no d_model 64")
	}
	if err := os.WriteFile(cfgPath, []byte(edited), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err = Load(dir)
	if !weights.IsMismatch(err) {
		t.Fatalf("want a weights mismatch, got %v", err)
	}
	msg := err.Error()
	for _, key := range []string{"model.text_projection.weight", "model.level_embed", "model.encoder.layers.0.", "model.decoder.layers.0.", "model.input_proj_vision.0."} {
		if !strings.Contains(msg, "shape:   "+key) {
			t.Errorf("mismatch error does not name %s", key)
		}
	}
	if n := strings.Count(msg, "\n  shape:"); n < 20 {
		t.Errorf("only %d mis-shaped keys listed", n)
	}
	var m *weights.MismatchError
	if errors.As(err, &m) && len(m.Shape) == 0 {
		t.Error("MismatchError.Shape is empty")
	}
}

// hugeImage announces 100000×100000 pixels and has none: a processor that
// touched its pixels before checking the limit would spin for hours.
type hugeImage struct{ t *testing.T }

func (hugeImage) ColorModel() color.Model { return color.GrayModel }
func (hugeImage) Bounds() image.Rectangle { return image.Rect(0, 0, 100000, 100000) }
func (h hugeImage) At(x, y int) color.Color {
	h.t.Fatal("pixel of an over-limit image read")
	return nil
}

// TestDetectBadImages: a zero-size image, a nil image and one over the
// pixel limit are refused before any model work.
func TestDetectBadImages(t *testing.T) {
	d, img := smallDetector(t)
	ctx := context.Background()
	pr := Prompt{Caption: "a cat ."}
	for name, imgs := range map[string][]image.Image{
		"zero width":  {image.NewRGBA(image.Rect(0, 0, 0, 10))},
		"zero height": {img, image.NewGray(image.Rect(0, 0, 10, 0))},
		"nil":         {nil},
		"huge":        {hugeImage{t}},
	} {
		start := time.Now()
		_, err := d.Detect(ctx, imgs, pr, Options{})
		if err == nil {
			t.Errorf("%s: accepted", name)
			continue
		}
		if name == "huge" && !strings.Contains(err.Error(), "limit") {
			t.Errorf("huge: error %q does not mention the pixel limit", err)
		}
		if el := time.Since(start); el > 5*time.Second {
			t.Errorf("%s: refused after %v", name, el)
		}
	}
}

// colorVariants returns img in the colour models decoders produce. Every
// variant has the same 8-bit RGB (grey variants the same grey), so
// detections must be identical within each group.
func colorVariants(img image.Image) (rgb map[string]image.Image, grey map[string]image.Image) {
	b := img.Bounds()
	nrgba, rgba64, alpha := image.NewNRGBA(b), image.NewRGBA64(b), image.NewNRGBA(b)
	gray, gray16, cmykGrey := image.NewGray(b), image.NewGray16(b), image.NewCMYK(b)
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			c := color.NRGBAModel.Convert(img.At(x, y)).(color.NRGBA)
			c.A = 255
			nrgba.SetNRGBA(x, y, c)
			rgba64.SetRGBA64(x, y, color.RGBA64{uint16(c.R)<<8 | uint16(c.R), uint16(c.G)<<8 | uint16(c.G), uint16(c.B)<<8 | uint16(c.B), 0xffff})
			// Alpha is dropped, not composited (PIL's convert("RGB")).
			alpha.SetNRGBA(x, y, color.NRGBA{c.R, c.G, c.B, uint8(x * 7)})
			g := c.G
			gray.SetGray(x, y, color.Gray{g})
			gray16.SetGray16(x, y, color.Gray16{uint16(g)<<8 | 0x7f})
			cmykGrey.SetCMYK(x, y, color.CMYK{0, 0, 0, 255 - g})
		}
	}
	return map[string]image.Image{"nrgba": nrgba, "rgba64": rgba64, "nrgba with alpha": alpha},
		map[string]image.Image{"gray": gray, "gray16": gray16, "cmyk": cmykGrey}
}

// TestDetectColorModels runs grey, 16-bit, alpha and CMYK images through
// Detect: each gives the detections of its 8-bit RGB equivalent.
func TestDetectColorModels(t *testing.T) {
	d, img := smallDetector(t)
	ctx := context.Background()
	pr, opt := Prompt{Caption: "a cat . a remote control ."}, Options{BoxThreshold: 0.5}
	for _, group := range func() []map[string]image.Image { a, b := colorVariants(img); return []map[string]image.Image{a, b} }() {
		var ref []Detection
		var refName string
		for name, m := range group {
			res, err := d.Detect(ctx, []image.Image{m}, pr, opt)
			if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			if ref == nil {
				ref, refName = res[0], name
				if len(ref) == 0 {
					t.Fatalf("%s: no detections to compare", name)
				}
				continue
			}
			if len(res[0]) != len(ref) {
				t.Errorf("%s: %d detections, %s %d", name, len(res[0]), refName, len(ref))
				continue
			}
			for i := range ref {
				if res[0][i] != ref[i] {
					t.Errorf("%s: detection %d %+v, %s %+v", name, i, res[0][i], refName, ref[i])
					break
				}
			}
		}
	}
}

// TestDetectOddPrompts: prompts of only punctuation or whitespace, an empty
// label, a caption far over 256 tokens (cut at max_text_len) and a label
// list over 256 tokens (split into passes) either work or are refused with
// an error; none panics or exceeds the model's text length.
func TestDetectOddPrompts(t *testing.T) {
	d, img := smallDetector(t)
	ctx := context.Background()
	long := strings.Repeat("a small red cat . ", 200)
	var many []string
	for i := 0; i < 150; i++ {
		many = append(many, []string{"cat", "remote control", "dog on a bench"}[i%3])
	}
	for name, tc := range map[string]struct {
		p      Prompt
		refuse bool
	}{
		"empty":            {Prompt{}, true},
		"spaces":           {Prompt{Caption: "   \t\n "}, true},
		"dots":             {Prompt{Caption: "...."}, true},
		"question marks":   {Prompt{Caption: "? . ?"}, true},
		"punctuation":      {Prompt{Caption: "!!! ,,, ;;; --"}, false},
		"empty label":      {Prompt{Labels: []string{""}}, true},
		"punct label":      {Prompt{Labels: []string{"!!", "(cat)", "cat"}}, false},
		"label with dot":   {Prompt{Labels: []string{"a.b"}}, true},
		"long caption":     {Prompt{Caption: long}, false},
		"long label list":  {Prompt{Labels: many}, false},
		"unicode":          {Prompt{Caption: "猫 . 🐈 . café"}, false},
		"control chars":    {Prompt{Caption: "cat\x00\x01 . dog\u200b"}, false},
		"one huge label":   {Prompt{Labels: []string{long}}, true}, // a label cannot be split
		"caption + labels": {Prompt{Caption: "cat", Labels: []string{"cat"}}, true},
	} {
		passes, perr := d.passes(tc.p)
		for _, lb := range passes {
			if n := len(lb.Encoding.InputIDs); n > d.Model.Config.MaxTextLen {
				t.Errorf("%s: pass of %d tokens > max_text_len", name, n)
			}
		}
		if name == "long label list" && len(passes) < 2 {
			t.Errorf("long label list: %d pass(es)", len(passes))
		}
		if name == "long caption" && (perr != nil || len(passes) != 1 || len(passes[0].Encoding.InputIDs) != d.Model.Config.MaxTextLen) {
			t.Errorf("long caption: %v, passes %d", perr, len(passes))
		}
		res, err := d.Detect(ctx, []image.Image{img}, tc.p, Options{BoxThreshold: 0.5})
		switch {
		case tc.refuse && err == nil:
			t.Errorf("%s: accepted", name)
		case !tc.refuse && err != nil:
			t.Errorf("%s: %v", name, err)
		case err == nil:
			for _, det := range res[0] {
				if tc.p.Labels != nil && det.LabelIndex >= len(tc.p.Labels) {
					t.Errorf("%s: label index %d of %d labels", name, det.LabelIndex, len(tc.p.Labels))
				}
			}
		}
		if err != nil {
			if msg := err.Error(); len(msg) > 200 {
				t.Logf("%s: %s… (%d bytes)", name, msg[:200], len(msg))
			} else {
				t.Logf("%s: %v", name, err)
			}
		}
	}
}

// TestDetectCancelled: a cancelled context makes Detect return ctx.Err()
// without running the model, and a context cancelled mid-run makes it return
// within a generous bound of a full run's time; no goroutines are left.
func TestDetectCancelled(t *testing.T) {
	d, img := loadDetector(t) // full 800-pixel input: a run long enough to cut
	pr := Prompt{Caption: "a cat . a remote control ."}
	base := runtime.NumGoroutine()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	start := time.Now()
	if _, err := d.Detect(ctx, []image.Image{img}, pr, Options{}); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled context: %v", err)
	}
	pre := time.Since(start)

	start = time.Now()
	if _, err := d.Detect(context.Background(), []image.Image{img}, pr, Options{}); err != nil {
		t.Fatal(err)
	}
	full := time.Since(start)
	if pre > full/2+time.Second {
		t.Errorf("pre-cancelled call took %v, a full run %v", pre, full)
	}

	ctx, cancel = context.WithCancel(context.Background())
	time.AfterFunc(full/4, cancel)
	start = time.Now()
	_, err := d.Detect(ctx, []image.Image{img}, pr, Options{})
	el := time.Since(start)
	cancel()
	if err != nil && !errors.Is(err, context.Canceled) {
		t.Fatalf("mid-run cancel: %v", err)
	}
	// Stages check the context between them: the call ends by the end of the
	// stage it was in. Allow the whole run plus slack for a loaded machine.
	if err != nil && el > 2*full+2*time.Second {
		t.Errorf("cancelled after %v, returned after %v (full run %v)", full/4, el, full)
	}
	t.Logf("full run %v, pre-cancelled %v, cancelled at %v returned after %v (err %v)", full, pre, full/4, el, err)
	if n := leak.Settle(base); n > base {
		t.Errorf("%d goroutines before, %d after", base, n)
	}
}

// TestConcurrentDetectMixed runs captions, label lists and batches on one
// shared detector from many goroutines; every result equals the sequential
// one, and no goroutine outlives the calls (some are cancelled).
func TestConcurrentDetectMixed(t *testing.T) {
	d, img := smallDetector(t)
	variants, _ := colorVariants(img)
	other := variants["nrgba with alpha"]
	type job struct {
		imgs []image.Image
		p    Prompt
	}
	jobs := []job{
		{[]image.Image{img}, Prompt{Caption: "a cat . a remote control ."}},
		{[]image.Image{img, other}, Prompt{Labels: []string{"cat", "remote control"}}},
		{[]image.Image{other}, Prompt{Caption: "astronaut"}},
		{[]image.Image{img}, Prompt{Labels: []string{"dog", "bench", "rocket"}}},
	}
	opt := Options{BoxThreshold: 0.5, NMSThreshold: 0.7}
	want := make([][][]Detection, len(jobs))
	for i, j := range jobs {
		r, err := d.Detect(context.Background(), j.imgs, j.p, opt)
		if err != nil {
			t.Fatal(err)
		}
		want[i] = r
	}
	base := runtime.NumGoroutine()
	var wg sync.WaitGroup
	errs := make(chan string, 64)
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			for rep := 0; rep < 2; rep++ {
				i := (g + rep) % len(jobs)
				ctx := context.Background()
				if g%4 == 3 && rep == 1 { // a cancelled call among the others
					c, cancel := context.WithCancel(ctx)
					cancel()
					ctx = c
				}
				got, err := d.Detect(ctx, jobs[i].imgs, jobs[i].p, opt)
				if ctx.Err() != nil {
					if !errors.Is(err, context.Canceled) {
						errs <- "cancelled call: " + errString(err)
					}
					continue
				}
				if err != nil {
					errs <- err.Error()
					return
				}
				for b := range got {
					if len(got[b]) != len(want[i][b]) {
						errs <- "different number of detections"
						return
					}
					for k := range got[b] {
						if got[b][k] != want[i][b][k] {
							errs <- "different detection"
							return
						}
					}
				}
			}
		}(g)
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
	if n := leak.Settle(base); n > base {
		t.Errorf("%d goroutines before, %d after", base, n)
	}
}

func errString(err error) string {
	if err == nil {
		return "<nil>"
	}
	return err.Error()
}

// TestDetectHeapStable runs Detect many times on the fixture model and
// checks the live heap after GC does not grow (a cache or pool keyed by call
// would show here). Slack: 8 MiB or 25%.
func TestDetectHeapStable(t *testing.T) {
	d, img := smallDetector(t)
	ctx := context.Background()
	pr := Prompt{Caption: "a cat . a remote control ."}
	heap := func() uint64 {
		var ms runtime.MemStats
		runtime.GC()
		runtime.GC()
		runtime.ReadMemStats(&ms)
		return ms.HeapAlloc
	}
	run := func(n int) {
		for i := 0; i < n; i++ {
			if _, err := d.Detect(ctx, []image.Image{img}, pr, Options{}); err != nil {
				t.Fatal(err)
			}
		}
	}
	run(3) // warm up pools and lazily built tables
	before := heap()
	run(20)
	after := heap()
	runtime.KeepAlive(d) // the model must count in both measurements
	t.Logf("live heap %0.1f MiB → %0.1f MiB over 20 calls", float64(before)/(1<<20), float64(after)/(1<<20))
	if after > before+8<<20 && after > before+before/4 {
		t.Errorf("live heap grew from %d to %d bytes over 20 calls", before, after)
	}
}
