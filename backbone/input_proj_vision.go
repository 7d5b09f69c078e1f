package backbone

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/gsam-go/gsam/nn"
	"github.com/gsam-go/gsam/weights"
	"gorgonia.org/tensor"
)

// FeatureMap is one backbone level: features [B, C, h, w] and their mask
// [B, h, w] (1 on real pixels), the pixel mask resized with nearest.
type FeatureMap struct {
	Features *tensor.Dense
	Mask     []uint8
}

// VisionBackbone is a feature extractor Grounding DINO can sit on (Swin, ResNet).
type VisionBackbone interface {
	// Forward maps pixel values [B, 3, H, W] and the pixel mask [B, H, W]
	// (nil = no padding) to the configured output levels.
	// A cancelled ctx stops it between blocks.
	Forward(ctx context.Context, pixelValues *tensor.Dense, pixelMask []uint8) ([]FeatureMap, error)
	// Channels are the widths of the returned levels.
	Channels() []int
	// Bind binds the weights under prefix ("model.backbone.conv_encoder.model").
	Bind(l *weights.Loader, prefix string)
}

// NewVisionBackbone builds the backbone a Grounding DINO `backbone_config`
// describes (model_type "swin" or "resnet"). An empty config gives the
// reference default, Swin-T with out_indices [2, 3, 4].
func NewVisionBackbone(backboneConfig json.RawMessage) (VisionBackbone, error) {
	if len(backboneConfig) == 0 || string(backboneConfig) == "null" {
		return NewSwin(SwinConfig{OutIndices: []int{2, 3, 4}})
	}
	var head struct {
		ModelType string `json:"model_type"`
	}
	if err := json.Unmarshal(backboneConfig, &head); err != nil {
		return nil, fmt.Errorf("backbone_config: %w", err)
	}
	switch head.ModelType {
	case "swin", "":
		c, err := ParseSwinConfig(backboneConfig)
		if err != nil {
			return nil, err
		}
		return NewSwin(c)
	case "resnet":
		c, err := ParseResNetConfig(backboneConfig)
		if err != nil {
			return nil, err
		}
		return NewResNet(c)
	default:
		return nil, fmt.Errorf("backbone_config: model_type %q not supported (swin, resnet)", head.ModelType)
	}
}

// VisionConfig is the part of the Grounding DINO config the vision path reads.
type VisionConfig struct {
	DModel                         int             `json:"d_model"`
	NumFeatureLevels               int             `json:"num_feature_levels"`
	PositionEmbeddingType          string          `json:"position_embedding_type"`
	PositionalEmbeddingTemperature float64         `json:"positional_embedding_temperature"`
	UseTimmBackbone                bool            `json:"use_timm_backbone"`
	BackboneConfig                 json.RawMessage `json:"backbone_config"`
}

// ParseVisionConfig reads the vision fields of a Grounding DINO config.json
// and fills HF's defaults.
func ParseVisionConfig(raw []byte) (VisionConfig, error) {
	var c VisionConfig
	if err := json.Unmarshal(raw, &c); err != nil {
		return c, fmt.Errorf("grounding dino config: %w", err)
	}
	return c, c.normalize()
}

func (c *VisionConfig) normalize() error {
	if c.DModel == 0 {
		c.DModel = 256
	}
	if c.NumFeatureLevels == 0 {
		c.NumFeatureLevels = 4
	}
	if c.PositionEmbeddingType == "" {
		c.PositionEmbeddingType = "sine"
	}
	if c.PositionalEmbeddingTemperature == 0 {
		c.PositionalEmbeddingTemperature = 20
	}
	switch {
	case c.UseTimmBackbone:
		return fmt.Errorf("grounding dino config: timm backbones are not supported")
	case c.PositionEmbeddingType != "sine":
		return fmt.Errorf("grounding dino config: position_embedding_type %q not supported (sine)", c.PositionEmbeddingType)
	case c.DModel%32 != 0:
		return fmt.Errorf("grounding dino config: d_model %d is not a multiple of GroupNorm's 32 groups", c.DModel)
	}
	return nil
}

