package decoder

import (
	"fmt"
	"strconv"

	"github.com/gsam-go/gsam/nn"
	"github.com/gsam-go/gsam/query"
	"github.com/gsam-go/gsam/weights"
	"gorgonia.org/tensor"
)

// Decoder is GroundingDinoDecoder with the detection head. Layers,
// LayerNorm and ReferencePointsHead live under "model.decoder"; the box
// heads under the top-level "bbox_embed" (see Bind).
type Decoder struct {
	Layers              []Layer      `gsam:"layers"`
	LayerNorm           nn.LayerNorm `gsam:"layer_norm"`
	ReferencePointsHead nn.MLP       `gsam:"reference_points_head"`
	// BBoxEmbed holds one box head per layer, or a single shared one when
	// decoder_bbox_embed_share is set (the Hub's checkpoints).
	BBoxEmbed []nn.MLP `gsam:"-"`

	Config Config
}

// New allocates the decoder and head for cfg.
func New(cfg Config) (*Decoder, error) {
	if cfg.QueryDim == 0 {
		cfg.QueryDim = 4
	}
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	d := cfg.DModel
	dec := &Decoder{
		LayerNorm:           nn.NewLayerNorm(d, cfg.LayerNormEps),
		ReferencePointsHead: nn.NewMLP(cfg.QueryDim/2*d, d, d, 2, "relu"),
		Config:              cfg,
	}
	for i := 0; i < cfg.DecoderLayers; i++ {
		dec.Layers = append(dec.Layers, NewLayer(cfg))
	}
	heads := cfg.DecoderLayers
	if cfg.DecoderBBoxEmbedShare {
		heads = 1
	}
	for i := 0; i < heads; i++ {
		dec.BBoxEmbed = append(dec.BBoxEmbed, nn.NewMLP(d, d, 4, 3, "relu"))
	}
	return dec, nil
}

// Bind loads the weights from l. The box heads are tied in the reference
// (bbox_embed.i is model.decoder.bbox_embed.i, and with sharing every i is
// 0): a checkpoint may store any of these names, and the duplicates of a
// tied tensor are not reported as unused.
func (d *Decoder) Bind(l *weights.Loader) {
	l.Bind("model.decoder", d)
	for i := range d.BBoxEmbed {
		for j := range d.BBoxEmbed[i].Layers {
			for _, p := range []string{"weight", "bias"} {
				k := "layers." + strconv.Itoa(j) + "." + p
				key := "bbox_embed." + strconv.Itoa(i) + "." + k
				l.Alias(key, "model.decoder."+key)
			}
		}
	}
	l.Bind("bbox_embed", d.BBoxEmbed)
	l.Ignore("model.decoder.bbox_embed.")
	l.Ignore("model.decoder.class_embed.")
	if d.Config.DecoderBBoxEmbedShare {
		l.Ignore("bbox_embed.")
	}
}

// bboxEmbed is layer i's box head.
func (d *Decoder) bboxEmbed(i int) *nn.MLP {
	return &d.BBoxEmbed[min(i, len(d.BBoxEmbed)-1)]
}

// Input is what the decoder reads: the selected queries and the encoder's
// memory.
type Input struct {
	Target          *tensor.Dense // [B, Q, d] initial queries
	ReferencePoints *tensor.Dense // [B, Q, 4] initial boxes (cx, cy, w, h) in [0, 1]
	Vision          *tensor.Dense // [B, S, d] encoder last_hidden_state_vision
	VisionMask      []bool        // B×S mask_flatten, true on real pixels
	Text            *tensor.Dense // [B, T, d] encoder last_hidden_state_text
	TextMask        []bool        // B×T attention mask, true on real tokens
	SpatialShapes   [][2]int      // (height, width) per level
	ValidRatios     []float32     // [B, L, 2] (width, height), see query.ValidRatios
}

// Output holds the decoder's and the head's results.
type Output struct {
	LastHiddenState             *tensor.Dense // [B, Q, d] layer_norm of the last layer
	IntermediateHiddenStates    *tensor.Dense // [B, layers, Q, d] layer_norm of every layer
	IntermediateReferencePoints *tensor.Dense // [B, layers, Q, 4] refined boxes after every layer
	Logits                      *tensor.Dense // [B, Q, max_text_len] last layer's token scores, -Inf off the text
	PredBoxes                   *tensor.Dense // [B, Q, 4] (cx, cy, w, h) in [0, 1]
}

func (d *Decoder) check(in Input) error {
	cfg := d.Config
	if in.Target == nil || in.ReferencePoints == nil || in.Vision == nil || in.Text == nil {
		return fmt.Errorf("decoder: target, reference points, vision and text are required")
	}
	ts, rs, vs, xs := in.Target.Shape(), in.ReferencePoints.Shape(), in.Vision.Shape(), in.Text.Shape()
	if len(ts) != 3 || len(rs) != 3 || len(vs) != 3 || len(xs) != 3 {
		return fmt.Errorf("decoder: target %v, reference points %v, vision %v, text %v must be 3-d", ts, rs, vs, xs)
	}
	B, Q, D := ts[0], ts[1], cfg.DModel
	if ts[2] != D || vs[2] != D || xs[2] != D || rs[0] != B || vs[0] != B || xs[0] != B || rs[1] != Q || rs[2] != 4 {
		return fmt.Errorf("decoder: target %v, reference points %v, vision %v, text %v: want [B, Q, %d], [B, Q, 4], [B, S, %d], [B, T, %d]", ts, rs, vs, xs, D, D, D)
	}
	if xs[1] > cfg.MaxTextLen {
		return fmt.Errorf("decoder: %d text tokens exceed max_text_len %d", xs[1], cfg.MaxTextLen)
	}
	L := cfg.NumFeatureLevels
	if len(in.SpatialShapes) != L {
		return fmt.Errorf("decoder: %d spatial shapes for %d feature levels", len(in.SpatialShapes), L)
	}
	S := 0
	for i, s := range in.SpatialShapes {
		if s[0] <= 0 || s[1] <= 0 {
			return fmt.Errorf("decoder: level %d has spatial shape %v", i, s)
		}
		S += s[0] * s[1]
	}
	if S != vs[1] {
		return fmt.Errorf("decoder: spatial shapes %v cover %d positions, vision features have %d", in.SpatialShapes, S, vs[1])
	}
	if len(in.VisionMask) != B*S || len(in.TextMask) != B*xs[1] || len(in.ValidRatios) != B*L*2 {
		return fmt.Errorf("decoder: vision mask %d, text mask %d, valid ratios %d values; want %d, %d, %d",
			len(in.VisionMask), len(in.TextMask), len(in.ValidRatios), B*S, B*xs[1], B*L*2)
	}
	return nil
}

