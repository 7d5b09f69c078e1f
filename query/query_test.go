package query

import (
	"fmt"
	"testing"

	"github.com/gsam-go/gsam/internal/fixture"
	"github.com/gsam-go/gsam/nn"
	"github.com/gsam-go/gsam/weights"
)

var cases = []string{"gdino_swin_single", "gdino_swin_batch", "gdino_resnet"}

// fixtureInput builds the selection input from a case's stored tensors.
func fixtureInput(t *testing.T, f *weights.File) Input {
	t.Helper()
	pm, ps := fixture.Int(t, f, "input.pixel_mask")
	am, _ := fixture.Int(t, f, "input.attention_mask")
	var shapes [][2]int
	for l := 0; ; l++ {
		name := fmt.Sprintf("act.model.input_proj_vision.%d", l)
		info, ok := f.Info(name)
		if !ok {
			break
		}
		shapes = append(shapes, [2]int{info.Shape[2], info.Shape[3]})
	}
	pixel := make([]bool, len(pm))
	for i, v := range pm {
		pixel[i] = v != 0
	}
	mask, err := FlattenMask(pixel, ps[0], ps[1], ps[2], shapes)
	if err != nil {
		t.Fatal(err)
	}
	text := make([]bool, len(am))
	for i, v := range am {
		text[i] = v != 0
	}
	return Input{
		Vision:        fixture.Float(t, f, "output.encoder_last_hidden_state_vision"),
		Text:          fixture.Float(t, f, "output.encoder_last_hidden_state_text"),
		TextFeatures:  fixture.Float(t, f, "act.model.text_projection"),
		VisionMask:    mask,
		TextMask:      text,
		SpatialShapes: shapes,
	}
}

func loadSelector(t *testing.T, name string) *Selector {
	t.Helper()
	var cfg Config
	store := fixture.Model(t, name, &cfg)
	s, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	l := weights.NewLoader(store)
	s.Bind(l)
	l.Ignore("")
	if err := l.Err(); err != nil {
		t.Fatal(err)
	}
	return s
}

func TestSelectionParity(t *testing.T) {
	for _, name := range cases {
		t.Run(name, func(t *testing.T) {
			f := fixture.Tensors(t, name+"/case/tensors.safetensors")
			s := loadSelector(t, name)
			in := fixtureInput(t, f)
			out, err := s.Forward(in)
			if err != nil {
				t.Fatal(err)
			}
			padding := make([]bool, len(in.VisionMask))
			for i, v := range in.VisionMask {
				padding[i] = !v
			}
			_, keep := proposals(padding, in.Vision.Shape()[0], in.SpatialShapes)
			fixture.Check(t, f, "act.model.enc_output", s.project(in.Vision, keep))
			fixture.Check(t, f, "act.model.enc_output_norm", out.ObjectQuery)
			fixture.Check(t, f, "output.enc_outputs_class", out.EncOutputsClass)
			fixture.Check(t, f, "output.enc_outputs_coord_logits", out.EncOutputsCoordLogits)
			fixture.Check(t, f, "output.init_reference_points", out.ReferencePoints)
			fixture.Check(t, f, "output.encoder_pred_boxes", out.ReferencePoints)
			fixture.Check(t, f, "output.encoder_logits", out.EncoderLogits)
			checkSelectedSet(t, f, out)
		})
	}
}

// checkSelectedSet recovers the reference's top-k positions by matching its
// encoder_pred_boxes rows against the sigmoid of every position's box and
// checks they are exactly the positions selected here, as a set. It also
// logs the score gap at the k-th place, the margin that decides the set.
func checkSelectedSet(t *testing.T, f *weights.File, out *Output) {
	t.Helper()
	want := nn.Data(fixture.Float(t, f, "output.encoder_pred_boxes"))
	cs := out.EncOutputsCoordLogits.Shape()
	B, S := cs[0], cs[1]
	Q := len(out.TopK[0])
	coord := nn.Data(out.EncOutputsCoordLogits)
	M := out.EncOutputsClass.Shape()[2]
	class := nn.Data(out.EncOutputsClass)
	for b := 0; b < B; b++ {
		got := map[int]bool{}
		for _, i := range out.TopK[b] {
			got[i] = true
		}
		ref := map[int]bool{}
		for q := 0; q < Q; q++ {
			row := want[(b*Q+q)*4 : (b*Q+q+1)*4]
			// Several positions may give the same box (padding saturates
			// to 1): accept any selected one, else the first match.
			match := -1
			for i := 0; i < S; i++ {
				same := true
				for k := 0; k < 4; k++ {
					d := sigmoid(coord[(b*S+i)*4+k]) - row[k]
					if d > 1e-5 || d < -1e-5 {
						same = false
						break
					}
				}
				if same && (match < 0 || got[i] && !ref[i]) {
					match = i
					if got[i] && !ref[i] {
						break
					}
				}
			}
			if match < 0 {
				t.Errorf("image %d query %d: reference box %v matches no position", b, q, row)
				continue
			}
			ref[match] = true
		}
		missing := 0
		for i := range ref {
			if !got[i] {
				missing++
			}
		}
		if missing > 0 || len(ref) != len(got) {
			t.Errorf("image %d: selected set differs from the reference: %d of %d reference positions not selected", b, missing, len(ref))
		}
		best := func(i int) float32 {
			m := class[(b*S+i)*M]
			for _, v := range class[(b*S+i)*M : (b*S+i+1)*M] {
				m = max(m, v)
			}
			return m
		}
		kth := best(out.TopK[b][Q-1])
		next := float32(-1e30)
		for i := 0; i < S; i++ {
			if !got[i] {
				next = max(next, best(i))
			}
		}
		t.Logf("image %d: top-%d set matches; k-th score %g, best unselected %g", b, Q, kth, next)
	}
}

