package sam

import (
	"context"
	"runtime"
	"sync"
	"testing"

	"github.com/gsam-go/gsam/internal/fixture"
	"github.com/gsam-go/gsam/nn"
	"gorgonia.org/tensor"
)

// TestConcurrentDecodeStress runs the prompt encoder and mask decoder on one
// embedding from many goroutines at once and compares the outputs with a
// sequential run, bit for bit. It caught tensors' backing arrays being freed
// while in use (gorgonia's Dense.Data rebuilds slices from a uintptr; nn.Data
// now avoids it): about one call in a few hundred went wrong, or the runtime
// aborted on a corrupted heap. Both cross-attention paths; every other
// repetition starts from a fresh Embedding, so that the goroutines race to
// make the first-layer side it keeps (the factored path reads it).
func TestConcurrentDecodeStress(t *testing.T) {
	m := loadFixtureModel(t)
	f := fixture.Tensors(t, "sam/case/tensors.safetensors")
	embeddings := fixture.Float(t, f, "image_embeddings")
	p := fixturePrompts(t, f, 3)
	ctx := context.Background()
	defer func() { factorAttention = false }()
	for _, fac := range []bool{false, true} {
		factorAttention = fac
		emb := &Embedding{Embeddings: embeddings}
		ref, err := m.Decode(ctx, emb, p, false)
		if err != nil {
			t.Fatal(err)
		}
		wantM, wantI := append([]float32(nil), nn.Data(ref.Masks)...), append([]float32(nil), nn.Data(ref.IOU)...)
		const reps, goroutines = 30, 8
		bad := make(chan struct{}, reps*goroutines)
		for rep := 0; rep < reps; rep++ {
			if rep%2 == 1 {
				emb = &Embedding{Embeddings: embeddings}
			}
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
			t.Errorf("factored=%v: %d of %d concurrent decodes differed from the sequential one", fac, n, reps*goroutines)
		}
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

// allocation returns the bytes the first call of call allocates and the
// least that a few later ones do (a collection in between may drop pooled
// objects, which is not what the callers check), with the size in bytes
// of the output that call reports.
func allocation(t *testing.T, call func() (outBytes int, err error)) (cold, warm uint64, outBytes int) {
	t.Helper()
	if raceEnabled {
		t.Skip("the race detector changes what allocates")
	}
	measure := func() uint64 {
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		n, err := call()
		runtime.ReadMemStats(&after)
		if err != nil {
			t.Fatal(err)
		}
		outBytes = n
		return after.TotalAlloc - before.TotalAlloc
	}
	cold = measure()
	warm = measure()
	for range 2 {
		warm = min(warm, measure())
	}
	return cold, warm, outBytes
}

// TestDecodeSteadyStateAllocation checks that a warm Decode takes its
// temporaries from the decoder's arena. On sam-vit-base's decoder (zero
// weights: only the sizes matter) each image-sized temporary is 4 MiB; a
// warm call may allocate its outputs and per-token slices, not those.
func TestDecodeSteadyStateAllocation(t *testing.T) {
	_, c := loadManifest(t)
	m, err := New(c)
	if err != nil {
		t.Fatal(err)
	}
	m.Prepare()
	emb := newEmbedding(nn.New(1, 256, 64, 64))
	p := &Prompts{Boxes: [][4]float32{{100, 200, 600, 700}}}
	cold, warm, outBytes := allocation(t, func() (int, error) {
		out, err := m.Decode(context.Background(), emb, p, true)
		if err != nil {
			return 0, err
		}
		return 4 * len(nn.Data(out.Masks)), nil
	})
	t.Logf("first call allocated %d bytes, warm %d (masks %d)", cold, warm, outBytes)
	// Beyond the masks a warm call allocated 0.28 MB (its IoU scores,
	// per-token slices, the parallel regions' closures); the products of
	// the mask tokens with the upscaled pixels alone are 0.79 MB.
	if limit := uint64(outBytes) + 512<<10; warm > limit {
		t.Errorf("warm Decode allocated %d bytes, want at most the %d-byte masks + 512 KiB (an image-sized temporary is 4 MiB)", warm, outBytes)
	}
}

// TestEmbedSteadyStateAllocation checks that a warm image-encoder call
// reuses the encoder's scratch (tokens, qkv, windows, MLP hidden rows, the
// attention workers' score blocks, the neck's im2col): sam-vit-base's
// layers on a 256×256 input (16×16 tokens, 14×14 windows and global
// attention), zero weights.
func TestEmbedSteadyStateAllocation(t *testing.T) {
	_, c := loadManifest(t)
	c.VisionConfig.ImageSize = 256
	m, err := New(c)
	if err != nil {
		t.Fatal(err)
	}
	m.Prepare()
	pixels := nn.New(1, 3, 256, 256)
	cold, warm, outBytes := allocation(t, func() (int, error) {
		e, err := m.Embed(context.Background(), pixels)
		if err != nil {
			return 0, err
		}
		return 4 * len(nn.Data(e.Embeddings)), nil
	})
	t.Logf("first call allocated %d bytes, warm %d (embedding %d)", cold, warm, outBytes)
	// The embedding is returned twice (channels-first and as tokens).
	if limit := uint64(2*outBytes) + 1<<20; warm > limit || warm > cold/4 {
		t.Errorf("warm Embed allocated %d bytes (cold %d), want at most twice the %d-byte embedding + 1 MiB", warm, cold, outBytes)
	}
}

// TestReusedScratchLeavesNoTrace embeds image A, then a different image B,
// then A again, and decodes on each: the third results must equal the
// first bit for bit, so nothing read from the reused buffers (the image
// encoder's scratch, the decoder's arenas) is left over from B.
func TestReusedScratchLeavesNoTrace(t *testing.T) {
	m := loadFixtureModel(t)
	f := fixture.Tensors(t, "sam/case/tensors.safetensors")
	a := fixture.Float(t, f, "input.pixel_values")
	b := nn.Clone(a)
	for i, v := range nn.Data(b) {
		nn.Data(b)[i] = -v*0.5 + float32(i%7)*0.1
	}
	p := fixturePrompts(t, f, 3)
	ctx := context.Background()
	run := func(px *tensor.Dense) ([]float32, []float32) {
		emb, err := m.Embed(ctx, px)
		if err != nil {
			t.Fatal(err)
		}
		out, err := m.Decode(ctx, emb, p, true)
		if err != nil {
			t.Fatal(err)
		}
		return append([]float32(nil), nn.Data(emb.Embeddings)...), append([]float32(nil), nn.Data(out.Masks)...)
	}
	e1, m1 := run(a)
	e2, m2 := run(b)
	e3, m3 := run(a)
	if equalF32(e1, e2) || equalF32(m1, m2) {
		t.Fatal("the two images gave the same result: the check cannot fail")
	}
	if !equalF32(e1, e3) {
		t.Error("the embedding of A changed after embedding B")
	}
	if !equalF32(m1, m3) {
		t.Error("the masks for A changed after decoding on B")
	}
}

func TestDropScratchEmptiesTheEncoderWork(t *testing.T) {
	m := loadFixtureModel(t)
	f := fixture.Tensors(t, "sam/case/tensors.safetensors")
	if _, err := m.Embed(context.Background(), fixture.Float(t, f, "input.pixel_values")); err != nil {
		t.Fatal(err)
	}
	if m.VisionEncoder.work.Len() == 0 {
		t.Fatal("no work buffers kept after Embed")
	}
	m.DropScratch()
	if n := m.VisionEncoder.work.Len(); n != 0 {
		t.Errorf("%d work buffers kept after DropScratch", n)
	}
}
