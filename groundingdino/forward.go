package groundingdino

import (
	"context"
	"fmt"

	"github.com/gsam-go/gsam/backbone"
	"github.com/gsam-go/gsam/decoder"
	"github.com/gsam-go/gsam/enhancer"
	"github.com/gsam-go/gsam/nn"
	"github.com/gsam-go/gsam/query"
	"github.com/gsam-go/gsam/tokenize"
	"gorgonia.org/tensor"
)

// Inputs are what the processor produces, in the reference's layout.
type Inputs struct {
	PixelValues *tensor.Dense // [B, 3, H, W], normalised
	PixelMask   []uint8       // B×H×W, 1 on real pixels; nil = no padding
	// InputIDs, TokenTypeIDs and AttentionMask are B×T row-major, padded
	// to the longest caption (AttentionMask 0 on padding). T ≤ max_text_len.
	InputIDs, TokenTypeIDs, AttentionMask []int64
	T                                     int
}

// Outputs are GroundingDinoObjectDetectionOutput's tensors.
type Outputs struct {
	Logits    *tensor.Dense // [B, Q, max_text_len]
	PredBoxes *tensor.Dense // [B, Q, 4] (cx, cy, w, h) in [0, 1]

	EncoderLastHiddenStateVision *tensor.Dense
	EncoderLastHiddenStateText   *tensor.Dense
	EncOutputsClass              *tensor.Dense
	EncOutputsCoordLogits        *tensor.Dense
	EncoderLogits                *tensor.Dense
	EncoderPredBoxes             *tensor.Dense
	InitReferencePoints          *tensor.Dense
	IntermediateHiddenStates     *tensor.Dense
	IntermediateReferencePoints  *tensor.Dense
	LastHiddenState              *tensor.Dense

	releasable bool // made without a trace: Release may recycle it
}

// Release hands the large tensors of out (the encoder's last vision state,
// the scores and boxes of every position and query, the decoder's hidden
// states) back to the scratch memory that the next Forward takes its
// buffers from, and clears them from out, so that a warm forward does not
// allocate them again. Call it when done with out (Detector.Detect does
// after post-processing); nothing may read those tensors afterwards. It does
// nothing for a traced forward's outputs (the trace holds them) or a second
// time.
func (m *Model) Release(out *Outputs) {
	if out == nil || !out.releasable {
		return
	}
	out.releasable = false
	nn.Release(out.EncoderLastHiddenStateVision, out.EncOutputsClass, out.EncOutputsCoordLogits, out.EncoderLogits,
		out.Logits, out.PredBoxes, out.IntermediateHiddenStates, out.LastHiddenState)
	out.EncoderLastHiddenStateVision, out.EncOutputsClass, out.EncOutputsCoordLogits, out.EncoderLogits = nil, nil, nil, nil
	out.Logits, out.PredBoxes, out.IntermediateHiddenStates, out.LastHiddenState = nil, nil, nil, nil
}

// Trace, when not nil, receives intermediate tensors under the reference's
// names (act.model.…, output.…), for gsam verify.
type Trace func(name string, t *tensor.Dense)

func (tr Trace) put(name string, t *tensor.Dense) {
	if tr != nil && t != nil {
		tr(name, t)
		for _, alias := range traceAliases[name] {
			tr(alias, t)
		}
	}
}

