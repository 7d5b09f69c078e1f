package sam

import (
	"encoding/json"
	"fmt"
	"os"
)

// Config is the Hub's config.json for SamModel.
type Config struct {
	VisionConfig        VisionConfig        `json:"vision_config"`
	PromptEncoderConfig PromptEncoderConfig `json:"prompt_encoder_config"`
	MaskDecoderConfig   MaskDecoderConfig   `json:"mask_decoder_config"`
}

// VisionConfig describes the ViT image encoder.
type VisionConfig struct {
	HiddenSize        int     `json:"hidden_size"`
	OutputChannels    int     `json:"output_channels"`
	NumHiddenLayers   int     `json:"num_hidden_layers"`
	NumAttentionHeads int     `json:"num_attention_heads"`
	NumChannels       int     `json:"num_channels"`
	ImageSize         int     `json:"image_size"`
	PatchSize         int     `json:"patch_size"`
	HiddenAct         string  `json:"hidden_act"`
	LayerNormEps      float64 `json:"layer_norm_eps"`
	QKVBias           bool    `json:"qkv_bias"`
	UseAbsPos         bool    `json:"use_abs_pos"`
	UseRelPos         bool    `json:"use_rel_pos"`
	WindowSize        int     `json:"window_size"`
	GlobalAttnIndexes []int   `json:"global_attn_indexes"`
	NumPosFeats       int     `json:"num_pos_feats"`
	MLPDim            int     `json:"mlp_dim"`
}

// PromptEncoderConfig describes the prompt encoder.
type PromptEncoderConfig struct {
	HiddenSize         int     `json:"hidden_size"`
	ImageSize          int     `json:"image_size"`
	PatchSize          int     `json:"patch_size"`
	MaskInputChannels  int     `json:"mask_input_channels"`
	NumPointEmbeddings int     `json:"num_point_embeddings"`
	HiddenAct          string  `json:"hidden_act"`
	LayerNormEps       float64 `json:"layer_norm_eps"`
	ImageEmbeddingSize int     `json:"image_embedding_size"`
}

// MaskDecoderConfig describes the two-way transformer mask decoder.
type MaskDecoderConfig struct {
	HiddenSize              int     `json:"hidden_size"`
	HiddenAct               string  `json:"hidden_act"`
	MLPDim                  int     `json:"mlp_dim"`
	NumHiddenLayers         int     `json:"num_hidden_layers"`
	NumAttentionHeads       int     `json:"num_attention_heads"`
	AttentionDownsampleRate int     `json:"attention_downsample_rate"`
	NumMultimaskOutputs     int     `json:"num_multimask_outputs"`
	IOUHeadDepth            int     `json:"iou_head_depth"`
	IOUHeadHiddenDim        int     `json:"iou_head_hidden_dim"`
	LayerNormEps            float64 `json:"layer_norm_eps"`
}

// DefaultConfig is facebook/sam-vit-base; the json fields present in a file
// override these values.
func DefaultConfig() Config {
	return Config{
		VisionConfig: VisionConfig{
			HiddenSize: 768, OutputChannels: 256, NumHiddenLayers: 12, NumAttentionHeads: 12,
			NumChannels: 3, ImageSize: 1024, PatchSize: 16, HiddenAct: "gelu", LayerNormEps: 1e-6,
			QKVBias: true, UseAbsPos: true, UseRelPos: true, WindowSize: 14,
			GlobalAttnIndexes: []int{2, 5, 8, 11}, NumPosFeats: 128, MLPDim: 3072,
		},
		PromptEncoderConfig: PromptEncoderConfig{
			HiddenSize: 256, ImageSize: 1024, PatchSize: 16, MaskInputChannels: 16,
			NumPointEmbeddings: 4, HiddenAct: "gelu", LayerNormEps: 1e-6, ImageEmbeddingSize: 64,
		},
		MaskDecoderConfig: MaskDecoderConfig{
			HiddenSize: 256, HiddenAct: "relu", MLPDim: 2048, NumHiddenLayers: 2, NumAttentionHeads: 8,
			AttentionDownsampleRate: 2, NumMultimaskOutputs: 3, IOUHeadDepth: 3, IOUHeadHiddenDim: 256,
			LayerNormEps: 1e-6,
		},
	}
}

