package weights

import (
	"encoding/binary"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"gorgonia.org/tensor"
)

// build writes a safetensors image by hand so the tests control every byte.
func build(t testing.TB, tensors map[string]any, order []string) []byte {
	t.Helper()
	header := map[string]any{}
	var data []byte
	for _, name := range order {
		var b []byte
		var dtype string
		var shape []int
		switch v := tensors[name].(type) {
		case []float32:
			dtype, shape = "F32", []int{len(v)}
			for _, x := range v {
				b = binary.LittleEndian.AppendUint32(b, math.Float32bits(x))
			}
		case []int64:
			dtype, shape = "I64", []int{len(v)}
			for _, x := range v {
				b = binary.LittleEndian.AppendUint64(b, uint64(x))
			}
		case []uint16: // raw BF16 bits
			dtype, shape = "BF16", []int{len(v)}
			for _, x := range v {
				b = binary.LittleEndian.AppendUint16(b, x)
			}
		}
		header[name] = map[string]any{"dtype": dtype, "shape": shape, "data_offsets": []int{len(data), len(data) + len(b)}}
		data = append(data, b...)
	}
	h, _ := json.Marshal(header)
	out := binary.LittleEndian.AppendUint64(nil, uint64(len(h)))
	return append(append(out, h...), data...)
}

func TestParseRoundTrip(t *testing.T) {
	img := build(t, map[string]any{
		"a.weight": []float32{1, -2.5, 3},
		"ids":      []int64{7, -1},
		"h":        []uint16{0x3f80, 0xc000}, // bf16 1.0, -2.0
	}, []string{"a.weight", "ids", "h"})
	f, err := Parse(img)
	if err != nil {
		t.Fatal(err)
	}
	got, shape, err := f.Float32("a.weight")
	if err != nil || shape[0] != 3 || got[1] != -2.5 {
		t.Fatalf("a.weight = %v %v %v", got, shape, err)
	}
	ids, _, err := f.Int64("ids")
	if err != nil || ids[0] != 7 || ids[1] != -1 {
		t.Fatalf("ids = %v %v", ids, err)
	}
	h, _, err := f.Float32("h")
	if err != nil || h[0] != 1 || h[1] != -2 {
		t.Fatalf("bf16 = %v %v", h, err)
	}
	if _, _, err := f.Int64("a.weight"); err == nil {
		t.Fatal("reading F32 as int should fail")
	}
	if _, _, err := f.Float32("nope"); err == nil {
		t.Fatal("missing tensor should fail")
	}
}

func TestHalf(t *testing.T) {
	cases := map[uint16]float32{0x3c00: 1, 0xc000: -2, 0x0001: 5.960464477539063e-08, 0x7bff: 65504, 0x0000: 0}
	for h, want := range cases {
		if got := halfToFloat32(h); got != want {
			t.Errorf("half %#04x = %g, want %g", h, got, want)
		}
	}
	if !math.IsInf(float64(halfToFloat32(0x7c00)), 1) || !math.IsNaN(float64(halfToFloat32(0x7e00))) {
		t.Error("inf/nan conversion")
	}
}

func TestBadFiles(t *testing.T) {
	good := build(t, map[string]any{"x": []float32{1, 2}}, []string{"x"})
	lying := append([]byte(nil), good...)
	binary.LittleEndian.PutUint64(lying, 1<<40)
	overlap := []byte(`{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}}`)
	overrun := []byte(`{"a":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}}`)
	unknown := []byte(`{"a":{"dtype":"Q4","shape":[2],"data_offsets":[0,8]}}`)
	wrap := func(h []byte, n int) []byte {
		out := binary.LittleEndian.AppendUint64(nil, uint64(len(h)))
		return append(append(out, h...), make([]byte, n)...)
	}
	cases := map[string][]byte{
		"empty":            {},
		"truncated header": good[:5],
		"truncated data":   good[:len(good)-3],
		"length past end":  lying,
		"not json":         wrap([]byte("hello world!"), 0),
		"overlap":          wrap(overlap, 12),
		"overrun":          wrap(overrun, 8),
		"unknown dtype":    wrap(unknown, 8),
	}
	for name, img := range cases {
		if _, err := Parse(img); err == nil {
			t.Errorf("%s: no error", name)
		} else {
			t.Logf("%s: %v", name, err)
		}
	}
}

func FuzzParse(f *testing.F) {
	f.Add(build(f, map[string]any{"x": []float32{1, 2}, "y": []int64{3}}, []string{"x", "y"}))
	f.Add([]byte{8, 0, 0, 0, 0, 0, 0, 0, '{', '}', ' ', ' ', ' ', ' ', ' ', ' '})
	f.Add([]byte(`garbage`))
	f.Fuzz(func(t *testing.T, data []byte) {
		file, err := Parse(data)
		if err != nil {
			return
		}
		for _, k := range file.Keys() {
			file.Float32(k)
			file.Int64(k)
		}
	})
}

type block struct {
	Proj  layer         `gsam:"proj"`
	Norms []layer       `gsam:"norms"`
	Extra *tensor.Dense `gsam:"extra,optional"`
}

type layer struct {
	Weight *tensor.Dense `gsam:"weight"`
	Bias   *tensor.Dense `gsam:"bias,optional"`
}

func newLayer(n int) layer {
	return layer{Weight: tensor.New(tensor.WithShape(n), tensor.WithBacking(make([]float32, n))), Bias: tensor.New(tensor.WithShape(n), tensor.WithBacking(make([]float32, n)))}
}