// traceAliases lists the other names a reference dump stores the same
// tensor under (a module's output is also its parent's, or a model output).
var traceAliases = func() map[string][]string {
	a := map[string][]string{
		"act.model.text_backbone.last_hidden_state": {"act.model.text_backbone.encoder.last_hidden_state"},
		"output.encoder_last_hidden_state_vision":   {"act.model.encoder.last_hidden_state_vision", "act.model.encoder_last_hidden_state_vision"},
		"output.encoder_last_hidden_state_text":     {"act.model.encoder.last_hidden_state_text", "act.model.encoder_last_hidden_state_text"},
		"output.init_reference_points":              {"act.model.init_reference_points"},
		"output.encoder_pred_boxes":                 {"act.model.encoder_pred_boxes"},
		"output.encoder_logits":                     {"act.model.encoder_logits"},
		"output.enc_outputs_coord_logits":           {"act.model.enc_outputs_coord_logits"},
		"output.intermediate_hidden_states":         {"act.model.intermediate_hidden_states", "act.model.decoder.intermediate_hidden_states"},
		"output.intermediate_reference_points":      {"act.model.intermediate_reference_points", "act.model.decoder.intermediate_reference_points"},
		"output.last_hidden_state":                  {"act.model.last_hidden_state", "act.model.decoder.last_hidden_state"},
	}
	for i := 0; i < 8; i++ {
		a[fmt.Sprintf("act.model.backbone.conv_encoder.%d.0", i)] = []string{
			fmt.Sprintf("act.model.backbone.conv_encoder.model.feature_maps.%d", i), fmt.Sprintf("act.model.backbone.0.%d.0", i)}
		a[fmt.Sprintf("act.model.backbone.conv_encoder.%d.1", i)] = []string{fmt.Sprintf("act.model.backbone.0.%d.1", i)}
		a[fmt.Sprintf("act.model.input_proj_vision.%d", i)] = []string{fmt.Sprintf("act.model.input_proj_vision.%d.1", i)}
		for _, m := range []string{"vision", "text"} {
			a[fmt.Sprintf("output.encoder_%s_hidden_states.%d", m, i)] = []string{
				fmt.Sprintf("act.model.encoder.%s_hidden_states.%d", m, i), fmt.Sprintf("act.model.encoder_%s_hidden_states.%d", m, i)}
		}
	}
	return a
}()

// Stage timings can be observed through a StageHook (gsam bench): it is
// called as each stage starts, with "text" (traced runs only: otherwise the
// text encoder runs alongside the vision backbone and its time falls in
// "backbone"), "backbone", "encoder", "query", "decoder" and "done".
type StageHook func(stage string)

