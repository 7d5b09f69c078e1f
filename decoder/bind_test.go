package decoder

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/gsam-go/gsam/internal/fixture"
	"github.com/gsam-go/gsam/weights"
	"gorgonia.org/tensor"
)

// TestBindHubManifest binds the full-size decoder to the key list of the
// Hub's grounding-dino-tiny checkpoint (box head stored once, as
// bbox_embed.0; names and shapes, no data) and expects no missing,
// mis-shaped or unused key.
func TestBindHubManifest(t *testing.T) {
	man := fixture.ReadManifest(t, "grounding-dino-tiny")
	var cfg Config
	if err := json.Unmarshal(man.Config, &cfg); err != nil {
		t.Fatal(err)
	}
	d, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	l := man.Loader(t, func(key string) bool {
		return strings.HasPrefix(key, "model.decoder.") || strings.HasPrefix(key, "bbox_embed.") || strings.HasPrefix(key, "class_embed.")
	})
	d.Bind(l)
	if err := l.Err(); err != nil {
		t.Fatal(err)
	}
}

// TestBindTiedLayouts checks the other ways a checkpoint may store the tied
// box heads: every layer's copy at the top level and under model.decoder
// (older exports), or only under model.decoder. A missing head is an error
// that names the key.
func TestBindTiedLayouts(t *testing.T) {
	cfg := DefaultConfig()
	cfg.DModel, cfg.DecoderLayers, cfg.DecoderFFNDim, cfg.DecoderAttentionHeads, cfg.NumQueries = 16, 2, 32, 2, 8
	for _, share := range []bool{true, false} {
		cfg.DecoderBBoxEmbedShare = share
		d, err := New(cfg)
		if err != nil {
			t.Fatal(err)
		}
		var body, head []weights.Info
		weights.Walk("model.decoder", d, func(key string, x *tensor.Dense, _ bool) {
			body = append(body, weights.Info{Name: key, Shape: x.Shape()})
		})
		for i := 0; i < cfg.DecoderLayers; i++ {
			weights.Walk(fmt.Sprintf("bbox_embed.%d", i), &d.BBoxEmbed[0], func(key string, x *tensor.Dense, _ bool) {
				head = append(head, weights.Info{Name: key, Shape: x.Shape()})
			})
		}
		prefixed := func(p string, ks []weights.Info) []weights.Info {
			out := make([]weights.Info, len(ks))
			for i, k := range ks {
				out[i] = weights.Info{Name: p + k.Name, Shape: k.Shape}
			}
			return out
		}
		layouts := map[string][]weights.Info{
			"top level":           append(append([]weights.Info(nil), body...), head...),
			"both":                append(append(append([]weights.Info(nil), body...), head...), prefixed("model.decoder.", head)...),
			"under model.decoder": append(append([]weights.Info(nil), body...), prefixed("model.decoder.", head)...),
		}
		for name, keys := range layouts {
			d, _ := New(cfg)
			l := fixture.ShapesLoader(t, keys)
			d.Bind(l)
			if err := l.Err(); err != nil {
				t.Errorf("share=%v, %s: %v", share, name, err)
			}
		}
		d, _ = New(cfg)
		l := fixture.ShapesLoader(t, body)
		d.Bind(l)
		if err := l.Err(); err == nil || !strings.Contains(err.Error(), "missing: bbox_embed.0.layers.0.weight") {
			t.Errorf("share=%v: checkpoint without box heads: %v", share, err)
		}
	}
}
