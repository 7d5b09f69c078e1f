package enhancer

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/gsam-go/gsam/internal/fixture"
	"github.com/gsam-go/gsam/nn"
)

// TestEncoderStages feeds every block of every layer its stored input and
// checks its outputs, so a failure names the block.
func TestEncoderStages(t *testing.T) {
	for _, name := range gdinoFixtures {
		t.Run(name, func(t *testing.T) {
			c := loadEncoderCase(t, name)
			cfg, in := c.cfg, &c.in
			B, T := in.Text.Shape()[0], in.Text.Shape()[1]
			textPos := TextPositionEmbedding(in.TextPositionIDs, B, cfg.DModel)
			for n := 0; n < cfg.EncoderLayers; n++ {
				p := fmt.Sprintf("model.encoder.layers.%d", n)
				a := "act." + p
				layer := NewEncoderLayer(cfg)
				c.bind(t, p, &layer)
				vision := fixture.Float(t, c.f, fmt.Sprintf("act.model.encoder.vision_hidden_states.%d", n))
				text := fixture.Float(t, c.f, fmt.Sprintf("act.model.encoder.text_hidden_states.%d", n))

				dv, va, dt, ta := layer.Fusion.Attn.Forward(layer.Fusion.LayerNormVision.Forward(vision), layer.Fusion.LayerNormText.Forward(text), in.VisionMask, in.TextMask)
				c.check(t, a+".fusion_layer.attn.0.0", dv)
				c.check(t, a+".fusion_layer.attn.0.1", va)
				c.check(t, a+".fusion_layer.attn.1.0", dt)
				c.check(t, a+".fusion_layer.attn.1.1", ta)
				fv, fva, ft, fta := layer.Fusion.Forward(vision, text, in.VisionMask, in.TextMask)
				c.check(t, a+".fusion_layer.0.0", fv)
				c.check(t, a+".fusion_layer.0.1", fva)
				c.check(t, a+".fusion_layer.1.0", ft)
				c.check(t, a+".fusion_layer.1.1", fta)
				c.check(t, a+".1.0", fva) // the layer's attention tuple
				c.check(t, a+".1.1", fta)

				ft = fixture.Float(t, c.f, a+".fusion_layer.1.0")
				qk := nn.Add(ft, textPos)
				mask := make([]float32, B*T*T)
				for i, keep := range in.TextSelfAttention {
					if !keep {
						mask[i] = -3.4028234663852886e38
					}
				}
				sa, sp := layer.TextEnhancer.SelfAttn.Forward(qk, qk, ft, nn.FromData(mask, B, 1, T, T))
				c.check(t, a+".text_enhancer_layer.self_attn.0", sa)
				c.check(t, a+".text_enhancer_layer.self_attn.1", sp)
				te, tp := layer.TextEnhancer.Forward(ft, textPos, in.TextSelfAttention)
				c.check(t, a+".text_enhancer_layer.0", te)
				c.check(t, a+".text_enhancer_layer.1", tp)
				c.check(t, a+".1.2", tp)

				fv = fixture.Float(t, c.f, a+".fusion_layer.0.0")
				dl, dw := layer.Deformable.Forward(fv, in.VisionPos, in.VisionMask, c.ref, in.SpatialShapes, in.LevelStart)
				c.check(t, a+".deformable_layer.0", dl)
				c.check(t, a+".deformable_layer.1", dw)
				c.check(t, a+".1.3", dw)

				lv, lt := layer.Forward(vision, text, in, c.ref, textPos)
				c.check(t, a+".0.0", lv)
				c.check(t, a+".0.1", lt)
			}
		})
	}
}

// TestEncoder runs the whole encoder from the flattened inputs and checks
// every hidden state and the model outputs.
// TestEncoderRefusesOversizedImage: an image whose flattened features
// would not fit the deformable attention's 32-bit offsets gets an error,
// not a panic (the limit is lowered here instead of building 8 GB).
func TestEncoderRefusesOversizedImage(t *testing.T) {
	c := loadEncoderCase(t, gdinoFixtures[0])
	enc := NewEncoder(c.cfg)
	c.bind(t, "model.encoder", &enc)
	vs := c.in.Vision.Shape()
	defer func(v int64) { maxImageValues = v }(maxImageValues)
	maxImageValues = int64(vs[1]*vs[2]) - 1
	_, err := enc.Forward(context.Background(), c.in)
	if err == nil || !strings.Contains(err.Error(), "smaller image") {
		t.Fatalf("oversized image: err = %v, want the size error", err)
	}
	maxImageValues = int64(vs[1] * vs[2])
	if _, err := enc.Forward(context.Background(), c.in); err != nil {
		t.Fatalf("at the limit: %v", err)
	}
}

func TestEncoder(t *testing.T) {
	for _, name := range gdinoFixtures {
		t.Run(name, func(t *testing.T) {
			c := loadEncoderCase(t, name)
			enc := NewEncoder(c.cfg)
			c.bind(t, "model.encoder", &enc)
			in := c.in
			in.KeepStates = true
			out, err := enc.Forward(context.Background(), in)
			if err != nil {
				t.Fatal(err)
			}
			worst := 0.0
			for i := range out.VisionStates {
				worst = max(worst, c.check(t, fmt.Sprintf("act.model.encoder.vision_hidden_states.%d", i), out.VisionStates[i]))
				worst = max(worst, c.check(t, fmt.Sprintf("act.model.encoder.text_hidden_states.%d", i), out.TextStates[i]))
			}
			for _, n := range []string{"act.model.encoder.last_hidden_state_vision", "output.encoder_last_hidden_state_vision"} {
				worst = max(worst, c.check(t, n, out.Vision))
			}
			for _, n := range []string{"act.model.encoder.last_hidden_state_text", "output.encoder_last_hidden_state_text"} {
				worst = max(worst, c.check(t, n, out.Text))
			}
			// Without the kept states the layers work in place: same outputs,
			// and the caller's inputs are left alone.
			src := nn.Clone(c.in.Vision)
			lean, err := enc.Forward(context.Background(), c.in)
			if err != nil {
				t.Fatal(err)
			}
			if lean.VisionStates != nil || lean.TextStates != nil {
				t.Errorf("states kept without KeepStates")
			}
			worst = max(worst, c.check(t, "output.encoder_last_hidden_state_vision", lean.Vision))
			worst = max(worst, c.check(t, "output.encoder_last_hidden_state_text", lean.Text))
			for i, v := range nn.Data(src) {
				if nn.Data(c.in.Vision)[i] != v {
					t.Fatalf("encoder changed its input vision at %d", i)
				}
			}
			t.Logf("%s: encoder max abs error %.3g", name, worst)
		})
	}
}

// TestTextPositionEmbedding pins the truncating cast: position 0 gives
// cos = 1 on odd features; later positions keep only cos(2π·pos) = 1 of the
// first pair and zeros wherever |sin|, |cos| < 1.
func TestTextPositionEmbedding(t *testing.T) {
	e := nn.Data(TextPositionEmbedding([]int64{0, 3, 0, 1}, 2, 8))
	want := []float32{
		0, 1, 0, 1, 0, 1, 0, 1,
		0, 1, 0, 0, 0, 0, 0, 0,
		0, 1, 0, 1, 0, 1, 0, 1,
		0, 1, 0, 0, 0, 0, 0, 0,
	}
	for i := range want {
		if e[i] != want[i] {
			t.Fatalf("embedding %v, want %v", e, want)
		}
	}
}
