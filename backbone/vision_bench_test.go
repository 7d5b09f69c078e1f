package backbone

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/gsam-go/gsam/internal/fixture"
	"github.com/gsam-go/gsam/nn"
	"github.com/gsam-go/gsam/weights"
)

// BenchmarkSwinTiny800x1333 runs grounding-dino-tiny's Swin-T (random
// weights) on one 800×1333 image.
func BenchmarkSwinTiny800x1333(b *testing.B) {
	var m struct {
		Config struct {
			BackboneConfig json.RawMessage `json:"backbone_config"`
		}
	}
	if err := json.Unmarshal(fixture.ReadManifest(b, "grounding-dino-tiny").Config, &m.Config); err != nil {
		b.Fatal(err)
	}
	bb, err := NewVisionBackbone(m.Config.BackboneConfig)
	if err != nil {
		b.Fatal(err)
	}
	weights.Randomize(bb, 1)
	px := nn.New(1, 3, 800, 1333)
	d := nn.Data(px)
	for i := range d {
		d[i] = float32(i%251)/125 - 1
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := bb.Forward(context.Background(), px, nil); err != nil {
			b.Fatal(err)
		}
	}
}
