package query

import "fmt"

// Config holds the fields of the Hub's config.json this stage reads.
type Config struct {
	DModel                 int     `json:"d_model"`
	NumQueries             int     `json:"num_queries"`
	MaxTextLen             int     `json:"max_text_len"`
	LayerNormEps           float32 `json:"layer_norm_eps"`
	TwoStage               bool    `json:"two_stage"`
	EmbeddingInitTarget    bool    `json:"embedding_init_target"`
	TwoStageBBoxEmbedShare bool    `json:"two_stage_bbox_embed_share"`
	DecoderBBoxEmbedShare  bool    `json:"decoder_bbox_embed_share"`
}

// DefaultConfig is grounding-dino-tiny's (and base's) setting.
func DefaultConfig() Config {
	return Config{DModel: 256, NumQueries: 900, MaxTextLen: 256, LayerNormEps: 1e-5,
		TwoStage: true, EmbeddingInitTarget: true, DecoderBBoxEmbedShare: true}
}

func (c Config) validate() error {
	if c.DModel <= 0 || c.NumQueries <= 0 || c.MaxTextLen <= 0 {
		return fmt.Errorf("query: config needs positive d_model, num_queries and max_text_len, got %d, %d, %d", c.DModel, c.NumQueries, c.MaxTextLen)
	}
	return nil
}
