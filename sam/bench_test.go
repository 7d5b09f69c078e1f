package sam

import (
	"context"
	"syscall"
	"testing"
	"time"

	"github.com/gsam-go/gsam/nn"
	"github.com/gsam-go/gsam/weights"
)

// fullSizeModel is facebook/sam-vit-base with random weights.
func fullSizeModel(b *testing.B) *Model {
	b.Helper()
	_, c := loadManifest(b)
	m, err := New(c)
	if err != nil {
		b.Fatal(err)
	}
	weights.Randomize(m, 1)
	m.Prepare()
	return m
}

// BenchmarkVitBEncoder1024 runs the ViT-B image encoder at 1024×1024
// (PyTorch on the same 2-core machine: 5.9 s).
func BenchmarkVitBEncoder1024(b *testing.B) {
	m := fullSizeModel(b)
	pixels := nn.New(1, 3, 1024, 1024)
	d := nn.Data(pixels)
	for i := range d {
		d[i] = float32(i%251)/125 - 1
	}
	ctx := context.Background()
	b.ResetTimer()
	cpu0 := cpuTime()
	for i := 0; i < b.N; i++ {
		if _, err := m.Embed(ctx, pixels); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Milliseconds())/float64(b.N), "ms/op")
	b.ReportMetric(float64(cpuTime()-cpu0)/1e6/float64(b.N), "cpu-ms/op")
}

// benchEmbedding is a 64×64 image embedding with made-up values, as Embed
// returns it.
func benchEmbedding() *Embedding {
	e := nn.New(1, 256, 64, 64)
	d := nn.Data(e)
	for i := range d {
		d[i] = float32(i%97)/97 - 0.5
	}
	return newEmbedding(e)
}

// BenchmarkMaskDecoderOneBox decodes one box prompt on a 64×64 embedding
// (PyTorch on this machine: 47 ms).
func BenchmarkMaskDecoderOneBox(b *testing.B) {
	m := fullSizeModel(b)
	emb := benchEmbedding()
	prompts := &Prompts{Boxes: [][4]float32{{100, 200, 600, 700}}}
	ctx := context.Background()
	b.ResetTimer()
	cpu0 := cpuTime()
	for i := 0; i < b.N; i++ {
		if _, err := m.Decode(ctx, emb, prompts, false); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Microseconds())/1e3/float64(b.N), "ms/op")
	b.ReportMetric(float64(cpuTime()-cpu0)/1e6/float64(b.N), "cpu-ms/op")
}

// BenchmarkMaskDecoderFourBoxes decodes four box prompts in one call, as
// Grounded-SAM does with the detector's boxes: the prompts run side by
// side, one per core. Reports ms per box.
func BenchmarkMaskDecoderFourBoxes(b *testing.B) {
	m := fullSizeModel(b)
	emb := benchEmbedding()
	prompts := &Prompts{Boxes: [][4]float32{{100, 200, 600, 700}, {0, 0, 300, 300}, {500, 100, 1000, 900}, {200, 600, 400, 1000}}}
	ctx := context.Background()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := m.Decode(ctx, emb, prompts, false); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Microseconds())/1e3/float64(b.N)/4, "ms/box")
}

// cpuTime is the process's user+system CPU time in nanoseconds, to compare
// runs on a loaded machine where wall time is noisy.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkPostProcessMasks upsamples one 256×256 mask to a 1200×1800
// photo (Predict's per-mask post-processing).
func BenchmarkPostProcessMasks(b *testing.B) {
	low := nn.New(1, 1, 256, 256)
	d := nn.Data(low)
	for i := range d {
		d[i] = float32(i%101)/50 - 1
	}
	original := Size{Height: 1200, Width: 1800}
	reshaped := ResizedSize(original, 1024)
	b.ResetTimer()
	cpu0 := cpuTime()
	for i := 0; i < b.N; i++ {
		if _, err := PostProcessMasks(low, 1024, reshaped, original); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Microseconds())/1e3/float64(b.N), "ms/op")
	b.ReportMetric(float64(cpuTime()-cpu0)/1e6/float64(b.N), "cpu-ms/op")
}
