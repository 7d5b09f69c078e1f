package groundingdino

import (
	"encoding/json"
	"os"
	"testing"

	"github.com/gsam-go/gsam/internal/fixture"
	"github.com/gsam-go/gsam/weights"
)

// TestHubManifests binds full-size model definitions, built from the Hub
// configs of grounding-dino-tiny and -base, to those checkpoints' complete
// key lists: every key must be consumed with its exact shape.
func TestHubManifests(t *testing.T) {
	for _, name := range []string{"grounding-dino-tiny", "grounding-dino-base"} {
		t.Run(name, func(t *testing.T) {
			raw, err := os.ReadFile(fixture.Dir(t, "manifests", name+".json"))
			if err != nil {
				t.Fatal(err)
			}
			var man struct {
				Keys []struct {
					Key   string `json:"key"`
					Shape []int  `json:"shape"`
					DType string `json:"dtype"`
				} `json:"keys"`
				Config json.RawMessage `json:"config"`
				Params int64           `json:"params"`
			}
			if err := json.Unmarshal(raw, &man); err != nil {
				t.Fatal(err)
			}
			cfg, err := ParseConfig(man.Config)
			if err != nil {
				t.Fatal(err)
			}
			m, err := New(cfg)
			if err != nil {
				t.Fatal(err)
			}
			infos := make([]weights.Info, len(man.Keys))
			var params int64
			for i, k := range man.Keys {
				infos[i] = weights.Info{Name: k.Key, DType: k.DType, Shape: k.Shape}
				n := int64(1)
				for _, d := range k.Shape {
					n *= int64(d)
				}
				params += n
			}
			store, err := weights.Manifest(infos)
			if err != nil {
				t.Fatal(err)
			}
			l := weights.NewLoader(store)
			l.ShapesOnly = true
			m.Bind(l)
			if err := l.Err(); err != nil {
				t.Fatal(err)
			}
			t.Logf("%d keys, %d parameters bound", len(man.Keys), params)
		})
	}
}
