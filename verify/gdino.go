package verify

import (
	"context"
	"os"
	"path/filepath"
	"sort"

	"github.com/gsam-go/gsam/groundingdino"
	"github.com/gsam-go/gsam/parity"
	"github.com/gsam-go/gsam/postprocess"
	"github.com/gsam-go/gsam/tokenize"
	"github.com/gsam-go/gsam/weights"
	"gorgonia.org/tensor"
)

// checkGroundingDino loads the folder's model and tokenizer, tokenizes the
// case's captions (compared with input.input_ids), runs the model on the
// stored inputs, compares every stored tensor the model produces, and
// re-runs the reference post-processing.
func checkGroundingDino(dir string) ([]parity.Result, error) {
	m, err := groundingdino.LoadModel(dir)
	if err != nil {
		return nil, err
	}
	tok, err := tokenize.Load(dir)
	if err != nil {
		return nil, err
	}
	caseDir := filepath.Join(dir, "case")
	f, err := weights.OpenFile(filepath.Join(caseDir, "tensors.safetensors"))
	if err != nil {
		return nil, err
	}
	defer f.Close()
	caseJSON, err := os.ReadFile(filepath.Join(caseDir, "case.json"))
	if err != nil {
		return nil, err
	}
	var meta struct {
		Captions []string `json:"captions"`
	}
	if err := readJSON(filepath.Join(caseDir, "case.json"), &meta); err != nil {
		return nil, err
	}

	in, err := storedInputs(f)
	if err != nil {
		return nil, err
	}
	var res []parity.Result
	B := len(in.InputIDs) / in.T
	if len(meta.Captions) == B {
		encs, err := tok.EncodeBatch(meta.Captions)
		if err == nil {
			var ids []int64
			for _, e := range encs {
				ids = append(ids, e.InputIDs...)
			}
			want, shape, _ := f.Int64("input.input_ids")
			res = append(res, parity.CompareExact("input.input_ids", ids, []int{B, len(ids) / B}, want, shape))
		} else {
			res = append(res, parity.Result{Name: "input.input_ids", Err: err.Error()})
		}
	}

	got := map[string]*tensor.Dense{}
	out, err := m.Forward(context.Background(), in, func(n string, t *tensor.Dense) { got[n] = t }, nil)
	if err != nil {
		return res, err
	}
	var names []string
	for n := range got {
		if _, ok := f.Info(n); ok {
			names = append(names, n)
		}
	}
	sort.Strings(names)
	for _, n := range names {
		want, shape, err := f.Float32(n)
		if err != nil {
			res = append(res, parity.Result{Name: n, Err: err.Error()})
			continue
		}
		g := got[n]
		res = append(res, parity.Compare(n, g.Float32s(), []int(g.Shape()), want, shape, parity.Default))
	}

	rows := make([][]int64, B)
	for b := range rows {
		for _, id := range in.InputIDs[b*in.T : (b+1)*in.T] {
			rows[b] = append(rows[b], id)
		}
	}
	res = append(res, postprocess.VerifyCase(caseJSON, out.Logits, out.PredBoxes, rows, tok)...)
	return res, nil
}

// storedInputs reads input.* of a Grounding DINO case.
func storedInputs(f *weights.File) (groundingdino.Inputs, error) {
	var in groundingdino.Inputs
	pv, ps, err := f.Float32("input.pixel_values")
	if err != nil {
		return in, err
	}
	in.PixelValues = tensor.New(tensor.WithShape(ps...), tensor.WithBacking(pv))
	ids, s, err := f.Int64("input.input_ids")
	if err != nil {
		return in, err
	}
	in.InputIDs, in.T = ids, s[len(s)-1]
	if in.AttentionMask, _, err = f.Int64("input.attention_mask"); err != nil {
		return in, err
	}
	if tt, _, err := f.Int64("input.token_type_ids"); err == nil {
		in.TokenTypeIDs = tt
	}
	if pm, _, err := f.Int64("input.pixel_mask"); err == nil {
		in.PixelMask = make([]uint8, len(pm))
		for i, v := range pm {
			in.PixelMask[i] = uint8(v)
		}
	}
	return in, nil
}