// Forward runs the detector. trace and hook may be nil. The outputs are the
// caller's; hand them to Release once done so that the next forward reuses
// their memory (Detector.Detect does).
func (m *Model) Forward(ctx context.Context, in Inputs, trace Trace, hook StageHook) (*Outputs, error) {
	if in.PixelValues == nil {
		return nil, fmt.Errorf("groundingdino: no pixel values")
	}
	ps := in.PixelValues.Shape()
	if len(ps) != 4 || ps[1] != 3 || ps[2] == 0 || ps[3] == 0 {
		return nil, fmt.Errorf("groundingdino: pixel values %v, want [B, 3, H, W]", ps)
	}
	B, H, W, T := ps[0], ps[2], ps[3], in.T
	if T <= 0 || len(in.InputIDs) != B*T || len(in.AttentionMask) != B*T || (in.TokenTypeIDs != nil && len(in.TokenTypeIDs) != B*T) {
		return nil, fmt.Errorf("groundingdino: text inputs of %d ids / %d mask values for %d captions of %d tokens", len(in.InputIDs), len(in.AttentionMask), B, T)
	}
	if T > m.Config.MaxTextLen {
		return nil, fmt.Errorf("groundingdino: %d text tokens exceed max_text_len %d (split the prompt)", T, m.Config.MaxTextLen)
	}
	if in.PixelMask != nil && len(in.PixelMask) != B*H*W {
		return nil, fmt.Errorf("groundingdino: pixel mask has %d values, want %d", len(in.PixelMask), B*H*W)
	}
	pixelMask := in.PixelMask // nil: every pixel is real, for the backbone too
	stage := func(name string) error {
		if hook != nil {
			hook(name)
		}
		return ctx.Err()
	}

	// Text: BERT sees the sub-sentence mask and position ids, not the padding mask.
	// Only a traced run has a "text" stage of its own (see below).
	if trace != nil {
		if err := stage("text"); err != nil {
			return nil, err
		}
	} else if err := ctx.Err(); err != nil {
		return nil, err
	}
	selfAttn := make([]bool, B*T*T)
	posIDs := make([]int64, B*T)
	for b := 0; b < B; b++ {
		mk, p := tokenize.TextSelfAttentionMask(in.InputIDs[b*T : (b+1)*T])
		copy(selfAttn[b*T*T:], mk)
		copy(posIDs[b*T:], p)
	}
	textMask := make([]bool, B*T)
	for i, v := range in.AttentionMask {
		textMask[i] = v != 0
	}
	var textHidden, textFeatures *tensor.Dense
	runText := func() error {
		var err error
		textHidden, err = m.Text.Forward(in.InputIDs, in.TokenTypeIDs, posIDs, B, T, selfAttn)
		if err != nil {
			return fmt.Errorf("groundingdino: text backbone: %w", err)
		}
		textFeatures = m.TextProjection.Forward(textHidden)
		return nil
	}
	// Untraced, the text runs alongside the vision backbone: BERT on a
	// caption is a few thin products bound by reading the weights, which
	// fill the compute-bound Swin's gaps (its time then shows inside the
	// "backbone" stage).
	var textDone chan error
	if trace == nil {
		textDone = make(chan error, 1)
		go func() { textDone <- runText() }()
	} else {
		if err := runText(); err != nil {
			return nil, err
		}
		trace.put("act.model.text_backbone.last_hidden_state", textHidden)
		trace.put("act.model.text_projection", textFeatures)
	}
	waitText := func() error {
		if textDone == nil {
			return nil
		}
		err := <-textDone
		textDone = nil
		return err
	}
	defer waitText() // an early return still lets the text finish first

	// Vision: backbone, projections, flattening.
	if err := stage("backbone"); err != nil {
		return nil, err
	}
	maps, err := m.Vision.Backbone.Forward(ctx, in.PixelValues, pixelMask)
	if err != nil {
		return nil, fmt.Errorf("groundingdino: backbone: %w", err)
	}
	if err := waitText(); err != nil {
		return nil, err
	}
	for i, fm := range maps {
		trace.put(fmt.Sprintf("act.model.backbone.conv_encoder.%d.0", i), fm.Features)
		if trace != nil {
			trace.put(fmt.Sprintf("act.model.backbone.conv_encoder.%d.1", i), maskTensor(fm.Mask, fm.Features.Shape()))
		}
	}
	levels := m.Vision.Project(maps, pixelMask, B, H, W)
	for i, lv := range levels {
		trace.put(fmt.Sprintf("act.model.input_proj_vision.%d", i), lv.Source)
		name := "act.model.backbone.position_embedding"
		if i > 0 {
			name += fmt.Sprintf("#%d", i+1)
		}
		trace.put(name, lv.PosEmbed)
		if i < len(maps) { // the joiner returns the backbone levels' position embeddings
			trace.put(fmt.Sprintf("act.model.backbone.1.%d", i), lv.PosEmbed)
		}
	}
	flat, err := backbone.Flatten(levels, m.Vision.LevelEmbed)
	if err != nil {
		return nil, err
	}
	if trace == nil {
		// Flatten copied the maps and levels (a trace keeps them).
		for _, fm := range maps {
			nn.Release(fm.Features)
		}
		for _, lv := range levels {
			nn.Release(lv.Source, lv.PosEmbed)
		}
	}
	visionMask := make([]bool, len(flat.Mask))
	for i, v := range flat.Mask {
		visionMask[i] = v != 0
	}

	// Feature enhancer.
	if err := stage("encoder"); err != nil {
		return nil, err
	}
	enc, err := m.Encoder.Forward(ctx, enhancer.Inputs{
		Vision: flat.Source, VisionPos: flat.PosEmbed, VisionMask: visionMask,
		SpatialShapes: flat.SpatialShapes, LevelStart: flat.LevelStart, ValidRatios: nn.Data(flat.ValidRatios),
		Text: textFeatures, TextMask: textMask, TextSelfAttention: selfAttn, TextPositionIDs: posIDs,
		KeepStates: trace != nil, // every layer's output only for a trace
		OwnVision:  true,         // the flattened tokens are not needed again
	})
	if err != nil {
		return nil, fmt.Errorf("groundingdino: encoder: %w", err)
	}
	if trace == nil {
		nn.Release(flat.PosEmbed)
	}
	trace.put("output.encoder_last_hidden_state_vision", enc.Vision)
	trace.put("output.encoder_last_hidden_state_text", enc.Text)
	for i := range enc.VisionStates {
		trace.put(fmt.Sprintf("output.encoder_vision_hidden_states.%d", i), enc.VisionStates[i])
		trace.put(fmt.Sprintf("output.encoder_text_hidden_states.%d", i), enc.TextStates[i])
	}

	// Language-guided query selection.
	if err := stage("query"); err != nil {
		return nil, err
	}
	sel, err := m.Query.Forward(query.Input{
		Vision: enc.Vision, Text: enc.Text, TextFeatures: textFeatures,
		VisionMask: visionMask, TextMask: textMask, SpatialShapes: flat.SpatialShapes,
	})
	if err != nil {
		return nil, fmt.Errorf("groundingdino: query selection: %w", err)
	}
	if trace == nil && sel.ObjectQuery != nil {
		nn.Release(sel.ObjectQuery) // the targets, if taken from it, are copies
	}

	// Cross-modality decoder and heads.
	if err := stage("decoder"); err != nil {
		return nil, err
	}
	dec, err := m.Decoder.Forward(decoder.Input{
		Target: sel.Target, ReferencePoints: sel.ReferencePoints,
		Vision: enc.Vision, VisionMask: visionMask, Text: enc.Text, TextMask: textMask,
		SpatialShapes: flat.SpatialShapes, ValidRatios: nn.Data(flat.ValidRatios),
	})
	if err != nil {
		return nil, fmt.Errorf("groundingdino: decoder: %w", err)
	}
	if trace == nil {
		nn.Release(sel.Target) // the decoder's first input, no output's
	}
	out := &Outputs{
		Logits: dec.Logits, PredBoxes: dec.PredBoxes,
		EncoderLastHiddenStateVision: enc.Vision, EncoderLastHiddenStateText: enc.Text,
		EncOutputsClass: sel.EncOutputsClass, EncOutputsCoordLogits: sel.EncOutputsCoordLogits,
		EncoderLogits: sel.EncoderLogits, InitReferencePoints: sel.ReferencePoints,
		IntermediateHiddenStates: dec.IntermediateHiddenStates, IntermediateReferencePoints: dec.IntermediateReferencePoints,
		LastHiddenState: dec.LastHiddenState,
		releasable:      trace == nil,
	}
	if sel.TopK != nil {
		out.EncoderPredBoxes = sel.ReferencePoints
	}
	for name, t := range map[string]*tensor.Dense{
		"output.logits": out.Logits, "output.pred_boxes": out.PredBoxes,
		"output.enc_outputs_class": out.EncOutputsClass, "output.enc_outputs_coord_logits": out.EncOutputsCoordLogits,
		"output.encoder_logits": out.EncoderLogits, "output.encoder_pred_boxes": out.EncoderPredBoxes,
		"output.init_reference_points": out.InitReferencePoints, "output.intermediate_hidden_states": out.IntermediateHiddenStates,
		"output.intermediate_reference_points": out.IntermediateReferencePoints, "output.last_hidden_state": out.LastHiddenState,
	} {
		trace.put(name, t)
	}
	if err := stage("done"); err != nil {
		return nil, err
	}
	return out, nil
}

// maskTensor shows a feature map's pixel mask [B, h, w] as a tensor for the
// trace (the dump stores it as uint8).
func maskTensor(mask []uint8, featShape []int) *tensor.Dense {
	v := make([]float32, len(mask))
	for i, m := range mask {
		v[i] = float32(m)
	}
	return nn.FromData(v, featShape[0], featShape[2], featShape[3])
}
