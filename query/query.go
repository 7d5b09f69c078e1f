package query

import (
	"fmt"
	"math"
	"slices"
	"strconv"

	"github.com/gsam-go/gsam/cpu"
	"github.com/gsam-go/gsam/nn"
	"github.com/gsam-go/gsam/weights"
	"gorgonia.org/tensor"
)

// Selector holds the query-selection weights, keyed under "model" as in
// the Hub checkpoint.
type Selector struct {
	EncOutput               nn.Linear    `gsam:"enc_output"`
	EncOutputNorm           nn.LayerNorm `gsam:"enc_output_norm"`
	EncOutputBBoxEmbed      nn.MLP       `gsam:"encoder_output_bbox_embed"`
	QueryPositionEmbeddings nn.Embedding `gsam:"query_position_embeddings"`
	ReferencePoints         nn.Embedding `gsam:"reference_points"` // one-stage models only

	Config Config
}

// New allocates the weights cfg asks for.
func New(cfg Config) (*Selector, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	d := cfg.DModel
	s := &Selector{Config: cfg}
	if cfg.TwoStage {
		s.EncOutput = nn.NewLinear(d, d, true)
		s.EncOutputNorm = nn.NewLayerNorm(d, cfg.LayerNormEps)
		s.EncOutputBBoxEmbed = nn.NewMLP(d, d, 4, 3, "relu")
	} else {
		s.ReferencePoints = nn.NewEmbedding(cfg.NumQueries, 4)
	}
	if cfg.EmbeddingInitTarget || !cfg.TwoStage {
		s.QueryPositionEmbeddings = nn.NewEmbedding(cfg.NumQueries, d)
	}
	return s, nil
}

// Bind loads the weights from l (keys "model.enc_output.*", …). When the
// config shares the proposal box head with the decoder's, the checkpoint
// may store it only as "bbox_embed.0.*", which is accepted too.
func (s *Selector) Bind(l *weights.Loader) {
	if s.Config.TwoStageBBoxEmbedShare && s.Config.DecoderBBoxEmbedShare {
		for i := range s.EncOutputBBoxEmbed.Layers {
			for _, p := range []string{"weight", "bias"} {
				k := "layers." + strconv.Itoa(i) + "." + p
				l.Alias("model.encoder_output_bbox_embed."+k, "bbox_embed.0."+k)
				l.Alias("model.encoder_output_bbox_embed."+k, "model.decoder.bbox_embed.0."+k)
			}
		}
	}
	l.Bind("model", s)
}

// Input is what query selection reads from the encoder.
type Input struct {
	Vision *tensor.Dense // [B, S, d] encoder last_hidden_state_vision
	Text   *tensor.Dense // [B, T, d] encoder last_hidden_state_text
	// TextFeatures [B, T, d] is the text projection before the encoder: the
	// reference scores the selected targets against it for encoder_logits
	// (a training output). Leave nil to skip EncoderLogits.
	TextFeatures  *tensor.Dense
	VisionMask    []bool   // B×S mask_flatten, true on real pixels
	TextMask      []bool   // B×T attention mask, true on real tokens
	SpatialShapes [][2]int // (height, width) per level, in flattening order
}

// Output is the two-stage result the decoder starts from.
type Output struct {
	ObjectQuery           *tensor.Dense // [B, S, d] enc_output_norm(enc_output(features)), features zeroed where rejected
	EncOutputsClass       *tensor.Dense // [B, S, max_text_len] contrastive scores, -Inf off the text
	EncOutputsCoordLogits *tensor.Dense // [B, S, 4] box logits, +Inf on rejected positions
	// TopK [B][num_queries] are the selected positions, best first; equal
	// scores are ordered by position (torch.topk leaves ties unspecified).
	TopK            [][]int
	ReferencePoints *tensor.Dense // [B, Q, 4] init_reference_points (cx, cy, w, h) in [0, 1]
	Target          *tensor.Dense // [B, Q, d] decoder input queries
	EncoderLogits   *tensor.Dense // [B, Q, max_text_len], nil without Input.TextFeatures
}

