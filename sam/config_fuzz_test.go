package sam

import (
	"os"
	"testing"

	"github.com/gsam-go/gsam/internal/fixture"
)

// small reports whether c allocates little, so the fuzz loop can call New.
func small(c Config) bool {
	v, p, m := c.VisionConfig, c.PromptEncoderConfig, c.MaskDecoderConfig
	for _, n := range []int{v.HiddenSize, v.OutputChannels, v.NumHiddenLayers, v.NumAttentionHeads, v.NumChannels, v.ImageSize / max(v.PatchSize, 1), v.PatchSize, v.WindowSize, v.NumPosFeats, v.MLPDim,
		p.HiddenSize, p.MaskInputChannels, p.NumPointEmbeddings, p.ImageEmbeddingSize,
		m.HiddenSize, m.MLPDim, m.NumHiddenLayers, m.NumAttentionHeads, m.NumMultimaskOutputs, m.IOUHeadDepth, m.IOUHeadHiddenDim} {
		if n > 64 {
			return false
		}
	}
	return len(v.GlobalAttnIndexes) <= 8
}

// FuzzParseConfig feeds arbitrary JSON to ParseConfig; a config it accepts
// that is small is also allocated with New. Either step may refuse the
// input with an error; neither may panic.
func FuzzParseConfig(f *testing.F) {
	if b, err := os.ReadFile(fixture.Dir(f, "sam", "config.json")); err == nil {
		f.Add(b)
	}
	f.Add([]byte(`{}`))
	f.Add([]byte(`{"vision_config":{"hidden_size":0}}`))
	f.Add([]byte(`{"vision_config":{"patch_size":0}}`))
	f.Add([]byte(`{"vision_config":{"hidden_size":16,"num_attention_heads":2,"num_hidden_layers":-1,"window_size":0,"image_size":32,"patch_size":16,"num_pos_feats":8,"output_channels":16,"mlp_dim":8,"global_attn_indexes":[7]},"prompt_encoder_config":{"hidden_size":16,"image_size":32,"patch_size":16,"image_embedding_size":2,"mask_input_channels":4},"mask_decoder_config":{"hidden_size":16,"num_attention_heads":2,"mlp_dim":8,"num_multimask_outputs":-3,"iou_head_hidden_dim":8}}`))
	f.Add([]byte(`{"mask_decoder_config":{"attention_downsample_rate":0}}`))
	f.Fuzz(func(t *testing.T, raw []byte) {
		c, err := ParseConfig(raw)
		if err != nil || !small(c) {
			return
		}
		if _, err := New(c); err != nil {
			return
		}
	})
}
