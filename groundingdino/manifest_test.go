package groundingdino

import (
	"testing"

	"github.com/gsam-go/gsam/internal/fixture"
)

// TestHubManifests binds full-size model definitions, built from the Hub
// configs of grounding-dino-tiny and -base, to those checkpoints' complete
// key lists: every key must be consumed with its exact shape.
func TestHubManifests(t *testing.T) {
	for _, name := range []string{"grounding-dino-tiny", "grounding-dino-base"} {
		t.Run(name, func(t *testing.T) {
			man := fixture.ReadManifest(t, name)
			cfg, err := ParseConfig(man.Config)
			if err != nil {
				t.Fatal(err)
			}
			m, err := New(cfg)
			if err != nil {
				t.Fatal(err)
			}
			var params int64
			for _, k := range man.Keys {
				n := int64(1)
				for _, d := range k.Shape {
					n *= int64(d)
				}
				params += n
			}
			if params != man.Params {
				t.Errorf("the keys hold %d parameters, the manifest says %d", params, man.Params)
			}
			l := man.Loader(t, nil)
			m.Bind(l)
			if err := l.Err(); err != nil {
				t.Fatal(err)
			}
			t.Logf("%d keys, %d parameters bound", len(man.Keys), params)
		})
	}
}
