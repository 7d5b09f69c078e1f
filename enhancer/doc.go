// Package enhancer is Grounding DINO's feature enhancer (the "encoder" of
// the Hugging Face model): each layer fuses image and text features with a
// bidirectional cross-attention (GroundingDinoFusionLayer), refines the text
// with self-attention inside each sub-sentence (GroundingDinoTextEnhancerLayer)
// and refines the image with multi-scale deformable self-attention
// (GroundingDinoDeformableLayer). MultiscaleDeformableAttention is exported
// for the decoder's cross-attention as well.
//
// Weights bind under the Hub's names ("model.encoder.layers.N.…"); tensors
// keep PyTorch's axis order.
package enhancer

import "github.com/gsam-go/gsam/nn"

// Config holds the fields of the Grounding DINO config.json this package uses.
type Config struct {
	DModel                int     `json:"d_model"`
	EncoderLayers         int     `json:"encoder_layers"`
	EncoderAttentionHeads int     `json:"encoder_attention_heads"`
	EncoderNPoints        int     `json:"encoder_n_points"`
	EncoderFFNDim         int     `json:"encoder_ffn_dim"`
	NumFeatureLevels      int     `json:"num_feature_levels"`
	LayerNormEps          float64 `json:"layer_norm_eps"`
	ActivationFunction    string  `json:"activation_function"`
}

func (c Config) eps() float32 {
	if c.LayerNormEps == 0 {
		return 1e-5
	}
	return float32(c.LayerNormEps)
}

func (c Config) act() nn.Activation {
	if c.ActivationFunction == "" {
		return "relu"
	}
	return nn.Activation(c.ActivationFunction)
}
