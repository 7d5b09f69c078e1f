package enhancer

import (
	"fmt"
	"testing"

	"github.com/gsam-go/gsam/internal/fixture"
	"github.com/gsam-go/gsam/nn"
)

// TestMultiscaleDeformableAttention feeds each encoder layer's deformable
// self-attention the stored fusion-layer output and checks its output and
// attention weights.
func TestMultiscaleDeformableAttention(t *testing.T) {
	for _, name := range gdinoFixtures {
		t.Run(name, func(t *testing.T) {
			c := loadEncoderCase(t, name)
			cfg := c.cfg
			for n := 0; n < cfg.EncoderLayers; n++ {
				p := fmt.Sprintf("model.encoder.layers.%d.deformable_layer.self_attn", n)
				m := NewMultiscaleDeformableAttention(cfg.DModel, cfg.EncoderAttentionHeads, cfg.NumFeatureLevels, cfg.EncoderNPoints)
				c.bind(t, p, &m)
				hidden := fixture.Float(t, c.f, fmt.Sprintf("act.model.encoder.layers.%d.fusion_layer.0.0", n))
				out, w := m.Forward(hidden, c.in.VisionPos, hidden, c.in.VisionMask, c.ref, c.in.SpatialShapes, c.in.LevelStart)
				c.check(t, "act."+p+".0", out)
				c.check(t, "act."+p+".1", w)
			}
		})
	}
}

// TestMultiscaleDeformableAttentionBoxes checks the decoder's use (reference
// boxes, 4 coordinates) on decoder layer 0's cross-attention, rebuilding its
// input from the stored self- and text cross-attention outputs.
func TestMultiscaleDeformableAttentionBoxes(t *testing.T) {
	for _, name := range gdinoFixtures {
		t.Run(name, func(t *testing.T) {
			c := loadEncoderCase(t, name)
			cfg := c.cfg
			d := cfg.DModel
			var layer struct {
				SelfAttnLN nn.LayerNorm                  `gsam:"self_attn_layer_norm"`
				TextLN     nn.LayerNorm                  `gsam:"encoder_attn_text_layer_norm"`
				Attn       MultiscaleDeformableAttention `gsam:"encoder_attn"`
			}
			layer.SelfAttnLN = nn.NewLayerNorm(d, cfg.eps())
			layer.TextLN = nn.NewLayerNorm(d, cfg.eps())
			layer.Attn = NewMultiscaleDeformableAttention(d, cfg.EncoderAttentionHeads, cfg.NumFeatureLevels, cfg.EncoderNPoints)
			c.bind(t, "model.decoder.layers.0", &layer)

			init := fixture.Float(t, c.f, "output.init_reference_points") // [B, Q, 4]
			s := init.Shape()
			B, Q, L := s[0], s[1], cfg.NumFeatureLevels
			target, _, err := c.store.Float32("model.query_position_embeddings.weight")
			if err != nil {
				t.Fatal(err)
			}
			h := make([]float32, B*Q*d)
			for b := 0; b < B; b++ {
				copy(h[b*Q*d:], target[:Q*d])
			}
			add := func(dst []float32, name string) {
				for i, v := range nn.Data(fixture.Float(t, c.f, name)) {
					dst[i] += v
				}
			}
			add(h, "act.model.decoder.layers.0.self_attn.0")
			layer.SelfAttnLN.ForwardInPlace(h)
			add(h, "act.model.decoder.layers.0.encoder_attn_text.0")
			layer.TextLN.ForwardInPlace(h)

			ref := make([]float32, B*Q*L*4)
			id := nn.Data(init)
			for b := 0; b < B; b++ {
				for q := 0; q < Q; q++ {
					for l := 0; l < L; l++ {
						for k := 0; k < 4; k++ {
							ref[((b*Q+q)*L+l)*4+k] = id[(b*Q+q)*4+k] * c.in.ValidRatios[(b*L+l)*2+k%2]
						}
					}
				}
			}
			pos := fixture.Float(t, c.f, "act.model.decoder.reference_points_head")
			enc := fixture.Float(t, c.f, "output.encoder_last_hidden_state_vision")
			out, w := layer.Attn.Forward(nn.FromData(h, B, Q, d), pos, enc, c.in.VisionMask,
				nn.FromData(ref, B, Q, L, 4), c.in.SpatialShapes, c.in.LevelStart)
			c.check(t, "act.model.decoder.layers.0.encoder_attn.0", out)
			c.check(t, "act.model.decoder.layers.0.encoder_attn.1", w)
		})
	}
}
