package backbone

import (
	"fmt"
	"math"

	"github.com/gsam-go/gsam/nn"
	"gorgonia.org/tensor"
)

// BERTConfig is the Hub's BERT config (Grounding DINO's "text_config").
type BERTConfig struct {
	VocabSize             int     `json:"vocab_size"`
	HiddenSize            int     `json:"hidden_size"`
	NumHiddenLayers       int     `json:"num_hidden_layers"`
	NumAttentionHeads     int     `json:"num_attention_heads"`
	IntermediateSize      int     `json:"intermediate_size"`
	HiddenAct             string  `json:"hidden_act"`
	MaxPositionEmbeddings int     `json:"max_position_embeddings"`
	TypeVocabSize         int     `json:"type_vocab_size"`
	LayerNormEps          float64 `json:"layer_norm_eps"`
}

// BERTBaseConfig is bert-base-uncased, the text encoder of grounding-dino-tiny and -base.
func BERTBaseConfig() BERTConfig {
	return BERTConfig{
		VocabSize: 30522, HiddenSize: 768, NumHiddenLayers: 12, NumAttentionHeads: 12,
		IntermediateSize: 3072, HiddenAct: "gelu", MaxPositionEmbeddings: 512,
		TypeVocabSize: 2, LayerNormEps: 1e-12,
	}
}

// Validate reports a config this implementation cannot run.
func (c BERTConfig) Validate() error {
	switch {
	case c.VocabSize <= 0 || c.HiddenSize <= 0 || c.NumHiddenLayers < 0 || c.IntermediateSize <= 0 ||
		c.MaxPositionEmbeddings <= 0 || c.TypeVocabSize <= 0:
		return fmt.Errorf("backbone: bert config has a non-positive size: %+v", c)
	case c.NumAttentionHeads <= 0 || c.HiddenSize%c.NumAttentionHeads != 0:
		return fmt.Errorf("backbone: bert hidden_size %d is not divisible by num_attention_heads %d", c.HiddenSize, c.NumAttentionHeads)
	case c.HiddenAct != "gelu" && c.HiddenAct != "":
		return fmt.Errorf("backbone: bert hidden_act %q not supported (only exact \"gelu\")", c.HiddenAct)
	}
	return nil
}

// BERT is the text backbone (Hub prefix "model.text_backbone" in Grounding DINO).
// Post-LN encoder layers; the pooler is bound when the checkpoint has it but unused.
type BERT struct {
	Embeddings BERTEmbeddings `gsam:"embeddings"`
	Encoder    BERTEncoder    `gsam:"encoder"`
	Pooler     BERTPooler     `gsam:"pooler"`
	Config     BERTConfig
}

// BERTEmbeddings sums word, position and token type embeddings, then LayerNorm.
type BERTEmbeddings struct {
	Word      nn.Embedding `gsam:"word_embeddings"`
	Position  nn.Embedding `gsam:"position_embeddings"`
	TokenType nn.Embedding `gsam:"token_type_embeddings"`
	Norm      nn.LayerNorm `gsam:"LayerNorm"`
}

// BERTEncoder is the stack of layers.
type BERTEncoder struct {
	Layers []BERTLayer `gsam:"layer"`
}

// BERTLayer is self-attention and a feed-forward block, each followed by add & LayerNorm.
type BERTLayer struct {
	Attention    BERTAttention `gsam:"attention"`
	Intermediate BERTDense     `gsam:"intermediate"`
	Output       BERTAddNorm   `gsam:"output"`
	Heads        int
}

// BERTAttention holds the query/key/value projections and their output block.
type BERTAttention struct {
	Self   BERTSelfAttention `gsam:"self"`
	Output BERTAddNorm       `gsam:"output"`
}

// BERTSelfAttention is the q/k/v projections.
type BERTSelfAttention struct {
	Query nn.Linear `gsam:"query"`
	Key   nn.Linear `gsam:"key"`
	Value nn.Linear `gsam:"value"`
}

// BERTDense is a module holding a single "dense" Linear (the intermediate block).
type BERTDense struct {
	Dense nn.Linear `gsam:"dense"`
}

// BERTAddNorm is dense → dropout → LayerNorm(x + residual).
type BERTAddNorm struct {
	Dense nn.Linear    `gsam:"dense"`
	Norm  nn.LayerNorm `gsam:"LayerNorm"`
}

// BERTPooler is optional in checkpoints (Grounding DINO's have none); never used.
type BERTPooler struct {
	Weight *tensor.Dense `gsam:"dense.weight,optional"`
	Bias   *tensor.Dense `gsam:"dense.bias,optional"`
}

// NewBERT allocates a BERT with every weight shaped from cfg.
func NewBERT(cfg BERTConfig) (*BERT, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	H, eps := cfg.HiddenSize, float32(cfg.LayerNormEps)
	m := &BERT{
		Config: cfg,
		Embeddings: BERTEmbeddings{
			Word:      nn.NewEmbedding(cfg.VocabSize, H),
			Position:  nn.NewEmbedding(cfg.MaxPositionEmbeddings, H),
			TokenType: nn.NewEmbedding(cfg.TypeVocabSize, H),
			Norm:      nn.NewLayerNorm(H, eps),
		},
		Pooler: BERTPooler{Weight: nn.New(H, H), Bias: nn.New(H)},
	}
	m.Encoder.Layers = make([]BERTLayer, cfg.NumHiddenLayers)
	for i := range m.Encoder.Layers {
		m.Encoder.Layers[i] = BERTLayer{
			Attention: BERTAttention{
				Self: BERTSelfAttention{
					Query: nn.NewLinear(H, H, true), Key: nn.NewLinear(H, H, true), Value: nn.NewLinear(H, H, true),
				},
				Output: BERTAddNorm{Dense: nn.NewLinear(H, H, true), Norm: nn.NewLayerNorm(H, eps)},
			},
			Intermediate: BERTDense{Dense: nn.NewLinear(H, cfg.IntermediateSize, true)},
			Output:       BERTAddNorm{Dense: nn.NewLinear(cfg.IntermediateSize, H, true), Norm: nn.NewLayerNorm(H, eps)},
			Heads:        cfg.NumAttentionHeads,
		}
	}
	return m, nil
}

