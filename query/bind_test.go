package query

import (
	"encoding/binary"
	"encoding/json"
	"os"
	"strings"
	"testing"

	"github.com/gsam-go/gsam/internal/fixture"
	"github.com/gsam-go/gsam/weights"
)

// TestBindHubManifest binds the full-size selector to the query-selection
// keys of the Hub's grounding-dino-tiny checkpoint (zeros with the listed
// shapes) and expects no missing, mis-shaped or unused key.
func TestBindHubManifest(t *testing.T) {
	raw, err := os.ReadFile(fixture.Dir(t, "manifests", "grounding-dino-tiny.json"))
	if err != nil {
		t.Fatal(err)
	}
	var m struct {
		Keys []struct {
			Key   string `json:"key"`
			Shape []int  `json:"shape"`
		} `json:"keys"`
		Config json.RawMessage `json:"config"`
	}
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatal(err)
	}
	var cfg Config
	if err := json.Unmarshal(m.Config, &cfg); err != nil {
		t.Fatal(err)
	}
	header := map[string]any{}
	off := 0
	for _, k := range m.Keys {
		if !strings.HasPrefix(k.Key, "model.enc_output") && !strings.HasPrefix(k.Key, "model.encoder_output_") &&
			!strings.HasPrefix(k.Key, "model.query_position_embeddings.") && !strings.HasPrefix(k.Key, "model.reference_points.") {
			continue
		}
		n := 4
		for _, d := range k.Shape {
			n *= d
		}
		header[k.Key] = map[string]any{"dtype": "F32", "shape": k.Shape, "data_offsets": []int{off, off + n}}
		off += n
	}
	if len(header) != 11 {
		t.Fatalf("manifest has %d query-selection keys, want 11", len(header))
	}
	h, _ := json.Marshal(header)
	buf := make([]byte, 8+len(h)+off)
	binary.LittleEndian.PutUint64(buf, uint64(len(h)))
	copy(buf[8:], h)
	f, err := weights.Parse(buf)
	if err != nil {
		t.Fatal(err)
	}
	store, err := weights.NewStore(f)
	if err != nil {
		t.Fatal(err)
	}
	s, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	l := weights.NewLoader(store)
	s.Bind(l)
	if err := l.Err(); err != nil {
		t.Fatal(err)
	}
	if s.QueryPositionEmbeddings.Weight.Shape()[0] != 900 {
		t.Fatalf("query_position_embeddings %v", s.QueryPositionEmbeddings.Weight.Shape())
	}
}
