package backbone

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/gsam-go/gsam/internal/fixture"
	"github.com/gsam-go/gsam/nn"
	"github.com/gsam-go/gsam/parity"
	"github.com/gsam-go/gsam/weights"
	"gorgonia.org/tensor"
)

// loadVision builds and binds the vision path of a fixture model folder.
func loadVision(t *testing.T, dir string) *Vision {
	t.Helper()
	root := fixture.Dir(t, dir)
	raw, err := os.ReadFile(filepath.Join(root, "config.json"))
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := ParseVisionConfig(raw)
	if err != nil {
		t.Fatal(err)
	}
	v, err := NewVision(cfg)
	if err != nil {
		t.Fatal(err)
	}
	store, err := weights.Open(filepath.Join(root, "model.safetensors"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	l := weights.NewLoader(store)
	v.Bind(l, "model")
	// Everything outside the vision path belongs to other packages.
	for _, p := range []string{"model.text_backbone", "model.encoder", "model.decoder", "model.enc_output", "model.encoder_output",
		"model.query_position_embeddings", "model.reference_points", "model.text_projection", "model.enc_", "bbox_embed", "class_embed", "model.bbox_embed", "model.class_embed", "model.decoder"} {
		l.Ignore(p)
	}
	for _, k := range l.Unused() {
		if len(k) < len("model.backbone") || k[:len("model.backbone")] != "model.backbone" {
			l.Ignore(k)
		}
	}
	if err := l.Err(); err != nil {
		t.Fatal(err)
	}
	return v
}

// inputs returns the fixture's pixel values and pixel mask.
func inputs(t *testing.T, f *weights.File) (*tensor.Dense, []uint8) {
	t.Helper()
	px := fixture.Float(t, f, "input.pixel_values")
	m, _ := fixture.Int(t, f, "input.pixel_mask")
	mask := make([]uint8, len(m))
	for i, v := range m {
		mask[i] = uint8(v)
	}
	return px, mask
}

// checkMask compares a uint8 mask with a stored one, exactly.
func checkMask(t *testing.T, f *weights.File, name string, got []uint8) {
	t.Helper()
	want, shape := fixture.Int(t, f, name)
	g := make([]int64, len(got))
	for i, v := range got {
		g[i] = int64(v)
	}
	r := parity.CompareExact(name, g, shape, want, shape)
	if len(got) != len(want) {
		t.Errorf("%s: %d values, want %d", name, len(got), len(want))
		return
	}
	if !r.OK() {
		t.Error(r.String())
	} else {
		t.Log(r.String())
	}
}

// tokens wraps a [B, L, C] token buffer for comparison.
func tokens(x []float32, B, L, C int) *tensor.Dense {
	return nn.FromData(append([]float32(nil), x...), B, L, C)
}

// has says whether the case stores name (tensors over 160 KiB were not stored).
func has(f *weights.File, name string) bool {
	_, ok := f.Info(name)
	return ok
}

// checkStored compares name when stored and counts it in *n.
func checkStored(t *testing.T, f *weights.File, name string, got *tensor.Dense, n *int) {
	t.Helper()
	if has(f, name) {
		fixture.Check(t, f, name, got)
		*n++
	}
}