// ParseConfig reads a config.json body.
func ParseConfig(data []byte) (Config, error) {
	c := DefaultConfig()
	// global_attn_indexes is replaced, not merged, when the file has it.
	c.VisionConfig.GlobalAttnIndexes = nil
	if err := json.Unmarshal(data, &c); err != nil {
		return Config{}, fmt.Errorf("sam: config: %w", err)
	}
	if c.VisionConfig.GlobalAttnIndexes == nil {
		c.VisionConfig.GlobalAttnIndexes = []int{2, 5, 8, 11}
	}
	return c, c.Validate()
}

// LoadConfig reads config.json from a file.
func LoadConfig(path string) (Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return Config{}, fmt.Errorf("sam: %w", err)
	}
	return ParseConfig(data)
}

// Validate checks the sizes the layers divide by.
func (c Config) Validate() error {
	v, p, m := c.VisionConfig, c.PromptEncoderConfig, c.MaskDecoderConfig
	switch {
	case v.NumHiddenLayers < 0 || v.NumChannels <= 0 || v.ImageSize <= 0 || v.WindowSize < 0 || v.NumPosFeats <= 0 || v.MLPDim <= 0 || v.OutputChannels <= 0:
		return fmt.Errorf("sam: vision_config has a non-positive size (num_hidden_layers %d, num_channels %d, image_size %d, window_size %d, num_pos_feats %d, mlp_dim %d, output_channels %d)",
			v.NumHiddenLayers, v.NumChannels, v.ImageSize, v.WindowSize, v.NumPosFeats, v.MLPDim, v.OutputChannels)
	case p.NumPointEmbeddings < 4:
		return fmt.Errorf("sam: num_point_embeddings %d < 4 (background, foreground and two box corners)", p.NumPointEmbeddings)
	case p.ImageEmbeddingSize <= 0:
		return fmt.Errorf("sam: image_embedding_size %d not positive", p.ImageEmbeddingSize)
	case m.MLPDim <= 0 || m.NumHiddenLayers < 0 || m.NumMultimaskOutputs < 1 || m.IOUHeadHiddenDim <= 0:
		return fmt.Errorf("sam: mask_decoder_config has a non-positive size (mlp_dim %d, num_hidden_layers %d, num_multimask_outputs %d, iou_head_hidden_dim %d)",
			m.MLPDim, m.NumHiddenLayers, m.NumMultimaskOutputs, m.IOUHeadHiddenDim)
	case v.HiddenSize <= 0 || v.NumAttentionHeads <= 0 || v.HiddenSize%v.NumAttentionHeads != 0:
		return fmt.Errorf("sam: vision hidden_size %d not divisible by %d heads", v.HiddenSize, v.NumAttentionHeads)
	case v.PatchSize <= 0 || v.ImageSize%v.PatchSize != 0:
		return fmt.Errorf("sam: vision image_size %d not a multiple of patch_size %d", v.ImageSize, v.PatchSize)
	case 2*v.NumPosFeats != p.HiddenSize:
		return fmt.Errorf("sam: 2*num_pos_feats (%d) must equal the prompt hidden_size %d", 2*v.NumPosFeats, p.HiddenSize)
	case v.OutputChannels != m.HiddenSize || p.HiddenSize != m.HiddenSize:
		return fmt.Errorf("sam: vision output_channels %d, prompt hidden_size %d and decoder hidden_size %d differ", v.OutputChannels, p.HiddenSize, m.HiddenSize)
	case m.NumAttentionHeads <= 0 || m.AttentionDownsampleRate <= 0 || (m.HiddenSize/m.AttentionDownsampleRate)%m.NumAttentionHeads != 0:
		return fmt.Errorf("sam: decoder heads %d do not divide the attention width", m.NumAttentionHeads)
	case p.MaskInputChannels < 4 || p.MaskInputChannels%4 != 0:
		return fmt.Errorf("sam: mask_input_channels %d not a multiple of 4", p.MaskInputChannels)
	case m.HiddenSize%8 != 0:
		return fmt.Errorf("sam: decoder hidden_size %d not a multiple of 8", m.HiddenSize)
	case m.IOUHeadDepth < 2:
		return fmt.Errorf("sam: iou_head_depth %d < 2", m.IOUHeadDepth)
	}
	return nil
}
