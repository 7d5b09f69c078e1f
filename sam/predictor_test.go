package sam

import (
	"context"
	"fmt"
	"math"
	"strings"
	"sync"
	"testing"

	"github.com/gsam-go/gsam/internal/fixture"
	"github.com/gsam-go/gsam/nn"
	"github.com/gsam-go/gsam/parity"
)

// fixturePredictor embeds the fixture's pixel values for the 300×451 image.
func fixturePredictor(t *testing.T) (*Predictor, caseInfo) {
	t.Helper()
	m := loadFixtureModel(t)
	c := loadCase(t)
	f := fixture.Tensors(t, "sam/case/tensors.safetensors")
	p := NewPredictor(m)
	orig := Size{c.OriginalHW[0], c.OriginalHW[1]}
	if r := ResizedSize(orig, 128); r != (Size{c.ResizedHW[0], c.ResizedHW[1]}) {
		t.Fatalf("ResizedSize %v, want %v", r, c.ResizedHW)
	}
	if err := p.SetPixels(context.Background(), fixture.Float(t, f, "input.pixel_values"), orig); err != nil {
		t.Fatal(err)
	}
	return p, c
}

// toOriginal maps fixture prompts (resized frame) back to original pixels.
func toOriginal(t *testing.T, c caseInfo, n int) Prompt {
	f := fixture.Tensors(t, "sam/case/tensors.safetensors")
	ps := fixturePrompts(t, f, n)
	sx := float64(c.OriginalHW[1]) / float64(c.ResizedHW[1])
	sy := float64(c.OriginalHW[0]) / float64(c.ResizedHW[0])
	var pr Prompt
	if ps.Points != nil {
		for j, pt := range ps.Points[0] {
			pr.Points = append(pr.Points, [2]float64{float64(pt[0]) * sx, float64(pt[1]) * sy})
			pr.Labels = append(pr.Labels, ps.Labels[0][j])
		}
	}
	for _, b := range ps.Boxes {
		pr.Boxes = append(pr.Boxes, [4]float64{float64(b[0]) * sx, float64(b[1]) * sy, float64(b[2]) * sx, float64(b[3]) * sy})
	}
	pr.MaskInput = ps.Masks
	pr.Multimask = c.Prompts[n].Multimask
	return pr
}

func TestPredictorParity(t *testing.T) {
	p, c := fixturePredictor(t)
	f := fixture.Tensors(t, "sam/case/tensors.safetensors")
	for n := range c.Prompts {
		res, err := p.Predict(context.Background(), toOriginal(t, c, n))
		if err != nil {
			t.Fatal(err)
		}
		pre := fmt.Sprintf("p%d.", n)
		check(t, f, pre+"pred_masks", res.LowRes)
		var iou []float32
		var bits []int64
		for i := range res.Masks {
			iou = append(iou, res.Scores[i]...)
			for _, m := range res.Masks[i] {
				for _, b := range m.Pix {
					v := int64(0)
					if b {
						v = 1
					}
					bits = append(bits, v)
				}
			}
		}
		check(t, f, pre+"iou_scores", nn.FromData(iou, len(iou)))
		want, ws := fixture.Int(t, f, pre+"post_masks")
		r := parity.CompareFraction(pre+"post_masks", bits, ws, want, ws, 0.995)
		if !r.OK() {
			t.Error(r.String())
		}
	}
}

func TestConcurrentPredict(t *testing.T) {
	p, c := fixturePredictor(t)
	ctx := context.Background()
	prompts := []Prompt{
		{Points: [][2]float64{{200, 150}}, Multimask: true},
		{Boxes: [][4]float64{{30, 40, 350, 280}, {100, 20, 250, 200}}},
		{Points: [][2]float64{{100, 100}, {300, 200}}, Labels: []int{1, 0}},
		toOriginal(t, c, 5),
	}
	want := make([]*Result, len(prompts))
	for i, pr := range prompts {
		r, err := p.Predict(ctx, pr)
		if err != nil {
			t.Fatal(err)
		}
		want[i] = r
	}
	var wg sync.WaitGroup
	errs := make(chan error, 32)
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			for rep := 0; rep < 3; rep++ {
				i := (g + rep) % len(prompts)
				r, err := p.Predict(ctx, prompts[i])
				if err != nil {
					errs <- err
					return
				}
				a, b := nn.Data(r.LowRes), nn.Data(want[i].LowRes)
				for j := range a {
					if a[j] != b[j] {
						errs <- fmt.Errorf("goroutine %d prompt %d: logit %d = %g, sequential %g", g, i, j, a[j], b[j])
						return
					}
				}
			}
		}(g)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

func TestPredictorBadInput(t *testing.T) {
	m := loadFixtureModel(t)
	ctx := context.Background()
	if _, err := NewPredictor(m).Predict(ctx, Prompt{Points: [][2]float64{{1, 1}}}); err != ErrNoImage {
		t.Errorf("no image: got %v", err)
	}
	p, _ := fixturePredictor(t)
	nan := math.NaN()
	cases := map[string]Prompt{
		"empty":          {},
		"nan point":      {Points: [][2]float64{{nan, 3}}},
		"inf box":        {Boxes: [][4]float64{{0, 0, math.Inf(1), 10}}},
		"box outside":    {Boxes: [][4]float64{{10, 10, 500, 100}}},
		"inverted box":   {Boxes: [][4]float64{{100, 10, 50, 100}}},
		"label count":    {Points: [][2]float64{{1, 1}}, Labels: []int{1, 0}},
		"bad label":      {Points: [][2]float64{{1, 1}}, Labels: []int{7}},
		"bad mask input": {Points: [][2]float64{{1, 1}}, MaskInput: nn.New(1, 1, 10, 10)},
	}
	for name, pr := range cases {
		if _, err := p.Predict(ctx, pr); err == nil {
			t.Errorf("%s: no error", name)
		} else if !strings.HasPrefix(err.Error(), "sam: ") {
			t.Errorf("%s: error %q lacks the package prefix", name, err)
		}
	}
	if _, err := m.Embed(ctx, nn.New(1, 3, 64, 64)); err == nil {
		t.Error("wrong pixel size: no error")
	}
	if _, err := PostProcessMasks(nn.New(1, 1, 4, 4), 16, Size{20, 10}, Size{5, 5}); err == nil {
		t.Error("reshaped larger than pad: no error")
	}
}

func TestPredictorRefineWithLowRes(t *testing.T) {
	p, _ := fixturePredictor(t)
	ctx := context.Background()
	r, err := p.Predict(ctx, Prompt{Points: [][2]float64{{200, 150}}, Multimask: true})
	if err != nil {
		t.Fatal(err)
	}
	// Feed the best mask back, as SamPredictor users do.
	best := 0
	for k, s := range r.Scores[0] {
		if s > r.Scores[0][best] {
			best = k
		}
	}
	g := nn.Shape(r.LowRes)[2]
	mask := nn.FromData(append([]float32(nil), nn.Data(r.LowRes)[best*g*g:(best+1)*g*g]...), 1, 1, g, g)
	r2, err := p.Predict(ctx, Prompt{Points: [][2]float64{{200, 150}}, MaskInput: mask})
	if err != nil {
		t.Fatal(err)
	}
	if len(r2.Masks) != 1 || len(r2.Masks[0]) != 1 || r2.Masks[0][0].Width != 451 || r2.Masks[0][0].Height != 300 {
		t.Fatalf("refined result has the wrong shape")
	}
}
