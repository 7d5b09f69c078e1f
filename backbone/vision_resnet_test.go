package backbone

import (
	"context"
	"fmt"
	"testing"

	"github.com/gsam-go/gsam/internal/fixture"
)

// TestResNetBackbone compares the stem, every stage and the feature maps.
func TestResNetBackbone(t *testing.T) {
	v := loadVision(t, "gdino_resnet")
	r := v.Backbone.(*ResNet)
	f := fixture.Tensors(t, "gdino_resnet/case/tensors.safetensors")
	px, mask := inputs(t, f)
	const pre = "act.model.backbone.conv_encoder.model."
	x := maxPool3x3s2(r.Embedder.Embedder.Forward(px))
	fixture.Check(t, f, pre+"embedder", x)
	for i := range r.Encoder.Stages {
		x = fixture.Float(t, f, fmt.Sprintf("%sencoder.hidden_states.%d", pre, i))
		for j := range r.Encoder.Stages[i].Layers {
			x = r.Encoder.Stages[i].Layers[j].Forward(x)
			fixture.Check(t, f, fmt.Sprintf("%sencoder.stages.%d.layers.%d", pre, i, j), x)
		}
	}
	maps, err := r.Forward(context.Background(), px, mask)
	if err != nil {
		t.Fatal(err)
	}
	if len(maps) != 3 {
		t.Fatalf("%d maps, want 3", len(maps))
	}
	for i, m := range maps {
		fixture.Check(t, f, fmt.Sprintf("%sfeature_maps.%d", pre, i), m.Features)
		fixture.Check(t, f, fmt.Sprintf("act.model.backbone.conv_encoder.%d.0", i), m.Features)
		checkMask(t, f, fmt.Sprintf("act.model.backbone.conv_encoder.%d.1", i), m.Mask)
	}
}
