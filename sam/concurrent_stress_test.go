package sam

import (
	"fmt"
	"sort"
	"sync"
	"testing"

	"github.com/gsam-go/gsam/internal/fixture"
	"github.com/gsam-go/gsam/nn"
	"gorgonia.org/tensor"
)

// TestConcurrentDecodeStress runs the mask decoder on one embedding from many
// goroutines at once and compares every traced activation with a sequential
// run, bit for bit. It caught tensors' backing arrays being freed while in
// use (gorgonia's Dense.Data rebuilds slices from a uintptr; nn.Data now
// avoids it): about one call in a few hundred went wrong, or the runtime
// aborted on a corrupted heap.
func TestConcurrentDecodeStress(t *testing.T) {
	m := loadFixtureModel(t)
	f := fixture.Tensors(t, "sam/case/tensors.safetensors")
	emb := fixture.Float(t, f, "image_embeddings")
	p := fixturePrompts(t, f, 3)
	sparse, dense, _ := m.PromptEncoder.Forward(p)
	ref := map[string][]float32{}
	m.MaskDecoder.forward(emb, m.imagePE, sparse, dense, false, func(n string, x *tensor.Dense) { ref[n] = append([]float32(nil), nn.Data(x)...) })
	errs := make(chan string, 1000)
	for rep := 0; rep < 60; rep++ {
		var wg sync.WaitGroup
		for g := 0; g < 8; g++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				got := map[string][]float32{}
				m.MaskDecoder.forward(emb, m.imagePE, sparse, dense, false, func(n string, x *tensor.Dense) { got[n] = append([]float32(nil), nn.Data(x)...) })
				var bad []string
				for n, w := range ref {
					for i := range w {
						if got[n][i] != w[i] {
							bad = append(bad, n)
							break
						}
					}
				}
				if bad != nil {
					sort.Strings(bad)
					errs <- fmt.Sprint(bad)
				}
			}()
		}
		wg.Wait()
	}
	close(errs)
	n := 0
	for e := range errs {
		if n < 3 {
			t.Error(e)
		}
		n++
	}
	if n > 0 {
		t.Errorf("%d of %d concurrent decodes differed from the sequential one", n, 60*8)
	}
}
