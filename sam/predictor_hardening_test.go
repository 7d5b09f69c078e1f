package sam

import (
	"context"
	"errors"
	"image"
	"image/color"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gsam-go/gsam/internal/fixture"
	"github.com/gsam-go/gsam/internal/leak"
	"github.com/gsam-go/gsam/nn"
	"github.com/gsam-go/gsam/processor"
	"github.com/gsam-go/gsam/weights"
)

func copySAMDir(t *testing.T, skip string) string {
	t.Helper()
	src, dst := fixture.Dir(t, "sam"), t.TempDir()
	for _, name := range []string{"config.json", "model.safetensors"} {
		if name == skip {
			continue
		}
		b, err := os.ReadFile(filepath.Join(src, name))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dst, name), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dst
}

// TestLoadMissingFiles: a SAM folder without config.json or weights is an
// error naming the missing file.
func TestLoadMissingFiles(t *testing.T) {
	for _, name := range []string{"config.json", "model.safetensors"} {
		_, err := Load(copySAMDir(t, name))
		if err == nil || !strings.Contains(err.Error(), name) {
			t.Errorf("without %s: %v", name, err)
		}
	}
}

// TestLoadBadWeights: truncated weights are refused naming the file; a
// config edited to another size (vision hidden_size 64 → 128, mlp_dim
// 128 → 96) gives one mismatch listing the keys of every vision layer.
func TestLoadBadWeights(t *testing.T) {
	dir := copySAMDir(t, "")
	p := filepath.Join(dir, "model.safetensors")
	b, _ := os.ReadFile(p)
	if err := os.WriteFile(p, b[:len(b)-9], 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(dir); err == nil || !strings.Contains(err.Error(), "model.safetensors") {
		t.Errorf("truncated weights: %v", err)
	}
	dir = copySAMDir(t, "")
	cp := filepath.Join(dir, "config.json")
	raw, _ := os.ReadFile(cp)
	c, err := ParseConfig(raw)
	if err != nil {
		t.Fatal(err)
	}
	c.VisionConfig.HiddenSize, c.VisionConfig.MLPDim = 128, 96
	edited := strings.Replace(string(raw), `"hidden_size": 64`, `"hidden_size": 128`, 1)
	edited = strings.Replace(edited, `"mlp_dim": 128`, `"mlp_dim": 96`, 1)
	if edited == string(raw) {
		t.Fatal("fixture config not as expected")
	}
	if err := os.WriteFile(cp, []byte(edited), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err = Load(dir)
	if !weights.IsMismatch(err) {
		t.Fatalf("want a mismatch, got %v", err)
	}
	for i := 0; i < c.VisionConfig.NumHiddenLayers; i++ {
		for _, k := range []string{".attn.qkv.weight", ".mlp.lin1.weight", ".layer_norm1.weight"} {
			key := "vision_encoder.layers." + string(rune('0'+i)) + k
			if !strings.Contains(err.Error(), "shape:   "+key) {
				t.Errorf("mismatch does not name %s", key)
			}
		}
	}
}

// TestSetImageBadImages: nil, zero-size and over-limit images are refused
// before any pixel is read, and the previous image stays set.
func TestSetImageBadImages(t *testing.T) {
	p := NewPredictor(loadFixtureModel(t))
	ctx := context.Background()
	good := image.NewGray(image.Rect(0, 0, 40, 30))
	if err := p.SetImage(ctx, good); err != nil {
		t.Fatal(err)
	}
	for name, img := range map[string]image.Image{
		"nil":         nil,
		"zero width":  image.NewRGBA(image.Rect(0, 0, 0, 8)),
		"zero height": image.NewGray16(image.Rect(3, 3, 9, 3)),
		"huge":        hugeImage{t},
	} {
		err := p.SetImage(ctx, img)
		if err == nil || !strings.HasPrefix(err.Error(), "sam: ") {
			t.Errorf("%s: %v", name, err)
		}
		if name == "huge" && !strings.Contains(errString(err), "limit") {
			t.Errorf("huge: %v does not mention the pixel limit", err)
		}
	}
	if _, err := p.Predict(ctx, Prompt{Points: [][2]float64{{5, 5}}}); err != nil {
		t.Errorf("previous image lost: %v", err)
	}
	if p.image.original != (Size{30, 40}) {
		t.Errorf("image replaced: %v", p.image.original)
	}
}

type hugeImage struct{ t *testing.T }

func (hugeImage) ColorModel() color.Model { return color.GrayModel }
func (hugeImage) Bounds() image.Rectangle { return image.Rect(0, 0, 100000, 100000) }
func (h hugeImage) At(x, y int) color.Color {
	h.t.Fatal("pixel of an over-limit image read")
	return nil
}

func errString(err error) string {
	if err == nil {
		return "<nil>"
	}
	return err.Error()
}

// TestSetImageColorModels: grey, 16-bit grey, alpha, RGBA64, CMYK and
// paletted images embed exactly as their 8-bit RGB equivalent.
func TestSetImageColorModels(t *testing.T) {
	m := loadFixtureModel(t)
	img, err := processor.LoadImage(filepath.Join(fixture.Dir(t, "sam"), "image_chelsea.png"))
	if err != nil {
		t.Fatal(err)
	}
	b := img.Bounds()
	ctx := context.Background()
	embed := func(m2 image.Image) []float32 {
		p := NewPredictor(m)
		if err := p.SetImage(ctx, m2); err != nil {
			t.Fatal(err)
		}
		return nn.Data(p.image.emb.Embeddings)
	}
	rgb, rgba64, alpha := image.NewNRGBA(b), image.NewRGBA64(b), image.NewNRGBA(b)
	grey, gray, gray16, cmyk := image.NewNRGBA(b), image.NewGray(b), image.NewGray16(b), image.NewCMYK(b)
	pal := image.NewPaletted(b, color.Palette{color.Black, color.NRGBA{200, 100, 50, 255}, color.White})
	palRGB := image.NewNRGBA(b)
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			c := color.NRGBAModel.Convert(img.At(x, y)).(color.NRGBA)
			c.A = 255
			rgb.SetNRGBA(x, y, c)
			rgba64.SetRGBA64(x, y, color.RGBA64{uint16(c.R) * 0x101, uint16(c.G) * 0x101, uint16(c.B) * 0x101, 0xffff})
			alpha.SetNRGBA(x, y, color.NRGBA{c.R, c.G, c.B, uint8(y)})
			g := c.G
			grey.SetNRGBA(x, y, color.NRGBA{g, g, g, 255})
			gray.SetGray(x, y, color.Gray{g})
			gray16.SetGray16(x, y, color.Gray16{uint16(g)<<8 | 0x80})
			cmyk.SetCMYK(x, y, color.CMYK{0, 0, 0, 255 - g})
			i := uint8((x/7 + y/5) % 3)
			pal.SetColorIndex(x, y, i)
			palRGB.Set(x, y, pal.Palette[i])
		}
	}
	same := func(name string, a, b []float32) {
		for i := range a {
			if a[i] != b[i] {
				t.Errorf("%s: embedding %d = %g, want %g", name, i, a[i], b[i])
				return
			}
		}
	}
	ref := embed(rgb)
	same("rgba64", embed(rgba64), ref)
	same("nrgba with alpha", embed(alpha), ref)
	refGrey := embed(grey)
	same("gray", embed(gray), refGrey)
	same("gray16", embed(gray16), refGrey)
	same("cmyk", embed(cmyk), refGrey)
	same("paletted", embed(pal), embed(palRGB))
}

