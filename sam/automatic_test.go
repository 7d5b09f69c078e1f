package sam

import (
	"context"
	"reflect"
	"testing"

	"github.com/gsam-go/gsam/internal/fixture"
)

func TestAutomaticMaskGeneratorMechanics(t *testing.T) {
	m := loadFixtureModel(t)
	c := loadCase(t)
	f := fixture.Tensors(t, "sam/case/tensors.safetensors")
	pixels := fixture.Float(t, f, "input.pixel_values")
	orig := Size{c.OriginalHW[0], c.OriginalHW[1]}
	ctx := context.Background()

	// Random weights predict low IoU: switch the quality filters off to see
	// the whole pipeline (5 points per batch leaves a remainder of 16 points).
	g := NewAutomaticMaskGenerator(m)
	g.Options.PointsPerSide, g.Options.PointsPerBatch = 4, 5
	g.Options.PredIOUThresh, g.Options.StabilityScoreThresh = 0, 0
	masks, err := g.GeneratePixels(ctx, pixels, orig)
	if err != nil {
		t.Fatal(err)
	}
	if len(masks) == 0 || len(masks) > 48 {
		t.Fatalf("%d masks from 16 points × 3", len(masks))
	}
	for i, am := range masks {
		s := am.Segmentation
		if s.Width != orig.Width || s.Height != orig.Height || len(s.Pix) != s.Width*s.Height {
			t.Fatalf("mask %d is %dx%d", i, s.Width, s.Height)
		}
		if s.Area() != am.Area {
			t.Errorf("mask %d: area %d, counted %d", i, am.Area, s.Area())
		}
		b := maskToBox(s.Pix, s.Width, s.Height)
		if am.BBox != [4]int{b[0], b[1], b[2] - b[0], b[3] - b[1]} {
			t.Errorf("mask %d: bbox %v, extent %v", i, am.BBox, b)
		}
		if am.CropBox != [4]int{0, 0, orig.Width, orig.Height} {
			t.Errorf("mask %d: crop box %v", i, am.CropBox)
		}
		for j := 0; j < i; j++ {
			if iou := boxIoU(masks[j].BBox, am.BBox); iou > g.Options.BoxNMSThresh {
				t.Errorf("masks %d and %d overlap with box IoU %.3f after NMS", j, i, iou)
			}
		}
	}
	t.Logf("%d masks without quality filters", len(masks))

	// Defaults: the filters run (with random weights they may keep nothing).
	g = NewAutomaticMaskGenerator(m)
	g.Options.PointsPerSide = 8
	strict, err := g.GeneratePixels(ctx, pixels, orig)
	if err != nil {
		t.Fatal(err)
	}
	for _, am := range strict {
		if am.PredictedIOU <= 0.88 || am.StabilityScore < 0.95 {
			t.Errorf("mask with iou %.3f stability %.3f passed the filters", am.PredictedIOU, am.StabilityScore)
		}
	}
	t.Logf("%d masks with the default filters", len(strict))

	// Min-area post-processing keeps masks well formed.
	g.Options.PredIOUThresh, g.Options.StabilityScoreThresh, g.Options.MinMaskRegionArea = 0, 0, 200
	g.Options.PointsPerSide = 3
	small, err := g.GeneratePixels(ctx, pixels, orig)
	if err != nil {
		t.Fatal(err)
	}
	for i, am := range small {
		if am.Segmentation.Area() != am.Area {
			t.Errorf("min-area mask %d: area %d, counted %d", i, am.Area, am.Segmentation.Area())
		}
	}
	g.Options.PointsPerSide = 0
	if _, err := g.GeneratePixels(ctx, pixels, orig); err == nil {
		t.Error("zero points per side: no error")
	}
}

// boxIoU is the IoU of two x, y, w, h boxes as NMS sees them.
func boxIoU(a, b [4]int) float64 {
	fa, fb := xyxy(a), xyxy(b)
	iw := max(0, min(fa[2], fb[2])-max(fa[0], fb[0]))
	ih := max(0, min(fa[3], fb[3])-max(fa[1], fb[1]))
	inter := iw * ih
	return inter / ((fa[2]-fa[0])*(fa[3]-fa[1]) + (fb[2]-fb[0])*(fb[3]-fb[1]) - inter)
}

