package processor

import (
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/gsam-go/gsam/internal/fixture"
	"github.com/gsam-go/gsam/nn"
)

// errStats returns the mean and max absolute difference.
func errStats(got, want []float32) (mean, maxAbs float64) {
	for i := range want {
		d := math.Abs(float64(got[i]) - float64(want[i]))
		mean += d
		maxAbs = max(maxAbs, d)
	}
	return mean / float64(len(want)), maxAbs
}

func readCases(t *testing.T, name string, v any) string {
	t.Helper()
	dir := fixture.Dir(t, "processor")
	raw, err := os.ReadFile(filepath.Join(dir, name))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(raw, v); err != nil {
		t.Fatal(err)
	}
	return dir
}

func loadRGB(t *testing.T, path string) *RGB {
	t.Helper()
	img, err := LoadImage(path)
	if err != nil {
		t.Fatal(err)
	}
	return ToRGB(img)
}

func TestGroundingDinoProcessor(t *testing.T) {
	var cases []struct {
		Key      string `json:"key"`
		Image    string `json:"image"`
		OrigWH   [2]int `json:"orig_wh"`
		Size     Size   `json:"size"`
		Class    string `json:"class"`
		OutShape []int  `json:"out_shape"`
	}
	dir := readCases(t, "gdino_cases.json", &cases)
	f := fixture.Tensors(t, "processor/gdino_pixel_values.safetensors")
	if len(cases) == 0 {
		t.Fatal("no cases")
	}
	for _, c := range cases {
		m := loadRGB(t, filepath.Join(dir, c.Image+".png"))
		if m.W != c.OrigWH[0] || m.H != c.OrigWH[1] {
			t.Fatalf("%s: decoded %d×%d, want %v", c.Key, m.W, m.H, c.OrigWH)
		}
		p, err := NewGroundingDinoProcessor(GroundingDinoConfig{Size: c.Size})
		if err != nil {
			t.Fatal(err)
		}
		// Check each reference class with its own arithmetic, and report the
		// error of the default (PIL) against the torchvision one.
		pilPx, _, _, err := p.PreprocessRGB([]*RGB{m})
		if err != nil {
			t.Fatal(err)
		}
		if c.Class != "GroundingDinoImageProcessorPil" {
			p.Filter = Torch
		}
		px, mask, sizes, err := p.PreprocessRGB([]*RGB{m})
		if err != nil {
			t.Fatal(err)
		}
		if got := nn.Shape(px); !equalInts(got, c.OutShape) {
			t.Errorf("%s: shape %v, want %v", c.Key, got, c.OutShape)
			continue
		}
		if sizes[0] != [2]int{c.OutShape[2], c.OutShape[3]} {
			t.Errorf("%s: size %v", c.Key, sizes[0])
		}
		want := fixture.Float(t, f, c.Key+".pixel_values")
		mean, maxAbs := errStats(nn.Data(px), nn.Data(want))
		wm, _ := fixture.Int(t, f, c.Key+".pixel_mask")
		for i := range wm {
			if int64(mask[i]) != wm[i] {
				t.Errorf("%s: pixel_mask differs at %d", c.Key, i)
				break
			}
		}
		pm, pmax := errStats(nn.Data(pilPx), nn.Data(want))
		t.Logf("%s: matching filter: mean abs err %.3g, max %.3g; PIL filter: mean %.3g, max %.3g", c.Key, mean, maxAbs, pm, pmax)
		fixture.Check(t, f, c.Key+".pixel_values", px)
		if pm > 0.02 {
			t.Errorf("%s: PIL filter mean error %.3g over 0.02", c.Key, pm)
		}
	}
}

