package groundingdino

import (
	"context"
	"image"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/gsam-go/gsam/internal/fixture"
	"github.com/gsam-go/gsam/processor"
)

func loadDetector(t *testing.T) (*Detector, image.Image) {
	dir := fixture.Dir(t, "gdino_swin_single")
	d, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	img, err := processor.LoadImage(filepath.Join(dir, "case", "image0_astronaut.png"))
	if err != nil {
		t.Fatal(err)
	}
	return d, img
}

func TestDetect(t *testing.T) {
	d, img := loadDetector(t)
	// Random weights: scores sit near 0.99, so a high threshold keeps a few.
	opt := Options{BoxThreshold: 0.99, TextThreshold: 0.99}
	res, err := d.Detect(context.Background(), []image.Image{img}, Prompt{Caption: "A cat. A remote control"}, opt)
	if err != nil {
		t.Fatal(err)
	}
	if len(res) != 1 || len(res[0]) == 0 {
		t.Fatalf("no detections: %v", res)
	}
	b := img.Bounds()
	for i, det := range res[0] {
		if det.Score <= 0.99 || det.Box[0] < 0 || det.Box[2] > float32(b.Dx()) || det.Box[1] < 0 || det.Box[3] > float32(b.Dy()) || det.Box[0] > det.Box[2] {
			t.Errorf("bad detection %+v", det)
		}
		if i > 0 && det.Score > res[0][i-1].Score {
			t.Error("detections not sorted by score")
		}
	}
	// Label list: every label is a whole input label, never a word piece.
	labels := []string{"a cat", "a remote control"}
	res, err = d.Detect(context.Background(), []image.Image{img, img}, Prompt{Labels: labels}, opt)
	if err != nil {
		t.Fatal(err)
	}
	if len(res) != 2 || len(res[0]) != len(res[1]) {
		t.Fatalf("batch of identical images gave %d and %d detections", len(res[0]), len(res[1]))
	}
	for _, det := range res[0] {
		if det.LabelIndex >= 0 && det.Label != labels[det.LabelIndex] || strings.Contains(det.Label, "##") {
			t.Errorf("label %q (index %d) is not an input label", det.Label, det.LabelIndex)
		}
	}
}

func TestDetectLongLabelList(t *testing.T) {
	d, img := loadDetector(t)
	var labels []string
	for i := 0; i < 120; i++ {
		labels = append(labels, []string{"cat", "remote control", "dog", "bench"}[i%4])
	}
	passes, err := d.passes(Prompt{Labels: labels})
	if err != nil {
		t.Fatal(err)
	}
	if len(passes) < 2 {
		t.Fatalf("%d labels fit in %d pass", len(labels), len(passes))
	}
	res, err := d.Detect(context.Background(), []image.Image{img}, Prompt{Labels: labels}, Options{BoxThreshold: 0.99, TextThreshold: 0.99})
	if err != nil {
		t.Fatal(err)
	}
	for _, det := range res[0] {
		if det.LabelIndex >= len(labels) || det.LabelIndex >= 0 && det.Label != labels[det.LabelIndex] {
			t.Errorf("merged detection has label %q index %d", det.Label, det.LabelIndex)
		}
	}
}

func TestDetectBadPrompts(t *testing.T) {
	d, img := loadDetector(t)
	for _, p := range []Prompt{{}, {Caption: " . . "}, {Labels: []string{}}, {Caption: "x", Labels: []string{"y"}}, {Labels: []string{""}}} {
		if _, err := d.Detect(context.Background(), []image.Image{img}, p, Options{}); err == nil {
			t.Errorf("prompt %+v accepted", p)
		}
	}
	if _, err := d.Detect(context.Background(), nil, Prompt{Caption: "cat"}, Options{}); err == nil {
		t.Error("no images accepted")
	}
}

func TestConcurrentDetect(t *testing.T) {
	d, img := loadDetector(t)
	opt := Options{BoxThreshold: 0.99, TextThreshold: 0.99}
	want, err := d.Detect(context.Background(), []image.Image{img}, Prompt{Caption: "a cat . a remote control ."}, opt)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	errs := make(chan string, 8)
	for i := 0; i < 4; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			got, err := d.Detect(context.Background(), []image.Image{img}, Prompt{Caption: "a cat . a remote control ."}, opt)
			if err != nil {
				errs <- err.Error()
				return
			}
			if len(got[0]) != len(want[0]) {
				errs <- "different number of detections"
				return
			}
			for j := range got[0] {
				if got[0][j] != want[0][j] {
					errs <- "different detection"
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
}

func TestCheckPrompt(t *testing.T) {
	d, _ := loadDetector(t)
	if err := d.CheckPrompt(Prompt{Caption: "a cat . a remote control ."}); err != nil {
		t.Errorf("good caption: %v", err)
	}
	for _, p := range []Prompt{{}, {Caption: " . "}, {Caption: "cat", Labels: []string{"dog"}}} {
		if err := d.CheckPrompt(p); err == nil {
			t.Errorf("%+v: no error", p)
		}
	}
}
