package postprocess

import (
	"encoding/json"
	"fmt"

	"github.com/gsam-go/gsam/parity"
	"github.com/gsam-go/gsam/tokenize"
	"gorgonia.org/tensor"
)

// BoxTolerance is the fixtures' bound for post-processed boxes: 1e-2 pixels.
var BoxTolerance = parity.Tolerance{Abs: 1e-2}

// Reference is the "postprocess" object of a fixture's case.json.
type Reference struct {
	Threshold     float32  `json:"threshold"`
	TextThreshold float32  `json:"text_threshold"`
	TargetSizes   [][2]int `json:"target_sizes"`
	Results       []struct {
		Scores     []float32    `json:"scores"`
		Boxes      [][4]float32 `json:"boxes"`
		TextLabels []string     `json:"text_labels"`
	} `json:"results"`
}

// VerifyCase re-runs the reference post-processing of a fixture case
// (caseJSON: the bytes of its case.json) on logits, boxes and inputIDs,
// and compares, per image i, "postprocess.<i>.scores" (float tolerance),
// "postprocess.<i>.boxes" (1e-2 px) and "postprocess.<i>.text_labels"
// (identical strings).
func VerifyCase(caseJSON []byte, logits, boxes *tensor.Dense, inputIDs [][]int64, tok *tokenize.Tokenizer) []parity.Result {
	var c struct {
		Postprocess *Reference `json:"postprocess"`
	}
	if err := json.Unmarshal(caseJSON, &c); err != nil || c.Postprocess == nil {
		return []parity.Result{{Name: "postprocess", Err: fmt.Sprintf("case.json has no postprocess reference (%v)", err)}}
	}
	ref := c.Postprocess
	got, err := GroundedObjectDetection(logits, boxes, inputIDs, tok, Options{
		Threshold: ref.Threshold, TextThreshold: ref.TextThreshold, TargetSizes: ref.TargetSizes,
	})
	if err != nil {
		return []parity.Result{{Name: "postprocess", Err: err.Error()}}
	}
	if len(got) != len(ref.Results) {
		return []parity.Result{{Name: "postprocess", Err: fmt.Sprintf("%d images, reference has %d", len(got), len(ref.Results))}}
	}
	var out []parity.Result
	for i, want := range ref.Results {
		dets := got[i]
		name := fmt.Sprintf("postprocess.%d.", i)
		scores := make([]float32, len(dets))
		var bx, wbx []float32
		labels := make([]string, len(dets))
		for j, d := range dets {
			scores[j] = d.Score
			bx = append(bx, d.Box[:]...)
			labels[j] = d.TextLabel
		}
		for _, b := range want.Boxes {
			wbx = append(wbx, b[:]...)
		}
		out = append(out,
			parity.Compare(name+"scores", scores, []int{len(scores)}, want.Scores, []int{len(want.Scores)}, parity.Default),
			parity.Compare(name+"boxes", bx, []int{len(dets), 4}, wbx, []int{len(want.Boxes), 4}, BoxTolerance),
			compareStrings(name+"text_labels", labels, want.TextLabels))
	}
	return out
}

func compareStrings(name string, got, want []string) parity.Result {
	r := parity.Result{Name: name, N: len(want)}
	if len(got) != len(want) {
		r.Err = fmt.Sprintf("%d labels, want %d", len(got), len(want))
		return r
	}
	for i := range want {
		if got[i] != want[i] {
			if r.Bad == 0 {
				r.WorstAt = i
				r.Err = fmt.Sprintf("label %d is %q, want %q", i, got[i], want[i])
			}
			r.Bad++
		}
	}
	return r
}
