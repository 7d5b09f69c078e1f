package enhancer

import "gorgonia.org/tensor"

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
}