// Forward runs every layer with iterative box refinement and then the head.
func (d *Decoder) Forward(in Input) (*Output, error) {
	if err := d.check(in); err != nil {
		return nil, err
	}
	cfg := d.Config
	ts := in.Target.Shape()
	B, Q, D, T := ts[0], ts[1], cfg.DModel, in.Text.Shape()[1]
	L, N := cfg.NumFeatureLevels, len(d.Layers)
	m := &memory{
		vision: in.Vision, visionMask: in.VisionMask, text: in.Text,
		textMask:   textAttentionMask(in.TextMask, B, Q, T),
		shapes:     in.SpatialShapes,
		levelStart: query.LevelStartIndex(in.SpatialShapes),
	}

	h := in.Target
	ref := append([]float32(nil), nn.Data(in.ReferencePoints)...) // [B, Q, 4]
	inter := nn.Scratch(B * N * Q * D)                            // every layer's rows are written below
	interRef := make([]float32, B*N*Q*4)
	refIn := make([]float32, B*Q*L*4)
	level0 := make([]float32, B*Q*4)
	var prevRef []float32 // the reference the last layer started from
	var last *tensor.Dense
	for idx := range d.Layers {
		// Boxes relative to each level's unpadded area.
		for b := 0; b < B; b++ {
			for q := 0; q < Q; q++ {
				r := ref[(b*Q+q)*4 : (b*Q+q+1)*4]
				for l := 0; l < L; l++ {
					vw, vh := in.ValidRatios[(b*L+l)*2], in.ValidRatios[(b*L+l)*2+1]
					o := refIn[((b*Q+q)*L+l)*4:]
					o[0], o[1], o[2], o[3] = r[0]*vw, r[1]*vh, r[2]*vw, r[3]*vh
				}
				copy(level0[(b*Q+q)*4:(b*Q+q+1)*4], refIn[(b*Q+q)*L*4:])
			}
		}
		sine := sinePosEmbed(level0, 4, D/2)
		pos := d.ReferencePointsHead.Forward(nn.FromData(sine, B, Q, 2*D))
		nn.PutScratch(sine)
		next := d.Layers[idx].forward(h, pos, nn.FromData(refIn, B, Q, L, 4), m)
		nn.Release(pos)
		if idx > 0 {
			nn.Release(h) // the previous layer's output (not the caller's targets)
		}
		h = next

		// Iterative refinement: the box head predicts a delta in logit
		// space; the next layer starts from the refined (detached) boxes.
		dt := d.bboxEmbed(idx).Forward(h)
		delta := nn.Data(dt)
		prevRef = append(prevRef[:0], ref...)
		for i, v := range delta {
			ref[i] = sigmoid(v + logit(ref[i]))
		}
		nn.Release(dt)
		nn.Release(last) // the previous layer's, copied into inter
		last = d.LayerNorm.Forward(h)
		nd := nn.Data(last)
		for b := 0; b < B; b++ {
			copy(inter[((b*N+idx)*Q)*D:((b*N+idx+1)*Q)*D], nd[b*Q*D:(b+1)*Q*D])
			copy(interRef[((b*N+idx)*Q)*4:((b*N+idx+1)*Q)*4], ref[b*Q*4:(b+1)*Q*4])
		}
	}
	if len(d.Layers) > 0 {
		nn.Release(h) // the last layer's output, normalised into last
	}
	out := &Output{
		LastHiddenState:             last,
		IntermediateHiddenStates:    nn.FromData(inter, B, N, Q, D),
		IntermediateReferencePoints: nn.FromData(interRef, B, N, Q, 4),
	}
	if err := d.head(out, prevRef, in); err != nil {
		return nil, err
	}
	return out, nil
}

// head is GroundingDinoForObjectDetection's output for the last layer: the
// contrastive logits of its normalised queries and its boxes, the head's
// delta applied to the reference that layer started from.
func (d *Decoder) head(out *Output, prevRef []float32, in Input) error {
	last := out.LastHiddenState
	logits, err := query.ContrastiveEmbedding(last, in.Text, in.TextMask, d.Config.MaxTextLen)
	if err != nil {
		return err
	}
	out.Logits = logits
	boxes := d.bboxEmbed(len(d.Layers) - 1).Forward(last)
	bd := nn.Data(boxes)
	for i, v := range bd {
		bd[i] = sigmoid(v + logit(prevRef[i]))
	}
	out.PredBoxes = boxes
	return nil
}