// Forward encodes B rows of L tokens (ids flattened row-major) into [B, L, hidden].
// tokenTypeIDs nil means all zeros; positionIDs nil means 0..L-1 in every row;
// attnMask3D (B×L×L, true = query i may attend to key j) nil means attend everywhere.
// Grounding DINO passes its sub-sentence mask and position ids here, not the padding mask.
func (m *BERT) Forward(inputIDs, tokenTypeIDs, positionIDs []int64, B, L int, attnMask3D []bool) (*tensor.Dense, error) {
	x, err := m.Embeddings.Forward(inputIDs, tokenTypeIDs, positionIDs, B, L)
	if err != nil {
		return nil, err
	}
	mask, err := BERTExtendedMask(attnMask3D, B, L)
	if err != nil {
		return nil, err
	}
	for i := range m.Encoder.Layers {
		y := m.Encoder.Layers[i].Forward(x, mask)
		nn.Release(x) // spent: the embeddings' or the layer before's output
		x = y
	}
	return x, nil
}

// BERTExtendedMask turns a B×L×L keep-mask into the additive [B, 1, L, L] mask
// HF's BERT builds from a 3-D attention mask: 0 where kept, float32's lowest
// value (not -Inf) where blocked. nil gives nil (no mask).
func BERTExtendedMask(keep []bool, B, L int) (*tensor.Dense, error) {
	if keep == nil {
		return nil, nil
	}
	if len(keep) != B*L*L {
		return nil, fmt.Errorf("backbone: bert attention mask has %d entries, want B×L×L = %d×%d×%d", len(keep), B, L, L)
	}
	add := make([]float32, len(keep))
	for i, k := range keep {
		if !k {
			add[i] = -math.MaxFloat32
		}
	}
	return nn.FromData(add, B, 1, L, L), nil
}

// Forward embeds the tokens into [B, L, hidden]; see BERT.Forward for the arguments.
func (e *BERTEmbeddings) Forward(inputIDs, tokenTypeIDs, positionIDs []int64, B, L int) (*tensor.Dense, error) {
	n := B * L
	if B <= 0 || L <= 0 || len(inputIDs) != n {
		return nil, fmt.Errorf("backbone: bert got %d input ids for B=%d, L=%d", len(inputIDs), B, L)
	}
	if tokenTypeIDs == nil {
		tokenTypeIDs = make([]int64, n)
	}
	if positionIDs == nil {
		positionIDs = make([]int64, n)
		for i := range positionIDs {
			positionIDs[i] = int64(i % L)
		}
	}
	if len(tokenTypeIDs) != n || len(positionIDs) != n {
		return nil, fmt.Errorf("backbone: bert got %d token type ids and %d position ids, want %d", len(tokenTypeIDs), len(positionIDs), n)
	}
	x, err := e.Word.Forward(inputIDs)
	if err != nil {
		return nil, fmt.Errorf("backbone: bert input ids: %w", err)
	}
	tt, err := e.TokenType.Forward(tokenTypeIDs)
	if err != nil {
		return nil, fmt.Errorf("backbone: bert token type ids: %w", err)
	}
	pos, err := e.Position.Forward(positionIDs)
	if err != nil {
		return nil, fmt.Errorf("backbone: bert position ids: %w", err)
	}
	// Same summation order as HF: (word + token_type) + position.
	xd, td, pd := nn.Data(x), nn.Data(tt), nn.Data(pos)
	for i := range xd {
		xd[i] = (xd[i] + td[i]) + pd[i]
	}
	e.Norm.ForwardInPlace(xd)
	return nn.Reshape(x, B, L, len(xd)/n), nil
}

// Forward runs one post-LN layer on x [B, L, H] with an additive mask [B|1, 1, L, L] or nil.
// Its temporaries go back to nn.Scratch as soon as they are spent.
func (l *BERTLayer) Forward(x, mask *tensor.Dense) *tensor.Dense {
	s := &l.Attention.Self
	q, k, v := s.Query.Forward(x), s.Key.Forward(x), s.Value.Forward(x)
	qh, kh, vh := nn.SplitHeads(q, l.Heads), nn.SplitHeads(k, l.Heads), nn.SplitHeads(v, l.Heads)
	nn.Release(q, k, v) // the heads are copies
	d := nn.Shape(qh)[3]
	att := nn.Attention(qh, kh, vh, mask, float32(1/math.Sqrt(float64(d))))
	nn.Release(qh, kh, vh)
	ctx := nn.MergeHeads(att)
	nn.Release(att)
	h := l.Attention.Output.Forward(ctx, x)
	nn.Release(ctx)
	inter := l.Intermediate.Dense.Forward(h)
	nn.GELUInPlace(nn.Data(inter))
	out := l.Output.Forward(inter, h)
	nn.Release(inter, h)
	return out
}

// Forward returns LayerNorm(dense(x) + residual).
func (a *BERTAddNorm) Forward(x, residual *tensor.Dense) *tensor.Dense {
	y := a.Dense.Forward(x)
	nn.AddInPlace(y, residual)
	a.Norm.ForwardInPlace(nn.Data(y))
	return y
}
