package backbone

import (
	"context"
	"fmt"
	"testing"

	"github.com/gsam-go/gsam/internal/fixture"
	"github.com/gsam-go/gsam/nn"
	"github.com/gsam-go/gsam/parity"
)

var visionFixtures = []string{"gdino_swin_single", "gdino_swin_batch", "gdino_resnet"}

// TestVisionLevels feeds the stored backbone outputs to the position
// embedding, the input projections and the flattening.
func TestVisionLevels(t *testing.T) {
	for _, dir := range visionFixtures {
		t.Run(dir, func(t *testing.T) {
			v := loadVision(t, dir)
			f := fixture.Tensors(t, dir+"/case/tensors.safetensors")
			px, pixelMask := inputs(t, f)
			s := px.Shape()
			B, H, W := s[0], s[2], s[3]
			var maps []FeatureMap
			for i := 0; has(f, fmt.Sprintf("act.model.backbone.0.%d.0", i)); i++ {
				feat := fixture.Float(t, f, fmt.Sprintf("act.model.backbone.0.%d.0", i))
				m, _ := fixture.Int(t, f, fmt.Sprintf("act.model.backbone.0.%d.1", i))
				mask := make([]uint8, len(m))
				for j, x := range m {
					mask[j] = uint8(x)
				}
				fs := feat.Shape()
				checkMask(t, f, fmt.Sprintf("act.model.backbone.0.%d.1", i), InterpolateMask(pixelMask, B, H, W, fs[2], fs[3]))
				maps = append(maps, FeatureMap{Features: feat, Mask: mask})
			}
			if len(maps) != len(v.Backbone.Channels()) {
				t.Fatalf("%d stored levels, backbone has %d", len(maps), len(v.Backbone.Channels()))
			}
			levels := v.Project(maps, pixelMask, B, H, W)
			if len(levels) != v.Config.NumFeatureLevels {
				t.Fatalf("%d levels, want %d", len(levels), v.Config.NumFeatureLevels)
			}
			for i, l := range levels {
				name := "act.model.backbone.position_embedding"
				if i > 0 {
					name += fmt.Sprintf("#%d", i+1)
				}
				fixture.Check(t, f, name, l.PosEmbed)
				if i < len(maps) {
					fixture.Check(t, f, fmt.Sprintf("act.model.backbone.1.%d", i), l.PosEmbed)
				}
				fixture.Check(t, f, fmt.Sprintf("act.model.input_proj_vision.%d", i), l.Source)
				// The convolution alone, before GroupNorm.
				in := maps[len(maps)-1].Features
				switch {
				case i < len(maps):
					in = maps[i].Features
				case i > len(maps):
					in = fixture.Float(t, f, fmt.Sprintf("act.model.input_proj_vision.%d", i-1))
				}
				fixture.Check(t, f, fmt.Sprintf("act.model.input_proj_vision.%d.0", i), v.InputProj[i].Conv.Forward(in))
			}
			fl, err := Flatten(levels, v.LevelEmbed)
			if err != nil {
				t.Fatal(err)
			}
			// The encoder's first stored vision hidden state is its input.
			fixture.Check(t, f, "output.encoder_vision_hidden_states.0", fl.Source)
			checkFlattened(t, fl, levels, nn.Data(v.LevelEmbed), pixelMask, B, H, W)
		})
	}
}

// checkFlattened checks the bookkeeping of Flatten against values computed
// here another way: valid ratios from the pixel mask's real extent.
func checkFlattened(t *testing.T, fl *Flattened, levels []Level, levelEmbed []float32, pixelMask []uint8, B, H, W int) {
	t.Helper()
	L := len(levels)
	D := levels[0].Source.Shape()[1]
	S := 0
	for i, l := range levels {
		s := l.Source.Shape()
		if fl.SpatialShapes[i] != [2]int{s[2], s[3]} || fl.LevelStart[i] != S {
			t.Errorf("level %d: shape %v start %d, want %v start %d", i, fl.SpatialShapes[i], fl.LevelStart[i], s[2:], S)
		}
		// Spot-check one element of the source, position and mask layout.
		h, w := s[2], s[3]
		b, c, y, x := B-1, D-1, h-1, w/2
		p := S + y*w + x
		if got, want := nn.Data(fl.Source)[(b*fl.Source.Shape()[1]+p)*D+c], nn.Data(l.Source)[((b*D+c)*h+y)*w+x]; got != want {
			t.Errorf("level %d source: %g, want %g", i, got, want)
		}
		if got, want := nn.Data(fl.PosEmbed)[(b*fl.Source.Shape()[1]+p)*D+c], nn.Data(l.PosEmbed)[((b*D+c)*h+y)*w+x]+levelEmbed[i*D+c]; got != want {
			t.Errorf("level %d pos: %g, want %g", i, got, want)
		}
		S += h * w
	}
	if got := fl.Source.Shape(); got[0] != B || got[1] != S || got[2] != D {
		t.Errorf("source shape %v, want [%d %d %d]", got, B, S, D)
	}
	if len(fl.Mask) != B*S {
		t.Errorf("mask has %d values, want %d", len(fl.Mask), B*S)
	}
	// Valid ratios: the real image spans rows [0, vh) and columns [0, vw)
	// of the padded batch; each level's mask is that box resized by nearest.
	want := make([]float32, B*L*2)
	for b := 0; b < B; b++ {
		vh, vw := 0, 0
		for y := 0; y < H; y++ {
			if pixelMask[(b*H+y)*W] != 0 {
				vh++
			}
		}
		for x := 0; x < W; x++ {
			if pixelMask[b*H*W+x] != 0 {
				vw++
			}
		}
		for i := range levels {
			h, w := fl.SpatialShapes[i][0], fl.SpatialShapes[i][1]
			want[(b*L+i)*2] = float32(countBelow(nearestIndex(W, w), vw)) / float32(w)
			want[(b*L+i)*2+1] = float32(countBelow(nearestIndex(H, h), vh)) / float32(h)
		}
	}
	r := parity.Compare("valid_ratios", nn.Data(fl.ValidRatios), nn.Shape(fl.ValidRatios), want, []int{B, L, 2}, parity.Tolerance{})
	if !r.OK() {
		t.Error(r.String())
	} else {
		t.Logf("%s %v", r.String(), want)
	}
}

func countBelow(idx []int, n int) int {
	c := 0
	for _, i := range idx {
		if i < n {
			c++
		}
	}
	return c
}

// TestVisionForward runs the whole vision path from pixels.
func TestVisionForward(t *testing.T) {
	for _, dir := range visionFixtures {
		t.Run(dir, func(t *testing.T) {
			v := loadVision(t, dir)
			f := fixture.Tensors(t, dir+"/case/tensors.safetensors")
			px, mask := inputs(t, f)
			fl, err := v.Forward(context.Background(), px, mask)
			if err != nil {
				t.Fatal(err)
			}
			fixture.Check(t, f, "output.encoder_vision_hidden_states.0", fl.Source)
		})
	}
}
