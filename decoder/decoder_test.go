package decoder

import (
	"fmt"
	"testing"

	"github.com/gsam-go/gsam/internal/fixture"
	"github.com/gsam-go/gsam/nn"
	"github.com/gsam-go/gsam/query"
	"github.com/gsam-go/gsam/weights"
	"gorgonia.org/tensor"
)

var cases = []string{"gdino_swin_single", "gdino_swin_batch", "gdino_resnet"}

func loadDecoder(t *testing.T, name string) (*Decoder, *weights.Store) {
	t.Helper()
	var cfg Config
	store := fixture.Model(t, name, &cfg)
	d, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	l := weights.NewLoader(store)
	d.Bind(l)
	l.Ignore("model.backbone.")
	l.Ignore("model.text_backbone.")
	l.Ignore("model.encoder.")
	l.Ignore("model.input_proj_vision.")
	l.Ignore("model.text_projection.")
	l.Ignore("model.level_embed")
	l.Ignore("model.enc_output")
	l.Ignore("model.encoder_output_bbox_embed.")
	l.Ignore("model.query_position_embeddings.")
	if err := l.Err(); err != nil {
		t.Fatal(err) // also catches decoder keys this package did not bind
	}
	return d, store
}

// fixtureInput builds the decoder input from a case's stored tensors; the
// initial queries are query_position_embeddings (embedding_init_target).
func fixtureInput(t *testing.T, f *weights.File, store *weights.Store) Input {
	t.Helper()
	pm, ps := fixture.Int(t, f, "input.pixel_mask")
	am, _ := fixture.Int(t, f, "input.attention_mask")
	var shapes [][2]int
	for l := 0; ; l++ {
		info, ok := f.Info(fmt.Sprintf("act.model.input_proj_vision.%d", l))
		if !ok {
			break
		}
		shapes = append(shapes, [2]int{info.Shape[2], info.Shape[3]})
	}
	pixel := make([]bool, len(pm))
	for i, v := range pm {
		pixel[i] = v != 0
	}
	mask, err := query.FlattenMask(pixel, ps[0], ps[1], ps[2], shapes)
	if err != nil {
		t.Fatal(err)
	}
	ratios, err := query.ValidRatios(mask, ps[0], shapes)
	if err != nil {
		t.Fatal(err)
	}
	text := make([]bool, len(am))
	for i, v := range am {
		text[i] = v != 0
	}
	qpe, qs, err := store.Float32("model.query_position_embeddings.weight")
	if err != nil {
		t.Fatal(err)
	}
	var target []float32
	for b := 0; b < ps[0]; b++ {
		target = append(target, qpe...)
	}
	return Input{
		Target:          nn.FromData(target, ps[0], qs[0], qs[1]),
		ReferencePoints: fixture.Float(t, f, "output.init_reference_points"),
		Vision:          fixture.Float(t, f, "output.encoder_last_hidden_state_vision"),
		VisionMask:      mask,
		Text:            fixture.Float(t, f, "output.encoder_last_hidden_state_text"),
		TextMask:        text,
		SpatialShapes:   shapes,
		ValidRatios:     ratios,
	}
}

func TestDecoderParity(t *testing.T) {
	for _, name := range cases {
		t.Run(name, func(t *testing.T) {
			f := fixture.Tensors(t, name+"/case/tensors.safetensors")
			d, store := loadDecoder(t, name)
			out, err := d.Forward(fixtureInput(t, f, store))
			if err != nil {
				t.Fatal(err)
			}
			fixture.Check(t, f, "output.intermediate_hidden_states", out.IntermediateHiddenStates)
			fixture.Check(t, f, "output.intermediate_reference_points", out.IntermediateReferencePoints)
			fixture.Check(t, f, "output.last_hidden_state", out.LastHiddenState)
			fixture.Check(t, f, "act.model.decoder.intermediate_hidden_states", out.IntermediateHiddenStates)
			fixture.Check(t, f, "act.model.decoder.intermediate_reference_points", out.IntermediateReferencePoints)
			fixture.Check(t, f, "act.model.decoder.last_hidden_state", out.LastHiddenState)
			fixture.Check(t, f, "output.logits", out.Logits)
			fixture.Check(t, f, "output.pred_boxes", out.PredBoxes)
		})
	}
}

