package sam

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync"

	"github.com/gsam-go/gsam/nn"
	"github.com/gsam-go/gsam/weights"
	"gorgonia.org/tensor"
)

// Model is SamModel: image encoder, prompt encoder and mask decoder, with
// the positional embedding they share.
type Model struct {
	SharedImageEmbedding PositionalEmbedding `gsam:"shared_image_embedding"`
	VisionEncoder        VisionEncoder       `gsam:"vision_encoder"`
	PromptEncoder        PromptEncoder       `gsam:"prompt_encoder"`
	MaskDecoder          MaskDecoder         `gsam:"mask_decoder"`
	Config               Config

	keyPE []float32 // image-wide positional embedding in token layout [g*g, C], computed once at load
}

// New allocates a model with every weight shaped from the config (zeros).
func New(c Config) (*Model, error) {
	if err := c.Validate(); err != nil {
		return nil, err
	}
	m := &Model{Config: c}
	m.SharedImageEmbedding.Gaussian = nn.New(2, c.VisionConfig.NumPosFeats)
	m.VisionEncoder = NewVisionEncoder(c.VisionConfig)
	m.PromptEncoder = NewPromptEncoder(c.PromptEncoderConfig, &m.SharedImageEmbedding)
	m.MaskDecoder = NewMaskDecoder(c.MaskDecoderConfig)
	return m, nil
}

// sharedKey is where the Hub stores the tied positional embedding; some
// exports write it under the prompt encoder's name instead.
const (
	sharedKey     = "shared_image_embedding.positional_embedding"
	sharedKeyTied = "prompt_encoder.shared_embedding.positional_embedding"
)

// Load reads config.json and model.safetensors (or a sharded index) from a
// Hub folder. Binding is strict: a missing, mis-shaped or unused tensor is an
// error naming every such key.
func Load(dir string) (*Model, error) {
	c, err := LoadConfig(filepath.Join(dir, "config.json"))
	if err != nil {
		return nil, err
	}
	m, err := New(c)
	if err != nil {
		return nil, err
	}
	src := dir
	if _, err := os.Stat(filepath.Join(dir, "model.safetensors")); err == nil {
		src = filepath.Join(dir, "model.safetensors")
	}
	store, err := weights.Open(src)
	if err != nil {
		return nil, fmt.Errorf("sam: %w", err)
	}
	defer store.Close()
	if err := m.LoadWeights(store); err != nil {
		return nil, err
	}
	return m, nil
}

// LoadWeights binds the store's tensors into m.
func (m *Model) LoadWeights(store *weights.Store) error {
	l := weights.NewLoader(store)
	l.Alias(sharedKey, sharedKeyTied)
	if l.Has(sharedKey) {
		l.Ignore(sharedKeyTied) // both names present: the same tensor twice
	}
	l.Bind("", m)
	if err := l.Err(); err != nil {
		return fmt.Errorf("sam: %w", err)
	}
	m.Prepare()
	return nil
}

// Prepare recomputes what is derived from the weights (the image-wide
// positional embedding, the image encoder's relative position tables, the
// mask decoder's packed weights; Embeddings' kept first-layer sides are
// made again on their next Decode).
// Load calls it; call it after changing weights by hand.
func (m *Model) Prepare() {
	m.keyPE = m.tokenPE()
	m.MaskDecoder.prepare()
	v := &m.VisionEncoder
	grid := v.Config.ImageSize / v.Config.PatchSize
	for i := range v.Layers {
		l := &v.Layers[i]
		if ws := l.WindowSize; ws > 0 {
			l.Attn.prepare(ws, ws)
		} else {
			l.Attn.prepare(grid, grid)
		}
	}
}

// tokenPE is the image-wide positional embedding as tokens [g*g, C].
func (m *Model) tokenPE() []float32 {
	C := 2 * m.Config.VisionConfig.NumPosFeats
	wide := m.SharedImageEmbedding.imageWide(m.Config.PromptEncoderConfig.ImageEmbeddingSize)
	return transposeTiled(wide, nil, C, len(wide)/C, nil)
}