// TestPredictOddPrompts: points outside the image are allowed (SAM embeds
// any position) and give full-size masks; huge finite coordinates, boxes of
// zero area, negative labels and many points do not panic.
func TestPredictOddPrompts(t *testing.T) {
	p, c := fixturePredictor(t)
	ctx := context.Background()
	H, W := c.OriginalHW[0], c.OriginalHW[1]
	ok := map[string]Prompt{
		"point left of image":  {Points: [][2]float64{{-50, 10}}},
		"point below image":    {Points: [][2]float64{{10, float64(H) + 500}}},
		"huge point":           {Points: [][2]float64{{1e30, -1e30}}},
		"zero-area box":        {Boxes: [][4]float64{{20, 20, 20, 20}}},
		"box = image":          {Boxes: [][4]float64{{0, 0, float64(W), float64(H)}}},
		"background only":      {Points: [][2]float64{{10, 10}}, Labels: []int{0}},
		"not-a-point label":    {Points: [][2]float64{{10, 10}, {1, 1}}, Labels: []int{1, LabelNotAPoint}},
		"64 points":            {Points: make([][2]float64, 64)},
		"points and two boxes": {Points: [][2]float64{{5, 5}}, Boxes: [][4]float64{{0, 0, 10, 10}, {5, 5, 50, 60}}, Multimask: true},
	}
	for name, pr := range ok {
		res, err := p.Predict(ctx, pr)
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		for _, ms := range res.Masks {
			for _, m := range ms {
				if m.Width != W || m.Height != H || len(m.Pix) != W*H {
					t.Errorf("%s: mask %dx%d", name, m.Width, m.Height)
				}
			}
		}
		for _, s := range res.Scores {
			for _, v := range s {
				if math.IsNaN(float64(v)) {
					t.Errorf("%s: NaN score", name)
				}
			}
		}
	}
	inf := math.Inf(-1)
	bad := map[string]Prompt{
		"-inf point":       {Points: [][2]float64{{inf, 1}}},
		"nan box":          {Boxes: [][4]float64{{0, math.NaN(), 5, 5}}},
		"box right of img": {Boxes: [][4]float64{{float64(W) + 1, 0, float64(W) + 5, 5}}},
		"negative box":     {Boxes: [][4]float64{{-5, -5, -1, -1}}},
		"inverted y":       {Boxes: [][4]float64{{0, 50, 10, 10}}},
		"nan mask input":   {Points: [][2]float64{{1, 1}}, MaskInput: nn.FromData(nanSlice(4*8*4*8), 1, 1, 32, 32)},
		"label 2":          {Points: [][2]float64{{1, 1}}, Labels: []int{2}},
	}
	for name, pr := range bad {
		if _, err := p.Predict(ctx, pr); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

func nanSlice(n int) []float32 {
	s := make([]float32, n)
	s[n/2] = float32(math.NaN())
	return s
}

// mediumModel is a random-weight SAM large enough (256-pixel input, 4
// layers of width 128) that its encoder takes long enough to cancel.
func mediumModel(t *testing.T) *Model {
	c := DefaultConfig()
	v := &c.VisionConfig
	v.HiddenSize, v.NumHiddenLayers, v.NumAttentionHeads, v.MLPDim, v.ImageSize, v.WindowSize = 128, 4, 4, 512, 512, 8
	v.GlobalAttnIndexes = []int{3}
	c.PromptEncoderConfig.ImageSize, c.PromptEncoderConfig.ImageEmbeddingSize = 512, 32
	m, err := New(c)
	if err != nil {
		t.Fatal(err)
	}
	weights.Randomize(m, 1)
	m.Prepare()
	return m
}

// TestSetImageCancelled: a cancelled context makes SetImage return
// ctx.Err(), keep the previous image and leave no goroutines; a cancel
// during the encoder is reported too. The encoder does not check the
// context between layers, so the bound is a generous multiple of a run.
func TestSetImageCancelled(t *testing.T) {
	m := mediumModel(t)
	p := NewPredictor(m)
	img := image.NewGray(image.Rect(0, 0, 300, 200))
	for i := range img.Pix {
		img.Pix[i] = uint8(i * 31)
	}
	base := runtime.NumGoroutine()
	start := time.Now()
	if err := p.SetImage(context.Background(), img); err != nil {
		t.Fatal(err)
	}
	full := time.Since(start)
	first := p.image

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	start = time.Now()
	if err := p.SetImage(ctx, img); !errors.Is(err, context.Canceled) {
		t.Errorf("pre-cancelled: %v", err)
	}
	if el := time.Since(start); el > full/2+time.Second {
		t.Errorf("pre-cancelled SetImage took %v, a full one %v", el, full)
	}
	if _, err := p.Predict(ctx, Prompt{Points: [][2]float64{{1, 1}}}); !errors.Is(err, context.Canceled) {
		t.Errorf("Predict with a cancelled context: %v", err)
	}

	ctx, cancel = context.WithCancel(context.Background())
	time.AfterFunc(full/4, cancel)
	start = time.Now()
	err := p.SetImage(ctx, img)
	el := time.Since(start)
	cancel()
	if !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled after %v of a %v run: %v", full/4, full, err)
	}
	if el > 3*full+2*time.Second {
		t.Errorf("cancelled after %v, returned after %v (full run %v)", full/4, el, full)
	}
	if p.image != first {
		t.Error("a cancelled SetImage replaced the image")
	}
	t.Logf("full SetImage %v; cancelled at %v, returned after %v", full, full/4, el)
	if n := leak.Settle(base); n > base {
		t.Errorf("%d goroutines before, %d after", base, n)
	}
}

// TestConcurrentPredictWithSetImage: predictors sharing one model embed
// different images at once while others Predict on theirs; every result
// equals the sequential one, and a SetImage racing Predict on the same
// predictor gives each Predict one of the two images, whole.
func TestConcurrentPredictWithSetImage(t *testing.T) {
	m := loadFixtureModel(t)
	ctx := context.Background()
	imgs := make([]image.Image, 4)
	for i := range imgs {
		g := image.NewGray(image.Rect(0, 0, 60+20*i, 90-10*i))
		for j := range g.Pix {
			g.Pix[j] = uint8(j*(i+3) + i)
		}
		imgs[i] = g
	}
	pr := Prompt{Points: [][2]float64{{20, 30}}, Boxes: [][4]float64{{5, 5, 40, 50}}, Multimask: true}
	want := make([][]float32, len(imgs))
	for i, img := range imgs {
		p := NewPredictor(m)
		if err := p.SetImage(ctx, img); err != nil {
			t.Fatal(err)
		}
		r, err := p.Predict(ctx, pr)
		if err != nil {
			t.Fatal(err)
		}
		want[i] = nn.Data(r.LowRes)
	}
	base := runtime.NumGoroutine()
	shared := NewPredictor(m)
	if err := shared.SetImage(ctx, imgs[0]); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	errs := make(chan string, 64)
	equal := func(a, b []float32) bool {
		if len(a) != len(b) {
			return false
		}
		for i := range a {
			if a[i] != b[i] {
				return false
			}
		}
		return true
	}
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			i := g % len(imgs)
			p := NewPredictor(m)
			for rep := 0; rep < 2; rep++ {
				if err := p.SetImage(ctx, imgs[i]); err != nil {
					errs <- err.Error()
					return
				}
				r, err := p.Predict(ctx, pr)
				if err != nil {
					errs <- err.Error()
					return
				}
				if !equal(nn.Data(r.LowRes), want[i]) {
					errs <- "own predictor: result differs from the sequential one"
				}
				// The shared predictor flips between images 0 and 1.
				if g%2 == 0 {
					if err := shared.SetImage(ctx, imgs[rep%2]); err != nil {
						errs <- err.Error()
					}
				} else if r, err := shared.Predict(ctx, pr); err != nil {
					errs <- err.Error()
				} else if d := nn.Data(r.LowRes); !equal(d, want[0]) && !equal(d, want[1]) {
					errs <- "shared predictor: result of neither image"
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

// TestPredictHeapStable: many SetImage + Predict rounds on the fixture model
// leave the live heap where it was (8 MiB or 25% slack).
func TestPredictHeapStable(t *testing.T) {
	m := loadFixtureModel(t)
	p := NewPredictor(m)
	ctx := context.Background()
	img := image.NewGray(image.Rect(0, 0, 120, 90))
	run := func(n int) {
		for i := 0; i < n; i++ {
			if err := p.SetImage(ctx, img); err != nil {
				t.Fatal(err)
			}
			if _, err := p.Predict(ctx, Prompt{Boxes: [][4]float64{{1, 1, 60, 60}}, Multimask: true}); err != nil {
				t.Fatal(err)
			}
		}
	}
	heap := func() uint64 {
		var ms runtime.MemStats
		runtime.GC()
		runtime.GC()
		runtime.ReadMemStats(&ms)
		return ms.HeapAlloc
	}
	run(5)
	before := heap()
	run(50)
	after := heap()
	runtime.KeepAlive(p)
	t.Logf("live heap %0.1f MiB → %0.1f MiB over 50 rounds", float64(before)/(1<<20), float64(after)/(1<<20))
	if after > before+8<<20 && after > before+before/4 {
		t.Errorf("live heap grew from %d to %d bytes", before, after)
	}
}
