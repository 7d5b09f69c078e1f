package verify

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/gsam-go/gsam/nn"
	"github.com/gsam-go/gsam/parity"
	"github.com/gsam-go/gsam/processor"
	"github.com/gsam-go/gsam/weights"
)

// checkProcessor re-runs the image-processor cases: Grounding DINO's
// resize/normalise/pad against both reference processors (the
// torchvision-based one and the PIL-based one, each with its own
// resampling) and SAM's longest-side resize, comparing pixel values under
// the float tolerance and pixel masks exactly.
func checkProcessor(dir string) ([]parity.Result, error) {
	var res []parity.Result
	images := map[string]*processor.RGB{}
	load := func(name string) (*processor.RGB, error) {
		if m, ok := images[name]; ok {
			return m, nil
		}
		img, err := processor.LoadImage(filepath.Join(dir, name+".png"))
		if err != nil {
			return nil, err
		}
		images[name] = processor.ToRGB(img)
		return images[name], nil
	}
	if _, err := os.Stat(filepath.Join(dir, "gdino_cases.json")); err == nil {
		var cases []struct {
			Key   string         `json:"key"`
			Image string         `json:"image"`
			Size  processor.Size `json:"size"`
			Class string         `json:"class"`
		}
		if err := readJSON(filepath.Join(dir, "gdino_cases.json"), &cases); err != nil {
			return nil, err
		}
		f, err := weights.OpenFile(filepath.Join(dir, "gdino_pixel_values.safetensors"))
		if err != nil {
			return nil, err
		}
		defer f.Close()
		for _, c := range cases {
			m, err := load(c.Image)
			if err != nil {
				return res, err
			}
			p, err := processor.NewGroundingDinoProcessor(processor.GroundingDinoConfig{Size: c.Size})
			if err != nil {
				return res, err
			}
			if c.Class != "GroundingDinoImageProcessorPil" {
				p.Filter = processor.Torch
			}
			px, mask, _, err := p.PreprocessRGB([]*processor.RGB{m})
			if err != nil {
				res = append(res, parity.Result{Name: c.Key + ".pixel_values", Err: err.Error()})
				continue
			}
			res = append(res, compareStored(f, c.Key+".pixel_values", nn.Data(px), nn.Shape(px)))
			if want, ws, err := f.Int64(c.Key + ".pixel_mask"); err == nil {
				got := make([]int64, len(mask))
				for i, v := range mask {
					got[i] = int64(v)
				}
				s := nn.Shape(px)
				res = append(res, parity.CompareExact(c.Key+".pixel_mask", got, []int{s[0], s[2], s[3]}, want, ws))
			}
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "sam_cases.json")); err == nil {
		var cases []struct {
			Key      string   `json:"key"`
			Image    string   `json:"image"`
			Size     int      `json:"size"`
			Reshaped [][2]int `json:"reshaped_input_sizes"`
		}
		if err := readJSON(filepath.Join(dir, "sam_cases.json"), &cases); err != nil {
			return nil, err
		}
		f, err := weights.OpenFile(filepath.Join(dir, "sam_pixel_values.safetensors"))
		if err != nil {
			return nil, err
		}
		defer f.Close()
		for _, c := range cases {
			m, err := load(c.Image)
			if err != nil {
				return res, err
			}
			p, err := processor.NewSamProcessor(processor.SamConfig{Size: processor.Size{LongestEdge: c.Size}})
			if err != nil {
				return res, err
			}
			p.Filter = processor.Torch // these references come from the torchvision-based SamImageProcessor
			px, reshaped, _, err := p.PreprocessRGB(m)
			if err != nil {
				res = append(res, parity.Result{Name: c.Key + ".pixel_values", Err: err.Error()})
				continue
			}
			r := compareStored(f, c.Key+".pixel_values", nn.Data(px), nn.Shape(px))
			if len(c.Reshaped) > 0 && reshaped != c.Reshaped[0] {
				r.Err = fmt.Sprintf("reshaped size %v, want %v", reshaped, c.Reshaped[0])
			}
			res = append(res, r)
		}
	}
	if len(res) == 0 {
		return nil, fmt.Errorf("verify: %s: no processor cases found", dir)
	}
	return res, nil
}

func compareStored(f *weights.File, name string, got []float32, shape []int) parity.Result {
	want, ws, err := f.Float32(name)
	if err != nil {
		return parity.Result{Name: name, Err: err.Error()}
	}
	return parity.Compare(name, got, shape, want, ws, parity.Default)
}
