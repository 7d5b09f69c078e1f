package backbone

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gsam-go/gsam/internal/fixture"
	"github.com/gsam-go/gsam/nn"
	"github.com/gsam-go/gsam/tokenize"
	"github.com/gsam-go/gsam/weights"
	"gorgonia.org/tensor"
)

// loadTextModel binds the text backbone and projection of a Grounding DINO fixture.
func loadTextModel(t *testing.T, name string) (*BERT, nn.Linear) {
	t.Helper()
	dir := fixture.Dir(t, name)
	raw, err := os.ReadFile(filepath.Join(dir, "config.json"))
	if err != nil {
		t.Fatal(err)
	}
	var cfg struct {
		DModel     int        `json:"d_model"`
		TextConfig BERTConfig `json:"text_config"`
	}
	if err := json.Unmarshal(raw, &cfg); err != nil {
		t.Fatal(err)
	}
	bert, err := NewBERT(cfg.TextConfig)
	if err != nil {
		t.Fatal(err)
	}
	proj := nn.NewLinear(cfg.TextConfig.HiddenSize, cfg.DModel, true)
	store, err := weights.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	l := weights.NewLoader(store)
	l.Bind("model.text_backbone", bert)
	l.Bind("model.text_projection", &proj)
	// Every text-backbone key must be consumed; the rest of the model is not ours.
	for _, k := range l.Unused() {
		if strings.HasPrefix(k, "model.text_backbone.") || strings.HasPrefix(k, "model.text_projection.") {
			t.Errorf("unused text key %s", k)
		}
	}
	l.Ignore("")
	if err := l.Err(); err != nil {
		t.Fatal(err)
	}
	if bert.Pooler.Weight != nil {
		t.Errorf("fixture has no pooler, but the optional pooler stayed bound")
	}
	return bert, proj
}

// textInputs builds what GroundingDinoModel passes to its text backbone.
func textInputs(t *testing.T, f *weights.File) (ids, tt, pos []int64, mask []bool, B, L int) {
	ids, s := fixture.Int(t, f, "input.input_ids")
	tt, _ = fixture.Int(t, f, "input.token_type_ids")
	B, L = s[0], s[1]
	mask = make([]bool, B*L*L)
	pos = make([]int64, B*L)
	for b := 0; b < B; b++ {
		m, p := tokenize.TextSelfAttentionMask(ids[b*L : (b+1)*L])
		copy(mask[b*L*L:], m)
		copy(pos[b*L:], p)
	}
	return ids, tt, pos, mask, B, L
}

func TestBERTParity(t *testing.T) {
	for _, name := range []string{"gdino_swin_single", "gdino_swin_batch", "gdino_resnet"} {
		t.Run(name, func(t *testing.T) {
			bert, proj := loadTextModel(t, name)
			f := fixture.Tensors(t, name+"/case/tensors.safetensors")
			ids, tt, pos, mask, B, L := textInputs(t, f)
			// The padding mask (input.attention_mask) does not reach BERT in
			// Grounding DINO; read it only to show the batch case has padding.
			am, _ := fixture.Int(t, f, "input.attention_mask")
			pad := 0
			for _, v := range am {
				if v == 0 {
					pad++
				}
			}
			t.Logf("B=%d L=%d padded tokens=%d", B, L, pad)

			x, err := bert.Embeddings.Forward(ids, tt, pos, B, L)
			if err != nil {
				t.Fatal(err)
			}
			fixture.Check(t, f, "act.model.text_backbone.embeddings", x)
			ext, err := BERTExtendedMask(mask, B, L)
			if err != nil {
				t.Fatal(err)
			}
			for i := range bert.Encoder.Layers {
				x = bert.Encoder.Layers[i].Forward(x, ext)
				fixture.Check(t, f, fmt.Sprintf("act.model.text_backbone.encoder.layer.%d", i), x)
			}
			out, err := bert.Forward(ids, tt, pos, B, L, mask)
			if err != nil {
				t.Fatal(err)
			}
			fixture.Check(t, f, "act.model.text_backbone.encoder.last_hidden_state", out)
			fixture.Check(t, f, "act.model.text_backbone.last_hidden_state", out)
			fixture.Check(t, f, "act.model.text_projection", proj.Forward(out))
		})
	}
}

