package groundingdino

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"

	"github.com/gsam-go/gsam/backbone"
	"github.com/gsam-go/gsam/decoder"
	"github.com/gsam-go/gsam/enhancer"
	"github.com/gsam-go/gsam/nn"
	"github.com/gsam-go/gsam/query"
	"github.com/gsam-go/gsam/weights"
)

// Config is the Hub's config.json for model_type "grounding-dino". Each
// stage reads its own fields from the same JSON.
type Config struct {
	ModelType  string `json:"model_type"`
	DModel     int    `json:"d_model"`
	MaxTextLen int    `json:"max_text_len"`

	Vision  backbone.VisionConfig
	Text    backbone.BERTConfig
	Encoder enhancer.Config
	Query   query.Config
	Decoder decoder.Config
}

// ParseConfig reads config.json, filling each stage's defaults as the
// reference config class does.
func ParseConfig(raw []byte) (*Config, error) {
	c := &Config{}
	if err := json.Unmarshal(raw, c); err != nil {
		return nil, fmt.Errorf("groundingdino: config.json: %w", err)
	}
	if c.ModelType != "" && c.ModelType != "grounding-dino" {
		return nil, fmt.Errorf("groundingdino: config.json has model_type %q, want grounding-dino", c.ModelType)
	}
	var err error
	if c.Vision, err = backbone.ParseVisionConfig(raw); err != nil {
		return nil, err
	}
	var text struct {
		TextConfig *backbone.BERTConfig `json:"text_config"`
	}
	text.TextConfig = ptr(backbone.BERTBaseConfig())
	if err := json.Unmarshal(raw, &text); err != nil {
		return nil, fmt.Errorf("groundingdino: text_config: %w", err)
	}
	c.Text = *text.TextConfig
	c.Encoder = enhancer.Config{DModel: 256, EncoderLayers: 6, EncoderAttentionHeads: 8, EncoderNPoints: 4, EncoderFFNDim: 2048, NumFeatureLevels: 4, LayerNormEps: 1e-5, ActivationFunction: "relu"}
	c.Query = query.DefaultConfig()
	c.Decoder = decoder.DefaultConfig()
	for _, v := range []any{&c.Encoder, &c.Query, &c.Decoder} {
		if err := json.Unmarshal(raw, v); err != nil {
			return nil, fmt.Errorf("groundingdino: config.json: %w", err)
		}
	}
	if c.DModel == 0 {
		c.DModel = 256
	}
	if c.MaxTextLen == 0 {
		c.MaxTextLen = 256
	}
	if c.Encoder.DModel != c.DModel || c.Query.DModel != c.DModel || c.Decoder.DModel != c.DModel {
		return nil, fmt.Errorf("groundingdino: inconsistent d_model in config")
	}
	if c.Encoder.EncoderAttentionHeads <= 0 || c.DModel%c.Encoder.EncoderAttentionHeads != 0 {
		return nil, fmt.Errorf("groundingdino: d_model %d is not divisible by encoder_attention_heads %d", c.DModel, c.Encoder.EncoderAttentionHeads)
	}
	if c.Encoder.EncoderLayers <= 0 || c.Encoder.EncoderNPoints <= 0 || c.Encoder.EncoderFFNDim <= 0 || c.Encoder.NumFeatureLevels != c.Vision.NumFeatureLevels {
		return nil, fmt.Errorf("groundingdino: encoder config has non-positive sizes or num_feature_levels disagrees: %+v", c.Encoder)
	}
	if err := c.Text.Validate(); err != nil {
		return nil, err
	}
	return c, nil
}

func ptr[T any](v T) *T { return &v }

// Model is Grounding DINO for object detection with its Hub key layout.
type Model struct {
	Config         *Config
	Vision         *backbone.Vision
	Text           *backbone.BERT
	TextProjection nn.Linear
	Encoder        enhancer.Encoder
	Query          *query.Selector
	Decoder        *decoder.Decoder
}

// New allocates a model for cfg (zero weights; bind or randomize them).
func New(cfg *Config) (*Model, error) {
	m := &Model{Config: cfg}
	var err error
	if m.Vision, err = backbone.NewVision(cfg.Vision); err != nil {
		return nil, err
	}
	if m.Text, err = backbone.NewBERT(cfg.Text); err != nil {
		return nil, err
	}
	m.TextProjection = nn.NewLinear(cfg.Text.HiddenSize, cfg.DModel, true)
	m.Encoder = enhancer.NewEncoder(cfg.Encoder)
	if m.Query, err = query.New(cfg.Query); err != nil {
		return nil, err
	}
	if m.Decoder, err = decoder.New(cfg.Decoder); err != nil {
		return nil, err
	}
	return m, nil
}

// Bind loads every weight from l; call l.Err() afterwards.
func (m *Model) Bind(l *weights.Loader) {
	m.Vision.Bind(l, "model")
	l.Bind("model.text_backbone", m.Text)
	l.Bind("model.text_projection", &m.TextProjection)
	l.Bind("model.encoder", &m.Encoder)
	m.Query.Bind(l)
	m.Decoder.Bind(l)
}

// Randomize fills every weight with small random values (benchmarks).
func (m *Model) Randomize(seed uint64) {
	weights.Randomize(m.Vision.Backbone, seed)
	weights.Randomize(m.Vision, seed+1)
	weights.Randomize(m.Text, seed+2)
	weights.Randomize(&m.TextProjection, seed+3)
	weights.Randomize(&m.Encoder, seed+4)
	weights.Randomize(m.Query, seed+5)
	weights.Randomize(m.Decoder, seed+6)
}

// LoadModel reads config.json and the weights from a Hub folder. Loading is
// strict: every missing, mis-shaped or unused tensor is named in one error.
func LoadModel(dir string) (*Model, error) {
	raw, err := os.ReadFile(filepath.Join(dir, "config.json"))
	if err != nil {
		return nil, fmt.Errorf("groundingdino: %w", err)
	}
	cfg, err := ParseConfig(raw)
	if err != nil {
		return nil, err
	}
	m, err := New(cfg)
	if err != nil {
		return nil, err
	}
	store, err := weights.Open(dir)
	if err != nil {
		return nil, err
	}
	defer store.Close()
	l := weights.NewLoader(store)
	m.Bind(l)
	if err := l.Err(); err != nil {
		return nil, fmt.Errorf("groundingdino: %s: %w", dir, err)
	}
	return m, nil
}

// DropScratch forgets the buffers the model keeps between calls (Swin's
// block scratch, the shared nn and cpu scratch), returning their memory
// to the collector: for a process that is done with heavy use for a
// while. The next call allocates them again.
func (m *Model) DropScratch() {
	if s, ok := m.Vision.Backbone.(*backbone.Swin); ok {
		s.DropScratch()
	}
	nn.DropScratch()
}
