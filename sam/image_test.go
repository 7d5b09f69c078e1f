package sam

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/gsam-go/gsam/internal/fixture"
	"github.com/gsam-go/gsam/parity"
	"github.com/gsam-go/gsam/processor"
)

// TestSetImage runs the whole path from the PNG: SamProcessor, encoder,
// a box prompt in original pixels, post-processing.
func TestSetImage(t *testing.T) {
	m := loadFixtureModel(t)
	c := loadCase(t)
	f := fixture.Tensors(t, "sam/case/tensors.safetensors")
	img, err := processor.LoadImage(filepath.Join(fixture.Dir(t, "sam"), "image_chelsea.png"))
	if err != nil {
		t.Fatal(err)
	}
	p := NewPredictor(m)
	ctx := context.Background()
	if err := p.SetImage(ctx, img); err != nil {
		t.Fatal(err)
	}
	st := p.image
	if st.original != (Size{c.OriginalHW[0], c.OriginalHW[1]}) || st.reshaped != (Size{c.ResizedHW[0], c.ResizedHW[1]}) {
		t.Fatalf("sizes %v %v, want %v %v", st.original, st.reshaped, c.OriginalHW, c.ResizedHW)
	}
	check(t, f, "image_embeddings", st.emb.Embeddings)
	res, err := p.Predict(ctx, toOriginal(t, c, 3))
	if err != nil {
		t.Fatal(err)
	}
	want, ws := fixture.Int(t, f, "p3.post_masks")
	var got []int64
	for _, ms := range res.Masks {
		for _, b := range ms[0].Pix {
			v := int64(0)
			if b {
				v = 1
			}
			got = append(got, v)
		}
	}
	r := parity.CompareFraction("p3.post_masks", got, ws, want, ws, 0.995)
	if !r.OK() {
		t.Error(r.String())
	} else {
		t.Log(r.String())
	}
}

// TestGenerateWithCrops runs the automatic generator on the PNG with one
// layer of crops (four crops plus the whole image).
func TestGenerateWithCrops(t *testing.T) {
	m := loadFixtureModel(t)
	img, err := processor.LoadImage(filepath.Join(fixture.Dir(t, "sam"), "image_chelsea.png"))
	if err != nil {
		t.Fatal(err)
	}
	g := NewAutomaticMaskGenerator(m)
	g.Options.PointsPerSide, g.Options.CropNLayers = 4, 1
	g.Options.PredIOUThresh, g.Options.StabilityScoreThresh = 0, 0
	masks, err := g.Generate(context.Background(), img)
	if err != nil {
		t.Fatal(err)
	}
	b := img.Bounds()
	crops := map[[4]int]bool{}
	for i, am := range masks {
		if am.Segmentation.Width != b.Dx() || am.Segmentation.Height != b.Dy() || am.Area != am.Segmentation.Area() {
			t.Fatalf("mask %d malformed", i)
		}
		crops[am.CropBox] = true
	}
	t.Logf("%d masks from %d distinct crops", len(masks), len(crops))
}
