package postprocess

import (
	"fmt"
	"math"

	"github.com/gsam-go/gsam/nn"
	"github.com/gsam-go/gsam/tokenize"
	"gorgonia.org/tensor"
)

// Detection is one kept query.
type Detection struct {
	Query     int        // index of the query in the model output
	Score     float32    // sigmoid of the query's best token logit
	Box       [4]float32 // x0, y0, x1, y1 in target pixels (or [0, 1] without a target size)
	TextLabel string     // the reference's phrase: tokens above the text threshold, decoded
	// Label is the index of the input label the detection belongs to when
	// Options.Labels is set (the label with the best token above the text
	// threshold), else -1.
	Label int
}

// Options are the thresholds and the optional extras.
type Options struct {
	Threshold     float32 // keep a query when its best token probability is above this (box threshold)
	TextThreshold float32 // tokens above this form the phrase
	// TargetSizes are the (height, width) of each image to scale boxes to;
	// nil leaves them relative.
	TargetSizes [][2]int
	// Labels, one per image, gives each detection a whole input label
	// (tokenize.BestLabel over the label spans) in Detection.Label.
	Labels []*tokenize.Labeled
	// NMSThreshold > 0 applies class-wise non-maximum suppression: of two
	// detections of the same class whose IoU exceeds it, the lower-scoring
	// one is dropped. The class is Label when Labels is set, else TextLabel.
	NMSThreshold float32
}

// GroundedObjectDetection post-processes logits [B, Q, max_text_len] and
// pred_boxes [B, Q, 4] (cx, cy, w, h in [0, 1]) for the token ids the model
// saw (inputIDs[b], before padding to max_text_len). tok decodes the
// phrases; with a nil tok TextLabel stays empty. Detections keep the query
// order, as in the reference.
func GroundedObjectDetection(logits, boxes *tensor.Dense, inputIDs [][]int64, tok *tokenize.Tokenizer, opt Options) ([][]Detection, error) {
	ls, bs := logits.Shape(), boxes.Shape()
	if len(ls) != 3 || len(bs) != 3 || ls[0] != bs[0] || ls[1] != bs[1] || bs[2] != 4 {
		return nil, fmt.Errorf("postprocess: logits %v and boxes %v, want [B, Q, M] and [B, Q, 4]", ls, bs)
	}
	B, Q, M := ls[0], ls[1], ls[2]
	if len(inputIDs) != B {
		return nil, fmt.Errorf("postprocess: %d input id rows for a batch of %d", len(inputIDs), B)
	}
	if opt.TargetSizes != nil && len(opt.TargetSizes) != B {
		return nil, fmt.Errorf("postprocess: %d target sizes for a batch of %d", len(opt.TargetSizes), B)
	}
	if opt.Labels != nil && len(opt.Labels) != B {
		return nil, fmt.Errorf("postprocess: %d label sets for a batch of %d", len(opt.Labels), B)
	}
	ld, bd := nn.Data(logits), nn.Data(boxes)
	probs := make([]float32, M)
	out := make([][]Detection, B)
	for b := 0; b < B; b++ {
		scale := [4]float32{1, 1, 1, 1}
		if opt.TargetSizes != nil {
			h, w := float32(opt.TargetSizes[b][0]), float32(opt.TargetSizes[b][1])
			scale = [4]float32{w, h, w, h}
		}
		dets := []Detection{}
		for q := 0; q < Q; q++ {
			row := ld[(b*Q+q)*M : (b*Q+q+1)*M]
			score := float32(0)
			for j, v := range row {
				probs[j] = sigmoid(v)
				score = max(score, probs[j])
			}
			if !(score > opt.Threshold) {
				continue
			}
			c := bd[(b*Q+q)*4 : (b*Q+q+1)*4]
			hw, hh := 0.5*c[2], 0.5*c[3]
			box := [4]float32{c[0] - hw, c[1] - hh, c[0] + hw, c[1] + hh}
			for k := range box {
				box[k] *= scale[k]
			}
			d := Detection{Query: q, Score: score, Box: box, Label: -1}
			if tok != nil {
				d.TextLabel = tok.Phrase(inputIDs[b], probs, opt.TextThreshold)
			}
			if opt.Labels != nil && opt.Labels[b] != nil {
				if l, _, ok := tokenize.BestLabel(opt.Labels[b].Spans, probs, opt.TextThreshold); ok {
					d.Label = l
				}
			}
			dets = append(dets, d)
		}
		if opt.NMSThreshold > 0 {
			dets = NMS(dets, opt.NMSThreshold, opt.Labels != nil)
		}
		out[b] = dets
	}
	return out, nil
}

func sigmoid(x float32) float32 { return float32(1 / (1 + math.Exp(-float64(x)))) }