// Forward runs the selection. For a two-stage model it scores every
// encoder position and keeps the num_queries best; a one-stage model uses
// its learned reference points.
func (s *Selector) Forward(in Input) (*Output, error) {
	cfg := s.Config
	if in.Vision == nil || in.Text == nil {
		return nil, fmt.Errorf("query: vision and text features are required")
	}
	vs, ts := in.Vision.Shape(), in.Text.Shape()
	if len(vs) != 3 || len(ts) != 3 || vs[0] != ts[0] || vs[2] != cfg.DModel || ts[2] != cfg.DModel {
		return nil, fmt.Errorf("query: vision %v and text %v features, want [B, S, %d] and [B, T, %d]", vs, ts, cfg.DModel, cfg.DModel)
	}
	B, S, T, D, Q := vs[0], vs[1], ts[1], cfg.DModel, cfg.NumQueries
	seq, err := seqLen(in.SpatialShapes)
	if err != nil {
		return nil, err
	}
	if seq != S {
		return nil, fmt.Errorf("query: spatial shapes %v cover %d positions, features have %d", in.SpatialShapes, seq, S)
	}
	if len(in.VisionMask) != B*S || len(in.TextMask) != B*T {
		return nil, fmt.Errorf("query: masks have %d and %d values, want %d and %d", len(in.VisionMask), len(in.TextMask), B*S, B*T)
	}
	if !cfg.TwoStage {
		return s.oneStage(B)
	}
	if Q > S {
		return nil, fmt.Errorf("query: num_queries %d exceeds the %d encoder positions", Q, S)
	}

	padding := make([]bool, len(in.VisionMask))
	for i, v := range in.VisionMask {
		padding[i] = !v
	}
	props, keep := proposals(padding, B, in.SpatialShapes)

	objectQuery := s.project(in.Vision, keep)
	s.EncOutputNorm.ForwardInPlace(nn.Data(objectQuery))

	class, err := ContrastiveEmbedding(objectQuery, in.Text, in.TextMask, cfg.MaxTextLen)
	if err != nil {
		return nil, err
	}
	coord := s.EncOutputBBoxEmbed.Forward(objectQuery)
	nn.AddInPlace(coord, nn.FromData(props, B, S, 4))
	nn.PutScratch(props)

	out := &Output{ObjectQuery: objectQuery, EncOutputsClass: class, EncOutputsCoordLogits: coord}
	out.TopK = topK(nn.Data(class), B, S, cfg.MaxTextLen, Q)

	ref := make([]float32, B*Q*4)
	cd := nn.Data(coord)
	for b, idx := range out.TopK {
		for q, i := range idx {
			for k := 0; k < 4; k++ {
				ref[(b*Q+q)*4+k] = sigmoid(cd[(b*S+i)*4+k])
			}
		}
	}
	out.ReferencePoints = nn.FromData(ref, B, Q, 4)

	if s.QueryPositionEmbeddings.Weight != nil {
		out.Target = repeat(s.QueryPositionEmbeddings.Weight, B)
	} else {
		// Targets gathered from the selected object queries (the
		// original's embedding_init_target=False path).
		tgt := make([]float32, B*Q*D)
		od := nn.Data(objectQuery)
		for b, idx := range out.TopK {
			for q, i := range idx {
				copy(tgt[(b*Q+q)*D:(b*Q+q+1)*D], od[(b*S+i)*D:(b*S+i+1)*D])
			}
		}
		out.Target = nn.FromData(tgt, B, Q, D)
	}
	if in.TextFeatures != nil {
		out.EncoderLogits, err = ContrastiveEmbedding(out.Target, in.TextFeatures, in.TextMask, cfg.MaxTextLen)
		if err != nil {
			return nil, err
		}
	}
	return out, nil
}

// project is enc_output applied to the encoder features with the rows of
// rejected proposals zeroed, i.e. set to the bias, without copying the
// features.
func (s *Selector) project(vision *tensor.Dense, keep []bool) *tensor.Dense {
	vs := vision.Shape()
	D := s.EncOutput.Out()
	out := nn.ScratchTensor(vs[0], vs[1], D)
	od := nn.Data(out)
	s.EncOutput.ForwardSlice(od, nn.Data(vision), vs[0]*vs[1])
	var bias []float32
	if s.EncOutput.Bias != nil {
		bias = nn.Data(s.EncOutput.Bias)
	}
	for i, k := range keep {
		if !k {
			row := od[i*D : (i+1)*D]
			if bias != nil {
				copy(row, bias)
			} else {
				clear(row)
			}
		}
	}
	return out
}

func (s *Selector) oneStage(B int) (*Output, error) {
	if s.QueryPositionEmbeddings.Weight == nil || s.ReferencePoints.Weight == nil {
		return nil, fmt.Errorf("query: one-stage model without query_position_embeddings and reference_points")
	}
	ref := repeat(s.ReferencePoints.Weight, B)
	d := nn.Data(ref)
	for i, v := range d {
		d[i] = sigmoid(v)
	}
	return &Output{ReferencePoints: ref, Target: repeat(s.QueryPositionEmbeddings.Weight, B)}, nil
}

// topK returns, per image, the k positions with the highest best-token
// score (max over the text axis), highest first, ties by position. NaN
// counts as the largest value, as in torch.topk.
func topK(class []float32, B, S, M, k int) [][]int {
	out := make([][]int, B)
	score := nn.Scratch(S) // every value is written below
	defer nn.PutScratch(score)
	idx := make([]int, S)
	for b := 0; b < B; b++ {
		cpu.ParallelFor(S, func(lo, hi int) {
			for i := lo; i < hi; i++ {
				row := class[(b*S+i)*M : (b*S+i+1)*M]
				m := float32(math.Inf(-1))
				for _, v := range row {
					if v > m || v != v {
						m = v
						if v != v {
							break
						}
					}
				}
				score[i] = m
				idx[i] = i
			}
		})
		slices.SortFunc(idx, func(x, y int) int {
			a, c := score[x], score[y]
			an, cn := a != a, c != c
			switch {
			case an && !cn, a > c:
				return -1
			case cn && !an, a < c:
				return 1
			}
			return x - y
		})
		out[b] = append([]int(nil), idx[:k]...)
	}
	return out
}

func sigmoid(x float32) float32 { return float32(1 / (1 + math.Exp(-float64(x)))) }

// repeat stacks w [N, d] B times: [B, N, d], over an nn.Scratch buffer.
func repeat(w *tensor.Dense, B int) *tensor.Dense {
	s := w.Shape()
	src := nn.Data(w)
	out := nn.Scratch(B * len(src))
	for b := 0; b < B; b++ {
		copy(out[b*len(src):], src)
	}
	return nn.FromData(out, B, s[0], s[1])
}
