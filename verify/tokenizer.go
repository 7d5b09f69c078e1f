package verify

import (
	"fmt"
	"path/filepath"

	"github.com/gsam-go/gsam/parity"
	"github.com/gsam-go/gsam/tokenize"
	"github.com/gsam-go/gsam/weights"
)

// checkTokenizer encodes every case of cases.json and compares ids, type
// ids, attention mask, Grounding DINO's position ids and sub-sentence mask,
// and the label lists of labels_to_caption.json.
func checkTokenizer(dir string) ([]parity.Result, error) {
	tok, err := tokenize.Load(dir)
	if err != nil {
		return nil, err
	}
	var cases []struct {
		Caption       string `json:"caption"`
		InputIDs      []int  `json:"input_ids"`
		TokenTypeIDs  []int  `json:"token_type_ids"`
		AttentionMask []int  `json:"attention_mask"`
		PositionIDs   []int  `json:"position_ids_first256"`
	}
	if err := readJSON(filepath.Join(dir, "cases.json"), &cases); err != nil {
		return nil, err
	}
	var masks *weights.File
	if m, err := weights.OpenFile(filepath.Join(dir, "masks.safetensors")); err == nil {
		masks = m
		defer m.Close()
	}
	var res []parity.Result
	for i, c := range cases {
		name := fmt.Sprintf("case.%d.", i)
		enc, err := tok.Encode(c.Caption)
		if err != nil {
			res = append(res, parity.Result{Name: name + "input_ids", Err: err.Error()})
			continue
		}
		res = append(res,
			parity.CompareExact(name+"input_ids", enc.InputIDs, []int{len(enc.InputIDs)}, ints(c.InputIDs), []int{len(c.InputIDs)}),
			parity.CompareExact(name+"token_type_ids", enc.TokenTypeIDs, []int{len(enc.TokenTypeIDs)}, ints(c.TokenTypeIDs), []int{len(c.TokenTypeIDs)}),
			parity.CompareExact(name+"attention_mask", enc.AttentionMask, []int{len(enc.AttentionMask)}, ints(c.AttentionMask), []int{len(c.AttentionMask)}),
		)
		first := enc.Truncate(tokenize.MaxTextLen)
		mask, pos := tokenize.TextSelfAttentionMask(first.InputIDs)
		if c.PositionIDs != nil {
			res = append(res, parity.CompareExact(name+"position_ids_first256", pos, []int{len(pos)}, ints(c.PositionIDs), []int{len(c.PositionIDs)}))
		}
		key := fmt.Sprintf("%d.text_self_attention_mask", i)
		if masks != nil {
			if want, shape, err := masks.Int64(key); err == nil {
				n := len(pos)
				res = append(res, parity.CompareExact(key, boolsToInts(mask), []int{n, n}, want, shape))
			}
		}
	}
	var lists []struct {
		Labels   []string `json:"labels"`
		InputIDs []int    `json:"input_ids"`
	}
	if err := readJSON(filepath.Join(dir, "labels_to_caption.json"), &lists); err == nil {
		for i, l := range lists {
			name := fmt.Sprintf("labels.%d.input_ids", i)
			enc, err := tok.Encode(tokenize.CaptionFromLabels(l.Labels))
			if err != nil {
				res = append(res, parity.Result{Name: name, Err: err.Error()})
				continue
			}
			res = append(res, parity.CompareExact(name, enc.InputIDs, []int{len(enc.InputIDs)}, ints(l.InputIDs), []int{len(l.InputIDs)}))
		}
	}
	return res, nil
}
