package weights

import (
	"encoding/binary"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// rawImage writes a safetensors image with arbitrary dtypes: name → dtype,
// shape; the data section is zero bytes of the right length.
func rawImage(t testing.TB, specs map[string]struct {
	DType string
	Shape []int
}, names []string) []byte {
	t.Helper()
	header := map[string]any{}
	off := 0
	for _, n := range names {
		s := specs[n]
		size := dtypeSize[s.DType]
		for _, d := range s.Shape {
			size *= d
		}
		header[n] = map[string]any{"dtype": s.DType, "shape": s.Shape, "data_offsets": []int{off, off + size}}
		off += size
	}
	h, err := json.Marshal(header)
	if err != nil {
		t.Fatal(err)
	}
	out := binary.LittleEndian.AppendUint64(nil, uint64(len(h)))
	return append(append(out, h...), make([]byte, off)...)
}

// TestTruncatedWeightFile cuts a valid file at every length class: inside
// the length prefix, inside the header, inside the data. Each is an error
// that says the file is truncated or inconsistent, never a panic.
func TestTruncatedWeightFile(t *testing.T) {
	good := build(t, map[string]any{"a": []float32{1, 2, 3, 4}, "b": []int64{5}}, []string{"a", "b"})
	dir := t.TempDir()
	for _, n := range []int{0, 3, 8, 12, len(good) - 20, len(good) - 1} {
		p := filepath.Join(dir, "model.safetensors")
		if err := os.WriteFile(p, good[:n], 0o644); err != nil {
			t.Fatal(err)
		}
		_, err := Open(dir)
		if err == nil {
			t.Errorf("file cut to %d of %d bytes accepted", n, len(good))
			continue
		}
		if !strings.Contains(err.Error(), "model.safetensors") {
			t.Errorf("cut to %d: error does not name the file: %v", n, err)
		}
	}
}

// TestOversizedWeightFile: trailing bytes after the data section, or a
// header length larger than the file, are refused.
func TestOversizedWeightFile(t *testing.T) {
	good := build(t, map[string]any{"a": []float32{1, 2}}, []string{"a"})
	if _, err := Parse(append(append([]byte(nil), good...), make([]byte, 64)...)); err == nil {
		t.Error("64 trailing bytes after the data accepted")
	}
	huge := append([]byte(nil), good...)
	binary.LittleEndian.PutUint64(huge, ^uint64(0))
	if _, err := Parse(huge); err == nil || !strings.Contains(err.Error(), "header length") {
		t.Errorf("header length 2^64-1: %v", err)
	}
	// A shape whose element count overflows int must not be trusted.
	big := []byte(`{"a":{"dtype":"F32","shape":[4294967296,4294967296,16],"data_offsets":[0,8]}}`)
	img := binary.LittleEndian.AppendUint64(nil, uint64(len(big)))
	img = append(append(img, big...), make([]byte, 8)...)
	if _, err := Parse(img); err == nil {
		t.Error("shape with 2^68 elements accepted")
	}
}

// TestWrongDTypeNamesEveryKey: weights stored in dtypes that cannot be read
// as float32 are each named in the one binding error.
func TestWrongDTypeNamesEveryKey(t *testing.T) {
	specs := map[string]struct {
		DType string
		Shape []int
	}{
		"m.proj.weight":    {"U16", []int{2}},
		"m.proj.bias":      {"I16", []int{2}},
		"m.norms.0.weight": {"F32", []int{2}},
		"m.norms.1.weight": {"U32", []int{2}},
	}
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "model.safetensors"), rawImage(t, specs, []string{"m.proj.weight", "m.proj.bias", "m.norms.0.weight", "m.norms.1.weight"}), 0o644); err != nil {
		t.Fatal(err)
	}
	s, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	b := block{Proj: newLayer(2), Norms: []layer{newLayer(2), newLayer(2)}}
	b.Norms[0].Bias, b.Norms[1].Bias = nil, nil
	l := NewLoader(s)
	l.Bind("m", &b)
	err = l.Err()
	if err == nil {
		t.Fatal("unreadable dtypes accepted")
	}
	msg := err.Error()
	for _, key := range []string{`"m.proj.weight"`, `"m.proj.bias"`, `"m.norms.1.weight"`} {
		if !strings.Contains(msg, key) {
			t.Errorf("error does not name %s:\n%s", key, msg)
		}
	}
	if strings.Contains(msg, "m.norms.0.weight") {
		t.Errorf("readable key reported:\n%s", msg)
	}
	t.Log(msg)
}