func TestBERTBadInput(t *testing.T) {
	cfg := BERTConfig{VocabSize: 10, HiddenSize: 8, NumHiddenLayers: 1, NumAttentionHeads: 2,
		IntermediateSize: 16, HiddenAct: "gelu", MaxPositionEmbeddings: 4, TypeVocabSize: 2, LayerNormEps: 1e-12}
	m, err := NewBERT(cfg)
	if err != nil {
		t.Fatal(err)
	}
	weights.Randomize(m, 1)
	cases := map[string]func() error{
		"ids length":   func() error { _, err := m.Forward([]int64{1, 2, 3}, nil, nil, 1, 2, nil); return err },
		"id range":     func() error { _, err := m.Forward([]int64{1, 10}, nil, nil, 1, 2, nil); return err },
		"too long":     func() error { _, err := m.Forward([]int64{1, 1, 1, 1, 1}, nil, nil, 1, 5, nil); return err },
		"token type":   func() error { _, err := m.Forward([]int64{1, 2}, []int64{0, 2}, nil, 1, 2, nil); return err },
		"mask length":  func() error { _, err := m.Forward([]int64{1, 2}, nil, nil, 1, 2, []bool{true}); return err },
		"position ids": func() error { _, err := m.Forward([]int64{1, 2}, nil, []int64{0}, 1, 2, nil); return err },
		"empty batch":  func() error { _, err := m.Forward(nil, nil, nil, 0, 0, nil); return err },
	}
	for name, fn := range cases {
		if err := fn(); err == nil {
			t.Errorf("%s: no error", name)
		} else {
			t.Logf("%s: %v", name, err)
		}
	}
	if _, err := NewBERT(BERTConfig{HiddenSize: 10, NumAttentionHeads: 3}); err == nil {
		t.Error("bad config accepted")
	}
	out, err := m.Forward([]int64{1, 2, 3}, nil, nil, 1, 3, nil)
	if err != nil {
		t.Fatal(err)
	}
	if s := nn.Shape(out); len(s) != 3 || s[0] != 1 || s[1] != 3 || s[2] != 8 {
		t.Errorf("shape %v", s)
	}
}

// BenchmarkBERTBase256 runs bert-base (random weights) on one 256-token caption.
func BenchmarkBERTBase256(b *testing.B) {
	m, err := NewBERT(BERTBaseConfig())
	if err != nil {
		b.Fatal(err)
	}
	weights.Randomize(m, 7)
	const L = 256
	ids := make([]int64, L)
	for i := range ids {
		ids[i] = int64(1000 + i*37%20000)
	}
	ids[0], ids[L-1] = 101, 102
	for i := 8; i < L-1; i += 8 {
		ids[i] = 1012
	}
	mask, pos := tokenize.TextSelfAttentionMask(ids)
	b.ResetTimer()
	start := time.Now()
	for i := 0; i < b.N; i++ {
		if _, err := m.Forward(ids, nil, pos, 1, L, mask); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(time.Since(start).Milliseconds())/float64(b.N), "ms/op")
}

// TestBERTManifest checks that the full-size checkpoints' text keys and
// shapes are exactly what NewBERT allocates from their text_config (and
// that the text projection is hidden → d_model).
func TestBERTManifest(t *testing.T) {
	for _, name := range []string{"grounding-dino-tiny", "grounding-dino-base"} {
		t.Run(name, func(t *testing.T) {
			man := fixture.ReadManifest(t, name)
			var m struct {
				Config struct {
					DModel     int        `json:"d_model"`
					TextConfig BERTConfig `json:"text_config"`
				}
			}
			if err := json.Unmarshal(man.Config, &m.Config); err != nil {
				t.Fatal(err)
			}
			bert, err := NewBERT(m.Config.TextConfig)
			if err != nil {
				t.Fatal(err)
			}
			proj := nn.NewLinear(m.Config.TextConfig.HiddenSize, m.Config.DModel, true)
			ours := map[string][]int{}
			optional := map[string]bool{}
			weights.Walk("text_backbone", bert, func(k string, d *tensor.Dense, opt bool) {
				ours[k] = []int(d.Shape())
				optional[k] = opt
			})
			weights.Walk("text_projection", &proj, func(k string, d *tensor.Dense, _ bool) { ours[k] = []int(d.Shape()) })
			seen := map[string]bool{}
			for _, k := range man.Keys {
				key := strings.TrimPrefix(k.Name, "model.")
				if !strings.HasPrefix(key, "text_backbone.") && !strings.HasPrefix(key, "text_projection.") {
					continue
				}
				shape, ok := ours[key]
				if !ok {
					if !strings.HasSuffix(key, "position_ids") {
						t.Errorf("manifest key %s not bound", k.Name)
					}
					continue
				}
				seen[key] = true
				if fmt.Sprint(shape) != fmt.Sprint(k.Shape) {
					t.Errorf("%s: shape %v, manifest %v", k.Name, shape, k.Shape)
				}
			}
			for k := range ours {
				if !seen[k] && !optional[k] {
					t.Errorf("model tensor %s not in the manifest", k)
				}
			}
			t.Logf("%d text keys matched (%+v)", len(seen), m.Config.TextConfig)
		})
	}
}
