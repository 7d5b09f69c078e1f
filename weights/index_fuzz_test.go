package weights

import (
	"os"
	"path/filepath"
	"testing"
)

// FuzzOpenIndex feeds arbitrary bytes to Open as a
// model.safetensors.index.json next to two valid shards (and a directory):
// every input is either refused with an error or gives a store whose every
// key reads back; nothing panics and nothing outside the folder is opened.
func FuzzOpenIndex(f *testing.F) {
	dir := f.TempDir()
	for name, img := range map[string][]byte{
		"model-00001-of-00002.safetensors": build(f, map[string]any{"a": []float32{1, 2}, "ids": []int64{3}}, []string{"a", "ids"}),
		"model-00002-of-00002.safetensors": build(f, map[string]any{"b": []float32{4}}, []string{"b"}),
	} {
		if err := os.WriteFile(filepath.Join(dir, name), img, 0o644); err != nil {
			f.Fatal(err)
		}
	}
	if err := os.Mkdir(filepath.Join(dir, "sub"), 0o755); err != nil {
		f.Fatal(err)
	}
	f.Add([]byte(`{"metadata":{"total_size":12},"weight_map":{"a":"model-00001-of-00002.safetensors","ids":"model-00001-of-00002.safetensors","b":"model-00002-of-00002.safetensors"}}`))
	f.Add([]byte(`{"weight_map":{"a":"model-00001-of-00002.safetensors"}}`))
	f.Add([]byte(`{"weight_map":{"a":"../model-00001-of-00002.safetensors"}}`))
	f.Add([]byte(`{"weight_map":{"a":"sub"}}`))
	f.Add([]byte(`{"weight_map":{"a":"model.safetensors.index.json"}}`))
	f.Add([]byte(`{"weight_map":null}`))
	f.Add([]byte(`[]`))
	index := filepath.Join(dir, "model.safetensors.index.json")
	f.Fuzz(func(t *testing.T, data []byte) {
		if err := os.WriteFile(index, data, 0o644); err != nil {
			t.Fatal(err)
		}
		s, err := Open(index)
		if err != nil {
			return
		}
		defer s.Close()
		if len(s.Keys()) == 0 {
			t.Fatal("empty store accepted")
		}
		for _, k := range s.Keys() {
			if _, _, err := s.Float32(k); err != nil {
				t.Fatalf("key %q listed but unreadable: %v", k, err)
			}
		}
	})
}
