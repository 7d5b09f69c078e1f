package backbone

import (
	"strings"
	"testing"

	"github.com/gsam-go/gsam/internal/fixture"
	"github.com/gsam-go/gsam/weights"
	"gorgonia.org/tensor"
)

// TestVisionManifests checks that the full-size checkpoints' vision keys
// (Swin-T, Swin-B) are exactly the tensors the vision path allocates, with
// the same shapes.
func TestVisionManifests(t *testing.T) {
	for _, name := range []string{"grounding-dino-tiny", "grounding-dino-base"} {
		t.Run(name, func(t *testing.T) {
			m := fixture.ReadManifest(t, name)
			cfg, err := ParseVisionConfig(m.Config)
			if err != nil {
				t.Fatal(err)
			}
			v, err := NewVision(cfg)
			if err != nil {
				t.Fatal(err)
			}
			ours := map[string][]int{}
			add := func(prefix string, x any) {
				weights.Walk(prefix, x, func(key string, d *tensor.Dense, _ bool) { ours[key] = d.Shape() })
			}
			s := v.Backbone.(*Swin)
			const bb = "model.backbone.conv_encoder.model"
			add(bb, s)
			for i, n := range s.Config.OutFeatures {
				add(bb+".hidden_states_norms."+n, &s.HiddenStatesNorms[i])
			}
			add("model", v)
			seen := 0
			for _, k := range m.Keys {
				if !strings.HasPrefix(k.Name, "model.backbone.") && !strings.HasPrefix(k.Name, "model.input_proj_vision.") && k.Name != "model.level_embed" {
					continue
				}
				if strings.HasPrefix(k.Name, bb+".swin.layernorm.") {
					continue // the classifier's final norm: unused by the backbone, ignored by Bind
				}
				shape, ok := ours[k.Name]
				if !ok {
					t.Errorf("manifest key %s not bound", k.Name)
					continue
				}
				if !equalShape(shape, k.Shape) {
					t.Errorf("%s: shape %v, manifest %v", k.Name, shape, k.Shape)
				}
				seen++
			}
			if seen != len(ours) {
				t.Errorf("%d manifest keys matched, the model has %d tensors", seen, len(ours))
			}
			t.Logf("%d vision tensors match", seen)
		})
	}
}

func equalShape(a, b []int) bool {
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
