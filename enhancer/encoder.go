package enhancer

import (
	"context"
	"fmt"
	"math"

	"github.com/gsam-go/gsam/nn"
	"gorgonia.org/tensor"
)

// Inputs are the encoder's inputs as GroundingDinoModel.forward prepares
// them. Masks use "true = real token/pixel"; the reference's inverted
// (padding = true) masks are derived inside.
type Inputs struct {
	Vision        *tensor.Dense // source_flatten [B, S, d]
	VisionPos     *tensor.Dense // lvl_pos_embed_flatten [B, S, d]
	VisionMask    []bool        // mask_flatten [B·S], true = real pixel
	SpatialShapes [][2]int      // per level (height, width)
	LevelStart    []int         // level_start_index
	ValidRatios   []float32     // [B, L, 2] (width, height) ratios

	Text              *tensor.Dense // projected text features [B, T, d]
	TextMask          []bool        // attention_mask [B·T], true = real token
	TextSelfAttention []bool        // sub-sentence mask [B, T, T], true = may attend
	TextPositionIDs   []int64       // [B·T]

	// KeepStates fills Output.VisionStates and TextStates. They hold every
	// layer's [B, S, d] image tokens (23 MB each at 800×1333), so only a
	// trace should ask for them; without them each layer updates the
	// previous one's buffers in place and the memory is reused.
	KeepStates bool
	// OwnVision lets the first layer update Vision in place too, when the
	// caller does not need it again (otherwise it works on a copy).
	OwnVision bool
}

// EncoderLayer is GroundingDinoEncoderLayer. Its forward runs the fusion
// layer first, then the text enhancer on the fused text and the deformable
// layer on the fused image.
type EncoderLayer struct {
	TextEnhancer TextEnhancerLayer `gsam:"text_enhancer_layer"`
	Fusion       FusionLayer       `gsam:"fusion_layer"`
	Deformable   DeformableLayer   `gsam:"deformable_layer"`
}

// NewEncoderLayer allocates one layer.
func NewEncoderLayer(cfg Config) EncoderLayer {
	return EncoderLayer{
		TextEnhancer: NewTextEnhancerLayer(cfg),
		Fusion:       NewFusionLayer(cfg),
		Deformable:   NewDeformableLayer(cfg),
	}
}

// Forward runs the layer on vision [B, S, d] and text [B, T, d]; in supplies
// the masks and level layout, referencePoints the encoder's [B, S, L, 2]
// points and textPos the text position embedding [B, T, d].
func (l *EncoderLayer) Forward(vision, text *tensor.Dense, in *Inputs, referencePoints, textPos *tensor.Dense) (visionOut, textOut *tensor.Dense) {
	return l.forward(vision, text, in, referencePoints, textPos, false)
}

// forward is Forward; owned says vision is the encoder's own (no caller or
// kept state refers to it), so the fusion layer may normalise it in place.
func (l *EncoderLayer) forward(vision, text *tensor.Dense, in *Inputs, referencePoints, textPos *tensor.Dense, owned bool) (visionOut, textOut *tensor.Dense) {
	vision, _, text, _ = l.Fusion.forward(vision, text, in.VisionMask, in.TextMask, owned, false)
	text, _ = l.TextEnhancer.Forward(text, textPos, in.TextSelfAttention)
	// The fused image tokens are always the layer's own (a clone or, when
	// owned, the input itself), so the deformable layer updates them in place.
	vision, _ = l.Deformable.forward(vision, in.VisionPos, in.VisionMask, referencePoints, in.SpatialShapes, in.LevelStart, true)
	return vision, text
}

// Encoder is GroundingDinoEncoder, bound under "model.encoder".
type Encoder struct {
	Layers []EncoderLayer `gsam:"layers"`
}

// NewEncoder allocates encoder_layers layers.
func NewEncoder(cfg Config) Encoder {
	e := Encoder{}
	for i := 0; i < cfg.EncoderLayers; i++ {
		e.Layers = append(e.Layers, NewEncoderLayer(cfg))
	}
	return e
}

// Output is the encoder's result.
type Output struct {
	Vision, Text *tensor.Dense // last_hidden_state_vision [B, S, d], last_hidden_state_text [B, T, d]
	// VisionStates and TextStates are the hidden states entering each
	// layer followed by the final ones (vision_hidden_states,
	// text_hidden_states); nil unless Inputs.KeepStates.
	VisionStates, TextStates []*tensor.Dense
}

// Forward runs all layers, checking ctx before each so a cancelled call
// returns within one layer's time.
// maxImageValues is the most values an image's flattened features may
// hold: cpu.MSDeformAttn addresses them with 32-bit offsets (about 400
// million pixels at d_model 256). A variable so that a test can lower it.
var maxImageValues int64 = math.MaxInt32

func (e *Encoder) Forward(ctx context.Context, in Inputs) (Output, error) {
	vs, ts := in.Vision.Shape(), in.Text.Shape()
	B, S, d := vs[0], vs[1], vs[2]
	T := ts[1]
	if len(in.VisionMask) != 0 && len(in.VisionMask) != B*S {
		return Output{}, fmt.Errorf("enhancer: vision mask has %d values, want %d", len(in.VisionMask), B*S)
	}
	if len(in.TextMask) != 0 && len(in.TextMask) != B*T {
		return Output{}, fmt.Errorf("enhancer: text mask has %d values, want %d", len(in.TextMask), B*T)
	}
	if int64(S)*int64(d) > maxImageValues {
		return Output{}, fmt.Errorf("enhancer: %d positions × %d channels per image exceed the deformable attention's %d values: use a smaller image", S, d, maxImageValues)
	}
	if len(in.TextSelfAttention) != B*T*T || len(in.TextPositionIDs) != B*T {
		return Output{}, fmt.Errorf("enhancer: text self-attention mask (%d) or position ids (%d) do not match text %v",
			len(in.TextSelfAttention), len(in.TextPositionIDs), ts)
	}
	ref := ReferencePoints(in.SpatialShapes, in.ValidRatios, B)
	defer nn.Release(ref) // only the layers read it
	textPos := TextPositionEmbedding(in.TextPositionIDs, B, d)
	vision, text := in.Vision, in.Text
	out := Output{}
	for i := range e.Layers {
		if err := ctx.Err(); err != nil {
			return Output{}, err
		}
		if in.KeepStates {
			out.VisionStates = append(out.VisionStates, vision)
			out.TextStates = append(out.TextStates, text)
		}
		owned := (i > 0 || in.OwnVision) && !in.KeepStates
		vision, text = e.Layers[i].forward(vision, text, &in, ref, textPos, owned)
	}
	if in.KeepStates {
		out.VisionStates = append(out.VisionStates, vision)
		out.TextStates = append(out.TextStates, text)
	}
	out.Vision, out.Text = vision, text
	return out, nil
}
