package verify

import (
	"context"
	"fmt"
	"path/filepath"

	"github.com/gsam-go/gsam/nn"
	"github.com/gsam-go/gsam/parity"
	"github.com/gsam-go/gsam/sam"
	"github.com/gsam-go/gsam/weights"
	"gorgonia.org/tensor"
)

// checkSAM runs the image encoder on the stored pixel values (every layer
// stored under act.vision.*, then image_embeddings), then for every prompt
// case the prompt encoder, the mask decoder on our own embedding (with its
// stored pN.act.* activations), and the mask post-processing.
func checkSAM(dir string) ([]parity.Result, error) {
	m, err := sam.Load(dir)
	if err != nil {
		return nil, err
	}
	caseDir := filepath.Join(dir, "case")
	f, err := weights.OpenFile(filepath.Join(caseDir, "tensors.safetensors"))
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var meta struct {
		OriginalHW [2]int `json:"original_hw"`
		ResizedHW  [2]int `json:"resized_hw"`
		Prompts    []struct {
			Multimask bool `json:"multimask"`
		} `json:"prompts"`
	}
	if err := readJSON(filepath.Join(caseDir, "case.json"), &meta); err != nil {
		return nil, err
	}
	var res []parity.Result
	cmp := func(name string, got *tensor.Dense) {
		want, shape, err := f.Float32(name)
		if err != nil {
			res = append(res, parity.Result{Name: name, Err: err.Error()})
			return
		}
		g := got
		if nn.Numel(nn.Shape(g)...) == len(want) { // batch axes are grouped differently
			g = nn.Reshape(g, shape...)
		}
		res = append(res, parity.Compare(name, nn.Data(g), nn.Shape(g), want, shape, parity.Default))
	}

	ctx := context.Background()
	pv, ps, err := f.Float32("input.pixel_values")
	if err != nil {
		return nil, err
	}
	// The encoder's layers, as stored under act.vision.* (buffers are reused
	// in place, so each tensor is compared when it is reported).
	if _, err := m.VisionEncoder.ForwardTrace(ctx, nn.FromData(pv, ps...), func(name string, t *tensor.Dense) {
		if _, ok := f.Info("act.vision." + name); ok {
			cmp("act.vision."+name, t)
		}
	}); err != nil {
		return nil, err
	}
	emb, err := m.Embed(ctx, nn.FromData(pv, ps...))
	if err != nil {
		return nil, err
	}
	cmp("image_embeddings", emb.Embeddings)
	for _, alias := range []string{"act.vision.vision_encoder.neck", "act.vision.vision_encoder.last_hidden_state"} {
		if _, ok := f.Info(alias); ok { // the same tensor under the module's name
			cmp(alias, emb.Embeddings)
		}
	}

	pad := m.Config.VisionConfig.ImageSize
	for n, p := range meta.Prompts {
		pre := fmt.Sprintf("p%d.", n)
		prompts, err := storedPrompts(f, n)
		if err != nil {
			return res, err
		}
		sparse, dense, err := m.PromptEncoder.Forward(prompts)
		if err != nil {
			res = append(res, parity.Result{Name: pre + "sparse_embeddings", Err: err.Error()})
			continue
		}
		cmp(pre+"sparse_embeddings", sparse)
		cmp(pre+"dense_embeddings", dense)
		out, err := m.DecodeTrace(ctx, emb, prompts, p.Multimask, func(name string, t *tensor.Dense) {
			if _, ok := f.Info(pre + "act." + name); ok {
				cmp(pre+"act."+name, t)
			}
		})
		if err != nil {
			res = append(res, parity.Result{Name: pre + "pred_masks", Err: err.Error()})
			continue
		}
		cmp(pre+"pred_masks", out.Masks)
		cmp(pre+"iou_scores", out.IOU)
		// The same tensors under the modules' names, where the dump has them.
		for _, a := range []struct {
			name string
			t    *tensor.Dense
		}{{"act.prompt_encoder.0", sparse}, {"act.prompt_encoder.1", dense}, {"act.mask_decoder.0", out.Masks}, {"act.mask_decoder.1", out.IOU}} {
			if _, ok := f.Info(pre + a.name); ok {
				cmp(pre+a.name, a.t)
			}
		}
		s := nn.Shape(out.Masks) // [P, K, h, w] or with a leading 1
		low := nn.Reshape(out.Masks, nn.Numel(s...)/(s[len(s)-3]*s[len(s)-2]*s[len(s)-1]), s[len(s)-3], s[len(s)-2], s[len(s)-1])
		logits, err := sam.PostProcessMasks(low, pad, sam.Size{Height: meta.ResizedHW[0], Width: meta.ResizedHW[1]}, sam.Size{Height: meta.OriginalHW[0], Width: meta.OriginalHW[1]})
		if err != nil {
			res = append(res, parity.Result{Name: pre + "post_masks_logits", Err: err.Error()})
			continue
		}
		cmp(pre+"post_masks_logits", logits)
		want, ws, err := f.Int64(pre + "post_masks")
		if err == nil {
			bin := sam.Binarize(nn.Data(logits))
			got := make([]int64, len(bin))
			for i, b := range bin {
				got[i] = int64(b)
			}
			// A logit within rounding of 0 may flip: at least 99.5% of pixels must agree.
			res = append(res, parity.CompareFraction(pre+"post_masks", got, ws, want, ws, 0.995))
		}
	}
	return res, nil
}

// storedPrompts reads pN.input.* into the model-frame prompt batch.
func storedPrompts(f *weights.File, n int) (*sam.Prompts, error) {
	p := &sam.Prompts{}
	name := func(s string) string { return fmt.Sprintf("p%d.input.%s", n, s) }
	if _, ok := f.Info(name("input_points")); ok {
		d, s, err := f.Float32(name("input_points"))
		if err != nil {
			return nil, err
		}
		labels, _, err := f.Int64(name("input_labels"))
		if err != nil {
			return nil, err
		}
		for i := 0; i < s[1]; i++ {
			var pts [][2]float32
			var ls []int
			for j := 0; j < s[2]; j++ {
				k := i*s[2] + j
				pts = append(pts, [2]float32{d[2*k], d[2*k+1]})
				ls = append(ls, int(labels[k]))
			}
			p.Points = append(p.Points, pts)
			p.Labels = append(p.Labels, ls)
		}
	}
	if _, ok := f.Info(name("input_boxes")); ok {
		b, _, err := f.Float32(name("input_boxes"))
		if err != nil {
			return nil, err
		}
		for i := 0; i+4 <= len(b); i += 4 {
			p.Boxes = append(p.Boxes, [4]float32{b[i], b[i+1], b[i+2], b[i+3]})
		}
	}
	if _, ok := f.Info(name("input_masks")); ok {
		d, s, err := f.Float32(name("input_masks"))
		if err != nil {
			return nil, err
		}
		p.Masks = nn.FromData(d, s...)
	}
	return p, nil
}