// Embedding is the image encoder's output for one image. Embed also keeps
// it in the token layout the mask decoder reads, and the first Decode
// without a mask prompt keeps the decoder's first-layer image side, packed
// (8 MB for SAM's 64×64×256), for the prompts after it; do not modify
// Embeddings of an Embedding that Embed returned. Use it by pointer.
type Embedding struct {
	Embeddings *tensor.Dense // [1, C, g, g]

	tokens []float32 // Embeddings as [g*g, C], or nil (then Decode transposes)

	mu    sync.Mutex
	first *firstSide // see MaskDecoder.firstSideFor
}

// newEmbedding wraps an image embedding [1, C, g, g] with its token layout.
func newEmbedding(e *tensor.Dense) *Embedding {
	s := nn.Shape(e)
	if len(s) != 4 {
		return &Embedding{Embeddings: e}
	}
	return &Embedding{Embeddings: e, tokens: transposeTiled(nn.Data(e), nil, s[1], s[2]*s[3], nil)}
}

// Embed runs the image encoder on pixel values [1, 3, S, S] (S = image_size,
// as SamProcessor pads them).
func (m *Model) Embed(ctx context.Context, pixelValues *tensor.Dense) (*Embedding, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	S := m.Config.VisionConfig.ImageSize
	if s := pixelValues.Shape(); len(s) != 4 || s[0] != 1 || s[2] != S || s[3] != S {
		return nil, fmt.Errorf("sam: pixel values must be [1, %d, %d, %d], got %v", m.Config.VisionConfig.NumChannels, S, S, []int(s))
	}
	e, err := m.VisionEncoder.Forward(ctx, pixelValues)
	if err != nil {
		return nil, err
	}
	// The encoder does not see ctx: a call cancelled while it ran must
	// still report the cancellation (SetImage then keeps the old image).
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return newEmbedding(e), nil
}

// Decode runs the prompt encoder and mask decoder for a batch of prompts in
// the model's input frame.
func (m *Model) Decode(ctx context.Context, emb *Embedding, prompts *Prompts, multimask bool) (*DecoderOutput, error) {
	return m.DecodeTrace(ctx, emb, prompts, multimask, nil)
}

// DecodeTrace is Decode reporting the mask decoder's intermediate tensors
// to trace (may be nil) under the reference's module names
// ("mask_decoder.transformer.layers.0.0", …): what gsam verify compares
// with a reference dump's pN.act.* tensors.
func (m *Model) DecodeTrace(ctx context.Context, emb *Embedding, prompts *Prompts, multimask bool, trace func(name string, t *tensor.Dense)) (*DecoderOutput, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	sparse, dense, err := m.PromptEncoder.forward(prompts, false)
	if err != nil {
		return nil, err
	}
	pe := m.keyPE
	if pe == nil { // a model from New whose weights were set by hand
		pe = m.tokenPE()
	}
	// Without a mask prompt the dense embedding is no_mask_embed at every
	// pixel: the decoder adds the vector instead of a broadcast copy.
	return m.MaskDecoder.forward(decoderImage{emb: emb.Embeddings, tokens: emb.tokens, keyPE: pe, shared: emb}, sparse, dense, nn.Data(m.PromptEncoder.NoMaskEmbed.Weight), multimask, trace)
}

// DropScratch forgets the buffers the model keeps between calls (the image
// encoder's work buffers, the mask decoder's arenas, the shared nn and cpu
// scratch), returning their memory to the collector. The next call
// allocates them again.
func (m *Model) DropScratch() {
	m.VisionEncoder.work.Drop()
	m.MaskDecoder.arenas.Drop()
	m.MaskDecoder.packs.Drop()
	nn.DropScratch()
}
