package decoder

import "fmt"

// Config holds the fields of the Hub's config.json the decoder reads.
type Config struct {
	DModel                int     `json:"d_model"`
	DecoderLayers         int     `json:"decoder_layers"`
	DecoderAttentionHeads int     `json:"decoder_attention_heads"`
	DecoderFFNDim         int     `json:"decoder_ffn_dim"`
	DecoderNPoints        int     `json:"decoder_n_points"`
	NumFeatureLevels      int     `json:"num_feature_levels"`
	NumQueries            int     `json:"num_queries"`
	MaxTextLen            int     `json:"max_text_len"`
	QueryDim              int     `json:"query_dim"`
	LayerNormEps          float32 `json:"layer_norm_eps"`
	ActivationFunction    string  `json:"activation_function"`
	DecoderBBoxEmbedShare bool    `json:"decoder_bbox_embed_share"`
}

// DefaultConfig is grounding-dino-tiny's decoder.
func DefaultConfig() Config {
	return Config{DModel: 256, DecoderLayers: 6, DecoderAttentionHeads: 8, DecoderFFNDim: 2048,
		DecoderNPoints: 4, NumFeatureLevels: 4, NumQueries: 900, MaxTextLen: 256, QueryDim: 4,
		LayerNormEps: 1e-5, ActivationFunction: "relu", DecoderBBoxEmbedShare: true}
}

func (c Config) validate() error {
	switch {
	case c.DModel <= 0 || c.DecoderLayers <= 0 || c.DecoderFFNDim <= 0 || c.DecoderNPoints <= 0 ||
		c.NumFeatureLevels <= 0 || c.NumQueries <= 0 || c.MaxTextLen <= 0:
		return fmt.Errorf("decoder: config has a non-positive size: %+v", c)
	case c.DecoderAttentionHeads <= 0 || c.DModel%c.DecoderAttentionHeads != 0:
		return fmt.Errorf("decoder: d_model %d is not divisible by decoder_attention_heads %d", c.DModel, c.DecoderAttentionHeads)
	case c.DModel%2 != 0:
		return fmt.Errorf("decoder: d_model %d must be even for the sine embedding", c.DModel)
	case c.QueryDim != 0 && c.QueryDim != 4:
		return fmt.Errorf("decoder: query_dim %d unsupported (two-stage models use 4)", c.QueryDim)
	case c.ActivationFunction != "relu" && c.ActivationFunction != "gelu":
		return fmt.Errorf("decoder: activation_function %q unsupported", c.ActivationFunction)
	}
	return nil
}