func TestFlattenMaskAndRatios(t *testing.T) {
	// 4×6 image whose right third is padding, levels 2×3 and 1×1 … and 3×5
	// (a non-integer scale).
	pix := make([]bool, 4*6)
	for y := 0; y < 4; y++ {
		for x := 0; x < 4; x++ {
			pix[y*6+x] = true
		}
	}
	shapes := [][2]int{{2, 3}, {3, 5}, {1, 1}}
	m, err := FlattenMask(pix, 1, 4, 6, shapes)
	if err != nil {
		t.Fatal(err)
	}
	// 2×3: x ∈ {0, 2, 4}; 3×5: scale 1.2 → x ∈ {0, 1, 2, 3, 4}; 1×1: x = 0.
	want := []bool{true, true, false, true, true, false,
		true, true, true, true, false, true, true, true, true, false, true, true, true, true, false,
		true}
	if fmt.Sprint(m) != fmt.Sprint(want) {
		t.Fatalf("mask %v\nwant %v", m, want)
	}
	r, err := ValidRatios(m, 1, shapes)
	if err != nil {
		t.Fatal(err)
	}
	if r[0] != float32(2)/3 || r[1] != 1 || r[2] != 0.8 || r[3] != 1 {
		t.Fatalf("ratios %v", r)
	}
	if _, err := FlattenMask(pix, 1, 4, 5, shapes); err == nil {
		t.Fatal("wrong size accepted")
	}
}

// TestGatheredTarget runs the embedding_init_target=false path on a
// fixture: the targets are the selected object queries.
func TestGatheredTarget(t *testing.T) {
	name := "gdino_swin_batch"
	f := fixture.Tensors(t, name+"/case/tensors.safetensors")
	s := loadSelector(t, name)
	s.QueryPositionEmbeddings.Weight = nil
	out, err := s.Forward(fixtureInput(t, f))
	if err != nil {
		t.Fatal(err)
	}
	S, D, Q := out.ObjectQuery.Shape()[1], s.Config.DModel, s.Config.NumQueries
	oq, tg := nn.Data(out.ObjectQuery), nn.Data(out.Target)
	for b, idx := range out.TopK {
		for q, i := range idx {
			if fmt.Sprint(tg[(b*Q+q)*D:(b*Q+q+1)*D]) != fmt.Sprint(oq[(b*S+i)*D:(b*S+i+1)*D]) {
				t.Fatalf("image %d query %d: target is not object query %d", b, q, i)
			}
		}
	}
}

// TestOneStage: without two-stage selection the learned reference points
// (sigmoid) and query embeddings are used as they are.
func TestOneStage(t *testing.T) {
	s, err := New(Config{DModel: 4, NumQueries: 2, MaxTextLen: 8, LayerNormEps: 1e-5})
	if err != nil {
		t.Fatal(err)
	}
	copy(nn.Data(s.ReferencePoints.Weight), []float32{0, 0, 0, 0, 1, -1, 2, -2})
	in := Input{Vision: nn.New(2, 3, 4), Text: nn.New(2, 1, 4), VisionMask: make([]bool, 6), TextMask: make([]bool, 2),
		SpatialShapes: [][2]int{{1, 3}}}
	out, err := s.Forward(in)
	if err != nil {
		t.Fatal(err)
	}
	r := nn.Data(out.ReferencePoints)
	if out.ReferencePoints.Shape()[0] != 2 || r[0] != 0.5 || r[12] != sigmoid(1) || out.Target.Shape()[1] != 2 {
		t.Fatalf("one-stage reference points %v target %v", r, out.Target.Shape())
	}
	in.SpatialShapes = [][2]int{{1, 2}}
	if _, err := s.Forward(in); err == nil {
		t.Fatal("spatial shapes not covering the features accepted")
	}
}