func TestSamProcessor(t *testing.T) {
	var cases []struct {
		Key      string   `json:"key"`
		Image    string   `json:"image"`
		OrigWH   [2]int   `json:"orig_wh"`
		Size     int      `json:"size"`
		Reshaped [][2]int `json:"reshaped_input_sizes"`
	}
	dir := readCases(t, "sam_cases.json", &cases)
	f := fixture.Tensors(t, "processor/sam_pixel_values.safetensors")
	if len(cases) == 0 {
		t.Fatal("no cases")
	}
	for _, c := range cases {
		m := loadRGB(t, filepath.Join(dir, c.Image+".png"))
		p, err := NewSamProcessor(SamConfig{Size: Size{LongestEdge: c.Size}})
		if err != nil {
			t.Fatal(err)
		}
		pilPx, _, _, err := p.PreprocessRGB(m)
		if err != nil {
			t.Fatal(err)
		}
		// These references come from the torchvision-based SamImageProcessor.
		p.Filter = Torch
		px, reshaped, orig, err := p.PreprocessRGB(m)
		if err != nil {
			t.Fatal(err)
		}
		if reshaped != c.Reshaped[0] || orig != [2]int{c.OrigWH[1], c.OrigWH[0]} {
			t.Errorf("%s: reshaped %v original %v, want %v %v", c.Key, reshaped, orig, c.Reshaped[0], c.OrigWH)
		}
		want := fixture.Float(t, f, c.Key+".pixel_values")
		if !equalInts(nn.Shape(px), nn.Shape(want)) {
			t.Errorf("%s: shape %v, want %v", c.Key, nn.Shape(px), nn.Shape(want))
			continue
		}
		mean, maxAbs := errStats(nn.Data(px), nn.Data(want))
		pm, pmax := errStats(nn.Data(pilPx), nn.Data(want))
		t.Logf("%s: torch filter: mean abs err %.3g, max %.3g; PIL filter: mean %.3g, max %.3g", c.Key, mean, maxAbs, pm, pmax)
		fixture.Check(t, f, c.Key+".pixel_values", px)
		if pm > 0.02 {
			t.Errorf("%s: PIL filter mean error %.3g over 0.02", c.Key, pm)
		}
	}
}

// TestSamModelInput checks the SAM model case's stored pixel values.
func TestSamModelInput(t *testing.T) {
	m := loadRGB(t, filepath.Join(fixture.Dir(t, "sam"), "image_chelsea.png"))
	f := fixture.Tensors(t, "sam/case/tensors.safetensors")
	want := fixture.Float(t, f, "input.pixel_values")
	s := nn.Shape(want)
	p, err := NewSamProcessor(SamConfig{Size: Size{LongestEdge: s[3]}})
	if err != nil {
		t.Fatal(err)
	}
	px, _, _, err := p.PreprocessRGB(m)
	if err != nil {
		t.Fatal(err)
	}
	fixture.Check(t, f, "input.pixel_values", px)
}

// TestGroundingDinoModelInputs rebuilds the model cases' pixel values.
func TestGroundingDinoModelInputs(t *testing.T) {
	for _, dir := range []string{"gdino_swin_single", "gdino_swin_batch", "gdino_resnet"} {
		var meta struct {
			SizesHW [][2]int `json:"sizes_hw"`
			Images  []string `json:"images"`
		}
		root := fixture.Dir(t, dir, "case")
		raw, err := os.ReadFile(filepath.Join(root, "case.json"))
		if err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(raw, &meta); err != nil {
			t.Fatal(err)
		}
		var imgs []*RGB
		for i, name := range meta.Images {
			matches, _ := filepath.Glob(filepath.Join(root, "image"+itoa(i)+"_"+name+".png"))
			if len(matches) != 1 {
				t.Fatalf("%s: image %s not found", dir, name)
			}
			m := loadRGB(t, matches[0])
			r, err := m.Resize(meta.SizesHW[i][1], meta.SizesHW[i][0])
			if err != nil {
				t.Fatal(err)
			}
			imgs = append(imgs, r)
		}
		p, _ := NewGroundingDinoProcessor(GroundingDinoConfig{})
		p.DoResize = false
		px, mask, _, err := p.PreprocessRGB(imgs)
		if err != nil {
			t.Fatal(err)
		}
		f := fixture.Tensors(t, dir+"/case/tensors.safetensors")
		fixture.Check(t, f, "input.pixel_values", px)
		wm, _ := fixture.Int(t, f, "input.pixel_mask")
		if len(wm) != len(mask) {
			t.Fatalf("%s: mask size %d, want %d", dir, len(mask), len(wm))
		}
		for i := range wm {
			if int64(mask[i]) != wm[i] {
				t.Errorf("%s: pixel_mask differs at %d", dir, i)
				break
			}
		}
	}
}

func itoa(i int) string { return string(rune('0' + i)) }

func equalInts(a, b []int) bool {
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
