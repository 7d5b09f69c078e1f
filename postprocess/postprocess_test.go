package postprocess

import (
	"os"
	"testing"

	"github.com/gsam-go/gsam/internal/fixture"
	"github.com/gsam-go/gsam/nn"
	"github.com/gsam-go/gsam/tokenize"
)

var cases = []string{"gdino_swin_single", "gdino_swin_batch", "gdino_resnet"}

func TestVerifyCase(t *testing.T) {
	for _, name := range cases {
		t.Run(name, func(t *testing.T) {
			f := fixture.Tensors(t, name+"/case/tensors.safetensors")
			raw, err := os.ReadFile(fixture.Dir(t, name, "case", "case.json"))
			if err != nil {
				t.Fatal(err)
			}
			tok, err := tokenize.Load(fixture.Dir(t, name))
			if err != nil {
				t.Fatal(err)
			}
			ids, s := fixture.Int(t, f, "input.input_ids")
			rows := make([][]int64, s[0])
			for b := range rows {
				rows[b] = ids[b*s[1] : (b+1)*s[1]]
			}
			for _, r := range VerifyCase(raw, fixture.Float(t, f, "output.logits"), fixture.Float(t, f, "output.pred_boxes"), rows, tok) {
				if !r.OK() {
					t.Error(r.String())
				} else {
					t.Log(r.String())
				}
			}
		})
	}
}

func TestNMS(t *testing.T) {
	dets := []Detection{
		{Query: 0, Score: 0.5, Box: [4]float32{0, 0, 10, 10}, TextLabel: "cat"},
		{Query: 1, Score: 0.9, Box: [4]float32{1, 1, 11, 11}, TextLabel: "cat"},
		{Query: 2, Score: 0.8, Box: [4]float32{1, 1, 11, 11}, TextLabel: "dog"},
		{Query: 3, Score: 0.7, Box: [4]float32{20, 20, 30, 30}, TextLabel: "cat"},
	}
	got := NMS(dets, 0.5, false)
	if len(got) != 3 || got[0].Query != 1 || got[1].Query != 2 || got[2].Query != 3 {
		t.Fatalf("NMS kept %+v", got)
	}
	if v := IoU([4]float32{0, 0, 2, 2}, [4]float32{1, 1, 3, 3}); v != float32(1)/7 {
		t.Fatalf("IoU %v", v)
	}
}

func TestBadInput(t *testing.T) {
	if _, err := GroundedObjectDetection(nn.New(1, 2, 4), nn.New(1, 3, 4), [][]int64{{101}}, nil, Options{}); err == nil {
		t.Fatal("mismatched shapes accepted")
	}
	if _, err := GroundedObjectDetection(nn.New(2, 2, 4), nn.New(2, 2, 4), [][]int64{{101}}, nil, Options{}); err == nil {
		t.Fatal("missing input ids accepted")
	}
}

// TestCleanLabels gives every detection of the single-image case a whole
// input label through tokenize.BestLabel over the caption's phrases.
func TestCleanLabels(t *testing.T) {
	name := "gdino_swin_single"
	f := fixture.Tensors(t, name+"/case/tensors.safetensors")
	tok, err := tokenize.Load(fixture.Dir(t, name))
	if err != nil {
		t.Fatal(err)
	}
	lb, err := tok.EncodePhrases("a cat . a remote control .")
	if err != nil {
		t.Fatal(err)
	}
	ids, _ := fixture.Int(t, f, "input.input_ids")
	const thr = 0.989674985408783
	got, err := GroundedObjectDetection(fixture.Float(t, f, "output.logits"), fixture.Float(t, f, "output.pred_boxes"),
		[][]int64{ids}, tok, Options{Threshold: thr, TextThreshold: thr, Labels: []*tokenize.Labeled{lb}, NMSThreshold: 0.5})
	if err != nil {
		t.Fatal(err)
	}
	if len(got[0]) == 0 {
		t.Fatal("no detections")
	}
	for _, d := range got[0] {
		if d.Label < 0 || d.Label >= len(lb.Labels) {
			t.Errorf("query %d (%q): label %d", d.Query, d.TextLabel, d.Label)
		} else {
			t.Logf("query %d: %q → %q (%.4f)", d.Query, d.TextLabel, lb.Labels[d.Label], d.Score)
		}
	}
}
