package sam

import (
	"slices"
	"testing"

	"github.com/gsam-go/gsam/internal/fixture"
	"github.com/gsam-go/gsam/weights"
	"gorgonia.org/tensor"
)

// loadManifest reads sam-vit-base's key list and config.
func loadManifest(t testing.TB) (fixture.Manifest, Config) {
	t.Helper()
	mf := fixture.ReadManifest(t, "sam-vit-base")
	c, err := ParseConfig(mf.Config)
	if err != nil {
		t.Fatal(err)
	}
	return mf, c
}

// TestManifestSamVitBase builds facebook/sam-vit-base from its config and
// checks that its weights and the Hub's keys match one to one, with shapes.
func TestManifestSamVitBase(t *testing.T) {
	mf, c := loadManifest(t)
	m, err := New(c)
	if err != nil {
		t.Fatal(err)
	}
	model := map[string][]int{}
	weights.Walk("", m, func(key string, x *tensor.Dense, _ bool) { model[key] = []int(x.Shape()) })
	hub := map[string]bool{}
	for _, k := range mf.Keys {
		key := k.Name
		if key == sharedKeyTied {
			key = sharedKey
		}
		hub[key] = true
		shape, ok := model[key]
		if !ok {
			t.Errorf("Hub key %s %v has no tensor in the model", k.Name, k.Shape)
			continue
		}
		if !slices.Equal(shape, k.Shape) {
			t.Errorf("%s: model %v, Hub %v", k.Name, shape, k.Shape)
		}
	}
	for key, shape := range model {
		if !hub[key] {
			t.Errorf("model tensor %s %v is not in the Hub checkpoint", key, shape)
		}
	}
	t.Logf("%d Hub keys, %d model tensors", len(mf.Keys), len(model))
}