func writeStore(t *testing.T, tensors map[string]any, order []string) *Store {
	dir := t.TempDir()
	p := filepath.Join(dir, "model.safetensors")
	if err := os.WriteFile(p, build(t, tensors, order), 0o644); err != nil {
		t.Fatal(err)
	}
	s, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func TestBind(t *testing.T) {
	s := writeStore(t, map[string]any{
		"m.proj.weight":    []float32{1, 2},
		"m.proj.bias":      []float32{3, 4},
		"m.norms.0.weight": []float32{5, 6},
		"m.norms.1.weight": []float32{7, 8},
		"m.norms.1.bias":   []float32{9, 10},
	}, []string{"m.proj.weight", "m.proj.bias", "m.norms.0.weight", "m.norms.1.weight", "m.norms.1.bias"})
	b := block{Proj: newLayer(2), Norms: []layer{newLayer(2), newLayer(2)}, Extra: tensor.New(tensor.WithShape(1), tensor.WithBacking([]float32{0}))}
	l := NewLoader(s)
	l.Bind("m", &b)
	if err := l.Err(); err != nil {
		t.Fatal(err)
	}
	if b.Proj.Bias.Float32s()[1] != 4 || b.Norms[1].Bias.Float32s()[0] != 9 {
		t.Fatal("values not bound")
	}
	if b.Norms[0].Bias != nil || b.Extra != nil {
		t.Fatal("absent optional weights should be nil")
	}
}

func TestBindReportsEverything(t *testing.T) {
	s := writeStore(t, map[string]any{
		"m.proj.weight":    []float32{1, 2, 3},
		"m.norms.0.weight": []float32{5, 6},
		"m.stray":          []float32{0},
		"other.x":          []float32{0},
	}, []string{"m.proj.weight", "m.norms.0.weight", "m.stray", "other.x"})
	b := block{Proj: newLayer(2), Norms: []layer{newLayer(2), newLayer(2)}}
	l := NewLoader(s)
	l.Ignore("other.")
	l.Bind("m", &b)
	err := l.Err()
	if err == nil || !IsMismatch(err) {
		t.Fatalf("want mismatch error, got %v", err)
	}
	msg := err.Error()
	for _, want := range []string{"missing: m.norms.1.weight [2]", "shape:   m.proj.weight: model wants [2], file has [3]", "unused:  m.stray"} {
		if !strings.Contains(msg, want) {
			t.Errorf("error lacks %q:\n%s", want, msg)
		}
	}
	if strings.Contains(msg, "other.x") {
		t.Error("ignored key reported")
	}
}

func TestAlias(t *testing.T) {
	s := writeStore(t, map[string]any{"shared.weight": []float32{1, 2}}, []string{"shared.weight"})
	a, b := newLayer(2), newLayer(2)
	a.Bias, b.Bias = nil, nil
	l := NewLoader(s)
	l.Alias("tied.weight", "shared.weight")
	l.Bind("shared", &a)
	l.Bind("tied", &b)
	if err := l.Err(); err != nil {
		t.Fatal(err)
	}
	if b.Weight.Float32s()[1] != 2 {
		t.Fatal("alias not followed")
	}
}

func TestShardedIndex(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "model-00001-of-00002.safetensors"), build(t, map[string]any{"a": []float32{1}}, []string{"a"}), 0o644)
	os.WriteFile(filepath.Join(dir, "model-00002-of-00002.safetensors"), build(t, map[string]any{"b": []float32{2}}, []string{"b"}), 0o644)
	idx := `{"metadata":{},"weight_map":{"a":"model-00001-of-00002.safetensors","b":"model-00002-of-00002.safetensors"}}`
	os.WriteFile(filepath.Join(dir, "model.safetensors.index.json"), []byte(idx), 0o644)
	s, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if v, _, err := s.Float32("b"); err != nil || v[0] != 2 {
		t.Fatalf("b = %v %v", v, err)
	}
	bad := `{"weight_map":{"a":"../evil.safetensors"}}`
	os.WriteFile(filepath.Join(dir, "bad.index.json"), []byte(bad), 0o644)
	if _, err := Open(filepath.Join(dir, "bad.index.json")); err == nil {
		t.Fatal("path traversal in index accepted")
	}
	lie := `{"weight_map":{"a":"model-00002-of-00002.safetensors"}}`
	os.WriteFile(filepath.Join(dir, "lie.index.json"), []byte(lie), 0o644)
	if _, err := Open(filepath.Join(dir, "lie.index.json")); err == nil {
		t.Fatal("index naming the wrong shard accepted")
	}
}

func TestOpenMissing(t *testing.T) {
	if _, err := Open(t.TempDir()); err == nil {
		t.Fatal("empty dir accepted")
	}
	if _, err := Open("/nonexistent/model.safetensors"); err == nil {
		t.Fatal("missing file accepted")
	}
}

func TestManifestShapesOnly(t *testing.T) {
	s, err := Manifest([]Info{{Name: "m.proj.weight", DType: "F32", Shape: []int{2}}, {Name: "m.norms.0.weight", DType: "BF16", Shape: []int{3}}})
	if err != nil {
		t.Fatal(err)
	}
	b := block{Proj: newLayer(2), Norms: []layer{newLayer(2)}}
	l := NewLoader(s)
	l.ShapesOnly = true
	l.Bind("m", &b)
	err = l.Err()
	if err == nil || !strings.Contains(err.Error(), "m.norms.0.weight: model wants [2], file has [3]") {
		t.Fatalf("want the shape mismatch named, got %v", err)
	}
	if _, err := Manifest([]Info{{Name: "a"}, {Name: "a"}}); err == nil {
		t.Fatal("duplicate key accepted")
	}
}
