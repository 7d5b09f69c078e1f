package groundingdino

import (
	"context"
	"errors"
	"sort"
	"testing"

	"github.com/gsam-go/gsam/internal/fixture"
	"github.com/gsam-go/gsam/nn"
	"gorgonia.org/tensor"
)

// fixtureInputs reads the inputs the reference model was fed.
func fixtureInputs(t *testing.T, name string) (Inputs, map[string]bool) {
	f := fixture.Tensors(t, name+"/case/tensors.safetensors")
	ids, s := fixture.Int(t, f, "input.input_ids")
	tt, _ := fixture.Int(t, f, "input.token_type_ids")
	am, _ := fixture.Int(t, f, "input.attention_mask")
	pm, _ := fixture.Int(t, f, "input.pixel_mask")
	mask := make([]uint8, len(pm))
	for i, v := range pm {
		mask[i] = uint8(v)
	}
	stored := map[string]bool{}
	for _, k := range f.Keys() {
		stored[k] = true
	}
	return Inputs{
		PixelValues: fixture.Float(t, f, "input.pixel_values"), PixelMask: mask,
		InputIDs: ids, TokenTypeIDs: tt, AttentionMask: am, T: s[1],
	}, stored
}

func TestForwardParity(t *testing.T) {
	for _, name := range []string{"gdino_swin_single", "gdino_swin_batch", "gdino_resnet"} {
		t.Run(name, func(t *testing.T) {
			m, err := LoadModel(fixture.Dir(t, name))
			if err != nil {
				t.Fatal(err)
			}
			in, stored := fixtureInputs(t, name)
			f := fixture.Tensors(t, name+"/case/tensors.safetensors")
			got := map[string]*tensor.Dense{}
			_, err = m.Forward(context.Background(), in, func(n string, x *tensor.Dense) { got[n] = x }, nil)
			if err != nil {
				t.Fatal(err)
			}
			var names []string
			for n := range got {
				if stored[n] {
					names = append(names, n)
				}
			}
			sort.Strings(names)
			for _, n := range []string{"output.logits", "output.pred_boxes", "output.init_reference_points", "output.encoder_last_hidden_state_vision"} {
				if !stored[n] || got[n] == nil {
					t.Errorf("%s not compared", n)
				}
			}
			for _, n := range names {
				fixture.Check(t, f, n, got[n])
			}
			t.Logf("%d tensors compared", len(names))
		})
	}
}

func TestForwardRejectsBadInput(t *testing.T) {
	m, err := LoadModel(fixture.Dir(t, "gdino_swin_single"))
	if err != nil {
		t.Fatal(err)
	}
	in, _ := fixtureInputs(t, "gdino_swin_single")
	bad := in
	bad.T = 3
	if _, err := m.Forward(context.Background(), bad, nil, nil); err == nil {
		t.Error("mismatched text length accepted")
	}
	bad = in
	bad.PixelValues = nn.New(1, 1, 8, 8)
	if _, err := m.Forward(context.Background(), bad, nil, nil); err == nil {
		t.Error("one-channel image accepted")
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := m.Forward(ctx, in, nil, nil); err == nil {
		t.Error("cancelled context ignored")
	}
}

// TestForwardStopsInsideStages cancels while a stage is starting: the
// backbone and the encoder check the context between blocks and layers, so
// the call ends there with ctx.Err() instead of finishing the stage.
func TestForwardStopsInsideStages(t *testing.T) {
	m, err := LoadModel(fixture.Dir(t, "gdino_swin_single"))
	if err != nil {
		t.Fatal(err)
	}
	in, _ := fixtureInputs(t, "gdino_swin_single")
	for _, stop := range []string{"backbone", "encoder"} {
		ctx, cancel := context.WithCancel(context.Background())
		var seen []string
		_, err := m.Forward(ctx, in, nil, func(stage string) {
			seen = append(seen, stage)
			if stage == stop {
				cancel()
			}
		})
		cancel()
		if err == nil || !errors.Is(err, context.Canceled) {
			t.Fatalf("cancel at %s: err = %v", stop, err)
		}
		if seen[len(seen)-1] != stop {
			t.Errorf("cancel at %s: stages %v ran on", stop, seen)
		}
	}
}

// TestReusedScratchLeavesNoTrace runs image A, then a different image B,
// then A again: A's outputs must repeat bit for bit, so nothing read from
// the buffers the stages keep between calls (Swin's block scratch, the
// enhancer's scratch, the GEMM packing buffers) is left over from B. (It
// fails, for one, when Swin's window padding is not cleared; a buffer that
// is read before it is written within the same call gives the same wrong
// values every time, which TestForwardParity catches instead.)
func TestReusedScratchLeavesNoTrace(t *testing.T) {
	m, err := LoadModel(fixture.Dir(t, "gdino_swin_single"))
	if err != nil {
		t.Fatal(err)
	}
	a, _ := fixtureInputs(t, "gdino_swin_single")
	b := a
	b.PixelValues = nn.Clone(a.PixelValues)
	for i, v := range nn.Data(b.PixelValues) {
		nn.Data(b.PixelValues)[i] = -v*0.5 + float32(i%7)*0.1
	}
	// Every output a forward hands back with Release, and one it keeps.
	outputs := func(out *Outputs) []float32 {
		var all []float32
		for _, t := range []*tensor.Dense{out.Logits, out.PredBoxes, out.EncoderLastHiddenStateVision,
			out.EncoderLastHiddenStateText, out.EncOutputsClass, out.EncOutputsCoordLogits, out.EncoderLogits,
			out.InitReferencePoints, out.IntermediateHiddenStates, out.IntermediateReferencePoints, out.LastHiddenState} {
			all = append(all, nn.Data(t)...)
		}
		return all
	}
	run := func(in Inputs) []float32 {
		out, err := m.Forward(context.Background(), in, nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		all := outputs(out)
		m.Release(out)
		if out.Logits != nil || out.EncOutputsClass != nil {
			t.Fatal("Release left the released tensors in the outputs")
		}
		m.Release(out) // a second time does nothing
		return all
	}
	kept, err := m.Forward(context.Background(), a, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	keptCopy := outputs(kept)
	first, other, again := run(a), run(b), run(a)
	same := func(x, y []float32) bool {
		for i := range x {
			if x[i] != y[i] {
				return false
			}
		}
		return len(x) == len(y)
	}
	if same(first, other) {
		t.Fatal("the two images gave the same outputs: the check cannot fail")
	}
	if !same(first, again) {
		t.Error("image A's outputs changed after running image B")
	}
	if !same(first, keptCopy) {
		t.Error("released and kept forwards of image A differ")
	}
	if !same(outputs(kept), keptCopy) {
		t.Error("outputs that were not released changed in later forwards")
	}
}