// TestWrongShapesNameEveryKey: a checkpoint of another model size lists
// every mis-shaped key with both shapes, in one error.
func TestWrongShapesNameEveryKey(t *testing.T) {
	s := writeStore(t, map[string]any{
		"m.proj.weight":    []float32{1, 2, 3},
		"m.proj.bias":      []float32{1, 2, 3},
		"m.norms.0.weight": []float32{1},
		"m.norms.1.weight": []float32{1, 2},
	}, []string{"m.proj.weight", "m.proj.bias", "m.norms.0.weight", "m.norms.1.weight"})
	b := block{Proj: newLayer(2), Norms: []layer{newLayer(2), newLayer(2)}}
	b.Norms[0].Bias, b.Norms[1].Bias = nil, nil
	l := NewLoader(s)
	l.Bind("m", &b)
	err := l.Err()
	if !IsMismatch(err) {
		t.Fatalf("want a mismatch, got %v", err)
	}
	for _, want := range []string{"m.proj.weight: model wants [2], file has [3]", "m.proj.bias: model wants [2], file has [3]", "m.norms.0.weight: model wants [2], file has [1]"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q:\n%v", want, err)
		}
	}
	// The scalar/one-element exception must not let [1] stand for [2].
	if v := b.Norms[0].Weight.Float32s(); v[0] != 0 || v[1] != 0 {
		t.Error("mis-shaped tensor was partly copied")
	}
}

// TestShardedIndexBad covers index files that must be refused: not JSON,
// no weight_map, absolute and parent shard paths, a shard that is missing,
// a key in two shards, a shard that is a directory.
func TestShardedIndexBad(t *testing.T) {
	dir := t.TempDir()
	write := func(name string, b []byte) {
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("s1.safetensors", build(t, map[string]any{"a": []float32{1}}, []string{"a"}))
	write("s2.safetensors", build(t, map[string]any{"a": []float32{2}, "b": []float32{3}}, []string{"a", "b"}))
	if err := os.Mkdir(filepath.Join(dir, "sub.safetensors"), 0o755); err != nil {
		t.Fatal(err)
	}
	cases := map[string]string{
		"not json":       `{"weight_map":`,
		"no weight_map":  `{"metadata":{}}`,
		"empty map":      `{"weight_map":{}}`,
		"map not object": `{"weight_map":["s1.safetensors"]}`,
		"absolute":       `{"weight_map":{"a":"/etc/passwd"}}`,
		"parent":         `{"weight_map":{"a":".."}}`,
		"backslash":      `{"weight_map":{"a":"..\\s1.safetensors"}}`,
		"missing shard":  `{"weight_map":{"a":"nope.safetensors"}}`,
		"dup key":        `{"weight_map":{"a":"s1.safetensors","b":"s2.safetensors"}}`,
		"directory":      `{"weight_map":{"a":"sub.safetensors"}}`,
		"index as shard": `{"weight_map":{"a":"idx.json"}}`,
		"empty name":     `{"weight_map":{"a":""}}`,
		"nul in name":    "{\"weight_map\":{\"a\":\"s1\\u0000.safetensors\"}}",
	}
	for name, idx := range cases {
		write("idx.json", []byte(idx))
		s, err := Open(filepath.Join(dir, "idx.json"))
		if err == nil {
			s.Close()
			t.Errorf("%s: accepted", name)
		} else if !strings.HasPrefix(err.Error(), "weights: ") {
			t.Errorf("%s: error lacks the package prefix: %v", name, err)
		}
	}
}