func xyxy(b [4]int) [4]float64 {
	return [4]float64{float64(b[0]), float64(b[1]), float64(b[0] + b[2]), float64(b[1] + b[3])}
}

func TestNMS(t *testing.T) {
	boxes := [][4]float64{
		{0, 0, 10, 10},   // 0
		{1, 1, 11, 11},   // 1: IoU with 0 = 81/119 = 0.68
		{0, 0, 10, 9},    // 2: IoU with 0 = 0.9
		{20, 20, 30, 30}, // 3: disjoint
		{20, 20, 30, 30}, // 4: same as 3, lower score
	}
	scores := []float64{0.5, 0.6, 0.9, 0.1, 0.05}
	got := NMS(boxes, scores, 0.7)
	want := []int{2, 1, 3} // 2 suppresses 0; 1 (IoU 0.62 with 2) stays; 3 suppresses 4
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("NMS = %v, want %v", got, want)
	}
	if got := NMS(boxes, scores, 0.5); !reflect.DeepEqual(got, []int{2, 3}) {
		t.Fatalf("NMS(0.5) = %v", got)
	}
	if got := NMS(nil, nil, 0.7); len(got) != 0 {
		t.Fatalf("NMS of nothing = %v", got)
	}
}

func TestStabilityScore(t *testing.T) {
	logits := []float32{-2, -0.5, 0.5, 1.5, 3, -1}
	// > 1: {1.5, 3}; > -1: {-0.5, 0.5, 1.5, 3}
	if s := StabilityScore(logits, 0, 1); s != 0.5 {
		t.Fatalf("stability %v, want 0.5", s)
	}
	if s := StabilityScore([]float32{-5, -5}, 0, 1); s != 0 {
		t.Fatalf("empty mask stability %v", s)
	}
}

func TestCropBoxesAndGrid(t *testing.T) {
	boxes, layers := generateCropBoxes(Size{300, 451}, 1, 512.0/1500)
	wantBoxes := [][4]int{{0, 0, 451, 300}, {0, 0, 277, 201}, {0, 99, 277, 300}, {175, 0, 451, 201}, {175, 99, 451, 300}}
	if !reflect.DeepEqual(boxes, wantBoxes) || !reflect.DeepEqual(layers, []int{0, 1, 1, 1, 1}) {
		t.Fatalf("crop boxes %v layers %v", boxes, layers)
	}
	if g := buildPointGrid(2); !reflect.DeepEqual(g, [][2]float64{{.25, .25}, {.75, .25}, {.25, .75}, {.75, .75}}) {
		t.Fatalf("grid %v", g)
	}
	if !boxNearCropEdge([4]int{0, 0, 260, 50}, [4]int{0, 0, 277, 201}, Size{300, 451}) {
		t.Error("box at a crop's inner edge not flagged")
	}
	if boxNearCropEdge([4]int{0, 0, 100, 50}, [4]int{0, 0, 277, 201}, Size{300, 451}) {
		t.Error("box at the image edge flagged")
	}
}

func TestRemoveSmallRegions(t *testing.T) {
	const w, h = 8, 6
	art := []string{
		"########",
		"#..#####",
		"#..#####",
		"########",
		"........",
		"......##",
	}
	mask := make([]bool, w*h)
	for y, row := range art {
		for x, c := range row {
			mask[y*w+x] = c == '#'
		}
	}
	filled, changed := RemoveSmallRegions(mask, w, h, 5, true)
	if !changed || !filled[1*w+1] || !filled[2*w+2] || filled[4*w+0] {
		t.Fatalf("hole of 4 not filled or background filled: %v", filled)
	}
	cleaned, changed := RemoveSmallRegions(filled, w, h, 5, false)
	if !changed || cleaned[5*w+7] || !cleaned[0] {
		t.Fatalf("island of 2 not removed: %v", cleaned)
	}
	if _, changed := RemoveSmallRegions(cleaned, w, h, 5, false); changed {
		t.Fatal("clean mask changed")
	}
	// All islands small: the largest stays.
	tiny := make([]bool, w*h)
	tiny[0], tiny[1], tiny[w*h-1] = true, true, true
	kept, _ := RemoveSmallRegions(tiny, w, h, 5, false)
	if !kept[0] || !kept[1] || kept[w*h-1] {
		t.Fatalf("largest small island not kept: %v", kept)
	}
}
