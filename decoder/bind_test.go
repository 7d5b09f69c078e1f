package decoder

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/gsam-go/gsam/internal/fixture"
	"github.com/gsam-go/gsam/weights"
	"gorgonia.org/tensor"
)

type keyShape struct {
	Key   string `json:"key"`
	Shape []int  `json:"shape"`
}

// zeroStore builds an in-memory checkpoint holding zeros under keys.
func zeroStore(t *testing.T, keys []keyShape) *weights.Store {
	t.Helper()
	header := map[string]any{}
	off := 0
	for _, k := range keys {
		n := 4
		for _, d := range k.Shape {
			n *= d
		}
		header[k.Key] = map[string]any{"dtype": "F32", "shape": k.Shape, "data_offsets": []int{off, off + n}}
		off += n
	}
	h, err := json.Marshal(header)
	if err != nil {
		t.Fatal(err)
	}
	for len(h)%8 != 0 {
		h = append(h, ' ')
	}
	buf := make([]byte, 8+len(h)+off)
	binary.LittleEndian.PutUint64(buf, uint64(len(h)))
	copy(buf[8:], h)
	f, err := weights.Parse(buf)
	if err != nil {
		t.Fatal(err)
	}
	s, err := weights.NewStore(f)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// TestBindHubManifest binds the full-size decoder to the key list of the
// Hub's grounding-dino-tiny checkpoint (box head stored once, as
// bbox_embed.0) and expects no missing, mis-shaped or unused key.
func TestBindHubManifest(t *testing.T) {
	raw, err := os.ReadFile(fixture.Dir(t, "manifests", "grounding-dino-tiny.json"))
	if err != nil {
		t.Fatal(err)
	}
	var m struct {
		Keys   []keyShape      `json:"keys"`
		Config json.RawMessage `json:"config"`
	}
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatal(err)
	}
	var cfg Config
	if err := json.Unmarshal(m.Config, &cfg); err != nil {
		t.Fatal(err)
	}
	var keys []keyShape
	for _, k := range m.Keys {
		if strings.HasPrefix(k.Key, "model.decoder.") || strings.HasPrefix(k.Key, "bbox_embed.") || strings.HasPrefix(k.Key, "class_embed.") {
			keys = append(keys, k)
		}
	}
	if len(keys) == 0 {
		t.Fatal("manifest has no decoder keys")
	}
	d, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	l := weights.NewLoader(zeroStore(t, keys))
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
		var body, head []keyShape
		weights.Walk("model.decoder", d, func(key string, x *tensor.Dense, _ bool) {
			body = append(body, keyShape{key, x.Shape()})
		})
		for i := 0; i < cfg.DecoderLayers; i++ {
			weights.Walk(fmt.Sprintf("bbox_embed.%d", i), &d.BBoxEmbed[0], func(key string, x *tensor.Dense, _ bool) {
				head = append(head, keyShape{key, x.Shape()})
			})
		}
		prefixed := func(p string, ks []keyShape) []keyShape {
			out := make([]keyShape, len(ks))
			for i, k := range ks {
				out[i] = keyShape{p + k.Key, k.Shape}
			}
			return out
		}
		layouts := map[string][]keyShape{
			"top level":           append(append([]keyShape(nil), body...), head...),
			"both":                append(append(append([]keyShape(nil), body...), head...), prefixed("model.decoder.", head)...),
			"under model.decoder": append(append([]keyShape(nil), body...), prefixed("model.decoder.", head)...),
		}
		for name, keys := range layouts {
			d, _ := New(cfg)
			l := weights.NewLoader(zeroStore(t, keys))
			d.Bind(l)
			if err := l.Err(); err != nil {
				t.Errorf("share=%v, %s: %v", share, name, err)
			}
		}
		d, _ = New(cfg)
		l := weights.NewLoader(zeroStore(t, body))
		d.Bind(l)
		if err := l.Err(); err == nil || !strings.Contains(err.Error(), "missing: bbox_embed.0.layers.0.weight") {
			t.Errorf("share=%v: checkpoint without box heads: %v", share, err)
		}
	}
}
