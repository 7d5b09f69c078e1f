package decoder

import (
	"math/rand/v2"
	"testing"

	"github.com/gsam-go/gsam/internal/fixture"
	"github.com/gsam-go/gsam/nn"
	"github.com/gsam-go/gsam/query"
	"github.com/gsam-go/gsam/weights"
)

// TestChainFromEncoder runs query selection and the decoder back to back
// from the encoder outputs and checks the head's outputs.
func TestChainFromEncoder(t *testing.T) {
	for _, name := range cases {
		t.Run(name, func(t *testing.T) {
			f := fixture.Tensors(t, name+"/case/tensors.safetensors")
			d, store := loadDecoder(t, name)
			in := fixtureInput(t, f, store)

			qcfg := query.Config{DModel: d.Config.DModel, NumQueries: d.Config.NumQueries, MaxTextLen: d.Config.MaxTextLen,
				LayerNormEps: d.Config.LayerNormEps, TwoStage: true, EmbeddingInitTarget: true}
			sel, err := query.New(qcfg)
			if err != nil {
				t.Fatal(err)
			}
			l := weights.NewLoader(store)
			sel.Bind(l)
			l.Ignore("")
			if err := l.Err(); err != nil {
				t.Fatal(err)
			}
			q, err := sel.Forward(query.Input{Vision: in.Vision, Text: in.Text, VisionMask: in.VisionMask,
				TextMask: in.TextMask, SpatialShapes: in.SpatialShapes})
			if err != nil {
				t.Fatal(err)
			}
			in.Target, in.ReferencePoints = q.Target, q.ReferencePoints
			out, err := d.Forward(in)
			if err != nil {
				t.Fatal(err)
			}
			fixture.Check(t, f, "output.logits", out.Logits)
			fixture.Check(t, f, "output.pred_boxes", out.PredBoxes)
		})
	}
}

func TestBadInput(t *testing.T) {
	d, err := New(Config{DModel: 16, DecoderLayers: 1, DecoderAttentionHeads: 2, DecoderFFNDim: 8, DecoderNPoints: 2,
		NumFeatureLevels: 1, NumQueries: 3, MaxTextLen: 4, LayerNormEps: 1e-5, ActivationFunction: "relu"})
	if err != nil {
		t.Fatal(err)
	}
	in := Input{Target: nn.New(1, 3, 16), ReferencePoints: nn.New(1, 3, 4), Vision: nn.New(1, 6, 16),
		VisionMask: make([]bool, 6), Text: nn.New(1, 2, 16), TextMask: make([]bool, 2),
		SpatialShapes: [][2]int{{2, 3}}, ValidRatios: []float32{1, 1}}
	if _, err := d.Forward(in); err != nil {
		t.Fatalf("valid input rejected: %v", err)
	}
	bad := in
	bad.SpatialShapes = [][2]int{{2, 2}}
	if _, err := d.Forward(bad); err == nil {
		t.Error("wrong spatial shapes accepted")
	}
	bad = in
	bad.Text = nn.New(1, 5, 16)
	if _, err := d.Forward(bad); err == nil {
		t.Error("text longer than max_text_len accepted")
	}
	bad = in
	bad.ReferencePoints = nn.New(1, 3, 2)
	if _, err := d.Forward(bad); err == nil {
		t.Error("2-d reference points accepted")
	}
	if _, err := New(Config{DModel: 16, DecoderLayers: 1, DecoderAttentionHeads: 3}); err == nil {
		t.Error("bad config accepted")
	}
}

// BenchmarkDecoderTiny is the full-size decoder and head (6 layers, 900
// queries, d 256, 8 heads) on an 800×1333 image's four levels with random
// weights and a 9-token caption.
func BenchmarkDecoderTiny(b *testing.B) {
	cfg := DefaultConfig()
	d, err := New(cfg)
	if err != nil {
		b.Fatal(err)
	}
	weights.Randomize(d, 1)
	shapes := [][2]int{{100, 167}, {50, 84}, {25, 42}, {13, 21}}
	S := 0
	for _, s := range shapes {
		S += s[0] * s[1]
	}
	r := rand.New(rand.NewPCG(1, 2))
	fill := func(n int, lo, hi float32) []float32 {
		x := make([]float32, n)
		for i := range x {
			x[i] = lo + (hi-lo)*r.Float32()
		}
		return x
	}
	Q, T, D := cfg.NumQueries, 9, cfg.DModel
	mask := make([]bool, S)
	for i := range mask {
		mask[i] = true
	}
	in := Input{
		Target: nn.FromData(fill(Q*D, -1, 1), 1, Q, D), ReferencePoints: nn.FromData(fill(Q*4, 0.05, 0.95), 1, Q, 4),
		Vision: nn.FromData(fill(S*D, -1, 1), 1, S, D), VisionMask: mask,
		Text: nn.FromData(fill(T*D, -1, 1), 1, T, D), TextMask: []bool{true, true, true, true, true, true, true, true, true},
		SpatialShapes: shapes, ValidRatios: []float32{1, 1, 1, 1, 1, 1, 1, 1},
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := d.Forward(in); err != nil {
			b.Fatal(err)
		}
	}
}