// Vision is Grounding DINO's image path up to the encoder: backbone,
// position embeddings, input projections (with the extra levels) and the
// flattening into one sequence.
type Vision struct {
	Config     VisionConfig
	Backbone   VisionBackbone
	Position   SinePositionEmbedding
	InputProj  []InputProjection `gsam:"input_proj_vision"`
	LevelEmbed *tensor.Dense     `gsam:"level_embed"`
}

// NewVision allocates the vision path for config c.
func NewVision(c VisionConfig) (*Vision, error) {
	if err := c.normalize(); err != nil {
		return nil, err
	}
	bb, err := NewVisionBackbone(c.BackboneConfig)
	if err != nil {
		return nil, err
	}
	ch := bb.Channels()
	if len(ch) > c.NumFeatureLevels {
		return nil, fmt.Errorf("grounding dino config: backbone gives %d levels, num_feature_levels is %d", len(ch), c.NumFeatureLevels)
	}
	v := &Vision{
		Config:     c,
		Backbone:   bb,
		Position:   SinePositionEmbedding{Dim: c.DModel / 2, Temperature: c.PositionalEmbeddingTemperature},
		LevelEmbed: nn.New(c.NumFeatureLevels, c.DModel),
	}
	for i := 0; i < c.NumFeatureLevels; i++ {
		if i < len(ch) {
			v.InputProj = append(v.InputProj, NewInputProjection(ch[i], c.DModel, false))
		} else {
			in := c.DModel
			if i == len(ch) {
				in = ch[len(ch)-1]
			}
			v.InputProj = append(v.InputProj, NewInputProjection(in, c.DModel, true))
		}
	}
	return v, nil
}

// Bind binds the backbone ("<prefix>.backbone.conv_encoder.model"), the
// input projections and the level embedding under prefix ("model").
func (v *Vision) Bind(l *weights.Loader, prefix string) {
	v.Backbone.Bind(l, prefix+".backbone.conv_encoder.model")
	l.Bind(prefix, v)
}

// Forward runs the whole vision path: pixel values [B, 3, H, W] and pixel
// mask [B, H, W] (nil = no padding) to the encoder's flattened inputs.
func (v *Vision) Forward(ctx context.Context, pixelValues *tensor.Dense, pixelMask []uint8) (*Flattened, error) {
	maps, err := v.Backbone.Forward(ctx, pixelValues, pixelMask)
	if err != nil {
		return nil, err
	}
	s := pixelValues.Shape()
	levels := v.Project(maps, pixelMask, s[0], s[2], s[3])
	return Flatten(levels, v.LevelEmbed)
}

// Level is one input level of the encoder before flattening.
type Level struct {
	Source   *tensor.Dense // [B, d_model, h, w]
	Mask     []uint8       // [B, h, w], 1 = real pixel
	PosEmbed *tensor.Dense // [B, d_model, h, w]
}

// Project applies the input projections to the backbone's maps, appends the
// extra stride-2 levels (their masks resized from the pixel mask [B, H, W])
// and computes every level's position embedding.
func (v *Vision) Project(maps []FeatureMap, pixelMask []uint8, B, H, W int) []Level {
	var levels []Level
	for i, m := range maps {
		src := v.InputProj[i].Forward(m.Features)
		s := m.Features.Shape()
		levels = append(levels, Level{Source: src, Mask: m.Mask, PosEmbed: v.Position.Forward(m.Mask, s[0], s[2], s[3])})
	}
	for i := len(maps); i < len(v.InputProj); i++ {
		in := levels[len(levels)-1].Source
		if i == len(maps) {
			in = maps[len(maps)-1].Features
		}
		src := v.InputProj[i].Forward(in)
		s := src.Shape()
		mask := InterpolateMask(pixelMask, B, H, W, s[2], s[3])
		levels = append(levels, Level{Source: src, Mask: mask, PosEmbed: v.Position.Forward(mask, B, s[2], s[3])})
	}
	return levels
}
