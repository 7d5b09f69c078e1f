package query

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/gsam-go/gsam/internal/fixture"
)

// TestBindHubManifest binds the full-size selector to the query-selection
// keys of the Hub's grounding-dino-tiny checkpoint (names and shapes, no
// data) and expects no missing, mis-shaped or unused key.
func TestBindHubManifest(t *testing.T) {
	man := fixture.ReadManifest(t, "grounding-dino-tiny")
	var cfg Config
	if err := json.Unmarshal(man.Config, &cfg); err != nil {
		t.Fatal(err)
	}
	selected := 0
	l := man.Loader(t, func(key string) bool {
		ok := strings.HasPrefix(key, "model.enc_output") || strings.HasPrefix(key, "model.encoder_output_") ||
			strings.HasPrefix(key, "model.query_position_embeddings.") || strings.HasPrefix(key, "model.reference_points.")
		if ok {
			selected++
		}
		return ok
	})
	if selected != 11 {
		t.Fatalf("manifest has %d query-selection keys, want 11", selected)
	}
	s, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	s.Bind(l)
	if err := l.Err(); err != nil {
		t.Fatal(err)
	}
	if s.QueryPositionEmbeddings.Weight.Shape()[0] != 900 {
		t.Fatalf("query_position_embeddings %v", s.QueryPositionEmbeddings.Weight.Shape())
	}
}
