package enhancer

import (
	"encoding/json"
	"testing"

	"github.com/gsam-go/gsam/internal/fixture"
	"github.com/gsam-go/gsam/nn"
	"github.com/gsam-go/gsam/query"
	"github.com/gsam-go/gsam/tokenize"
	"github.com/gsam-go/gsam/weights"
	"gorgonia.org/tensor"
)

// The three Grounding DINO fixtures: one image, a padded batch of two with
// captions of different lengths, and a ResNet backbone.
var gdinoFixtures = []string{"gdino_swin_single", "gdino_swin_batch", "gdino_resnet"}

// encoderCase is one fixture's encoder inputs, built the way
// GroundingDinoModel.forward builds them from the stored activations.
type encoderCase struct {
	f     *weights.File
	store *weights.Store
	cfg   Config
	in    Inputs
	ref   *tensor.Dense // reference points [B, S, L, 2]
}

func loadEncoderCase(t *testing.T, name string) *encoderCase {
	t.Helper()
	var cfg Config
	store := fixture.Model(t, name, &cfg)
	f := fixture.Tensors(t, name+"/case/tensors.safetensors")
	c := &encoderCase{f: f, store: store, cfg: cfg}

	// Vision: input projections + sine position embeddings + level_embed, flattened.
	le, _, err := store.Float32("model.level_embed")
	if err != nil {
		t.Fatal(err)
	}
	d := cfg.DModel
	var srcs, poss []*tensor.Dense
	var shapes [][2]int
	for l := 0; l < cfg.NumFeatureLevels; l++ {
		src := fixture.Float(t, f, "act.model.input_proj_vision."+itoa(l))
		posName := "act.model.backbone.position_embedding"
		if l > 0 {
			posName += "#" + itoa(l+1)
		}
		srcs = append(srcs, src)
		poss = append(poss, fixture.Float(t, f, posName))
		s := src.Shape()
		shapes = append(shapes, [2]int{s[2], s[3]})
	}
	B := srcs[0].Shape()[0]
	starts := query.LevelStartIndex(shapes)
	S := 0
	for _, s := range shapes {
		S += s[0] * s[1]
	}
	vision := make([]float32, B*S*d)
	pos := make([]float32, B*S*d)
	for l := range srcs {
		hw := shapes[l][0] * shapes[l][1]
		sd, pd := nn.Data(srcs[l]), nn.Data(poss[l])
		for b := 0; b < B; b++ {
			for ch := 0; ch < d; ch++ {
				for p := 0; p < hw; p++ {
					i := ((b*S + starts[l] + p) * d) + ch
					vision[i] = sd[(b*d+ch)*hw+p]
					pos[i] = pd[(b*d+ch)*hw+p] + le[l*d+ch]
				}
			}
		}
	}
	pm, ps := fixture.Int(t, f, "input.pixel_mask")
	pixel := make([]bool, len(pm))
	for i, v := range pm {
		pixel[i] = v != 0
	}
	mask, err := query.FlattenMask(pixel, ps[0], ps[1], ps[2], shapes)
	if err != nil {
		t.Fatal(err)
	}
	ratios, err := query.ValidRatios(mask, B, shapes)
	if err != nil {
		t.Fatal(err)
	}

	// Text: projected BERT features, padding mask, sub-sentence mask, position ids.
	text := fixture.Float(t, f, "act.model.text_projection")
	ids, is := fixture.Int(t, f, "input.input_ids")
	am, _ := fixture.Int(t, f, "input.attention_mask")
	T := is[1]
	textValid := make([]bool, B*T)
	for i, v := range am {
		textValid[i] = v != 0
	}
	var selfMask []bool
	var posIDs []int64
	for b := 0; b < B; b++ {
		m, p := tokenize.TextSelfAttentionMask(ids[b*T : (b+1)*T])
		selfMask = append(selfMask, m...)
		posIDs = append(posIDs, p...)
	}

	c.in = Inputs{
		Vision:            nn.FromData(vision, B, S, d),
		VisionPos:         nn.FromData(pos, B, S, d),
		VisionMask:        mask,
		SpatialShapes:     shapes,
		LevelStart:        starts,
		ValidRatios:       ratios,
		Text:              text,
		TextMask:          textValid,
		TextSelfAttention: selfMask,
		TextPositionIDs:   posIDs,
	}
	c.ref = ReferencePoints(shapes, ratios, B)
	return c
}

func itoa(i int) string {
	b, _ := json.Marshal(i)
	return string(b)
}

// bind loads v from the fixture model under prefix, failing on any missing
// or mis-shaped key.
func (c *encoderCase) bind(t *testing.T, prefix string, v any) {
	t.Helper()
	l := weights.NewLoader(c.store)
	l.Bind(prefix, v)
	l.Ignore("")
	if err := l.Err(); err != nil {
		t.Fatal(err)
	}
}

// check compares got with the stored tensor and returns the max abs error.
func (c *encoderCase) check(t *testing.T, name string, got *tensor.Dense) float64 {
	t.Helper()
	return fixture.Check(t, c.f, name, got).MaxAbs
}

// boolsEqual reports whether two masks are identical.
func boolsEqual(a, b []bool) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