// TestLayerBlocks feeds every layer the reference's own inputs and checks
// each sub-block's output, so a failure points at one block.
func TestLayerBlocks(t *testing.T) {
	for _, name := range cases {
		t.Run(name, func(t *testing.T) {
			f := fixture.Tensors(t, name+"/case/tensors.safetensors")
			d, store := loadDecoder(t, name)
			in := fixtureInput(t, f, store)
			B, Q, D := in.Target.Shape()[0], in.Target.Shape()[1], d.Config.DModel
			L, T := d.Config.NumFeatureLevels, in.Text.Shape()[1]
			m := &memory{vision: in.Vision, visionMask: in.VisionMask, text: in.Text,
				textMask: textAttentionMask(in.TextMask, B, Q, T), shapes: in.SpatialShapes,
				levelStart: query.LevelStartIndex(in.SpatialShapes)}
			h := in.Target
			ref := nn.Data(in.ReferencePoints)
			interRef := nn.Data(fixture.Float(t, f, "output.intermediate_reference_points"))
			for idx := range d.Layers {
				act := fmt.Sprintf("act.model.decoder.layers.%d.", idx)
				refIn := make([]float32, B*Q*L*4)
				level0 := make([]float32, B*Q*4)
				for b := 0; b < B; b++ {
					for q := 0; q < Q; q++ {
						for l := 0; l < L; l++ {
							for k := 0; k < 4; k++ {
								refIn[((b*Q+q)*L+l)*4+k] = ref[(b*Q+q)*4+k] * in.ValidRatios[(b*L+l)*2+k%2]
							}
						}
						copy(level0[(b*Q+q)*4:], refIn[(b*Q+q)*L*4:(b*Q+q)*L*4+4])
					}
				}
				pos := d.ReferencePointsHead.Forward(nn.FromData(sinePosEmbed(level0, 4, D/2), B, Q, 2*D))
				posName := "act.model.decoder.reference_points_head"
				if idx > 0 {
					posName += fmt.Sprintf("#%d", idx+1)
				}
				fixture.Check(t, f, posName, pos)
				pos = fixture.Float(t, f, posName)

				ly := &d.Layers[idx]
				qk := nn.Add(h, pos)
				fixture.Check(t, f, act+"self_attn.0", first(ly.SelfAttn.Forward(qk, qk, h, nil)))
				x := ly.selfAttention(h, pos)
				fixture.Check(t, f, act+"encoder_attn_text.0", first(ly.EncoderAttnText.Forward(nn.Add(x, pos), in.Text, in.Text, m.textMask)))
				x = ly.textCrossAttention(x, pos, in.Text, m.textMask)
				cross, _ := ly.EncoderAttn.Forward(x, pos, in.Vision, in.VisionMask, nn.FromData(refIn, B, Q, L, 4), in.SpatialShapes, m.levelStart)
				fixture.Check(t, f, act+"encoder_attn.0", cross)
				want := fixture.Float(t, f, act+"encoder_attn.0")
				x = ly.ffn(ly.residualNorm(x, nn.Clone(want), &ly.EncoderAttnLayerNorm))
				fixture.Check(t, f, fmt.Sprintf("act.model.decoder.layers.%d.0", idx), x)

				// decoder.hidden_states: layer_norm of each layer's input.
				fixture.Check(t, f, fmt.Sprintf("act.model.decoder.hidden_states.%d", idx), d.LayerNorm.Forward(h))
				h = fixture.Float(t, f, act+"0")
				// Box head: the refinement delta on the raw output, then the
				// detection head's call on the normalised one.
				bbox := fmt.Sprintf("act.model.decoder.bbox_embed.%d", idx)
				fixture.Check(t, f, bbox, d.bboxEmbed(idx).Forward(h))
				normed := d.LayerNorm.Forward(h)
				fixture.Check(t, f, bbox+"#2", d.bboxEmbed(idx).Forward(normed))
				logits, err := query.ContrastiveEmbedding(normed, in.Text, in.TextMask, d.Config.MaxTextLen)
				if err != nil {
					t.Fatal(err)
				}
				fixture.Check(t, f, fmt.Sprintf("act.model.decoder.class_embed.%d", idx), logits)
				ref = make([]float32, B*Q*4)
				for b := 0; b < B; b++ {
					copy(ref[b*Q*4:(b+1)*Q*4], interRef[((b*len(d.Layers)+idx)*Q)*4:])
				}
			}
		})
	}
}

// first drops the attention probabilities.
func first(out, _ *tensor.Dense) *tensor.Dense { return out }
