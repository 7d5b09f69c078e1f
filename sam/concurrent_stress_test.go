package sam

import (
	"context"
	"sync"
	"testing"

	"github.com/gsam-go/gsam/internal/fixture"
	"github.com/gsam-go/gsam/nn"
)

// TestConcurrentDecodeStress runs the prompt encoder and mask decoder on one
// embedding from many goroutines at once and compares the outputs with a
// sequential run, bit for bit. It caught tensors' backing arrays being freed
// while in use (gorgonia's Dense.Data rebuilds slices from a uintptr; nn.Data
// now avoids it): about one call in a few hundred went wrong, or the runtime
// aborted on a corrupted heap.
func TestConcurrentDecodeStress(t *testing.T) {
	m := loadFixtureModel(t)
	f := fixture.Tensors(t, "sam/case/tensors.safetensors")
	emb := &Embedding{Embeddings: fixture.Float(t, f, "image_embeddings")}
	p := fixturePrompts(t, f, 3)
	ctx := context.Background()
	ref, err := m.Decode(ctx, emb, p, false)
	if err != nil {
		t.Fatal(err)
	}
	wantM, wantI := append([]float32(nil), nn.Data(ref.Masks)...), append([]float32(nil), nn.Data(ref.IOU)...)
	const reps, goroutines = 60, 8
	bad := make(chan struct{}, reps*goroutines)
	for rep := 0; rep < reps; rep++ {
		var wg sync.WaitGroup
		for g := 0; g < goroutines; g++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				out, err := m.Decode(ctx, emb, p, false)
				if err != nil || !equalF32(nn.Data(out.Masks), wantM) || !equalF32(nn.Data(out.IOU), wantI) {
					bad <- struct{}{}
				}
			}()
		}
		wg.Wait()
	}
	if n := len(bad); n > 0 {
		t.Errorf("%d of %d concurrent decodes differed from the sequential one", n, reps*goroutines)
	}
}

func equalF32(a, b []float32) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
