package groundingdino

import (
	"context"
	"math/rand/v2"
	"os"
	"runtime"
	"runtime/metrics"
	"testing"
	"time"

	"github.com/gsam-go/gsam/nn"
)

// BenchmarkForwardTiny800x1333 runs the full-size grounding-dino-tiny (random
// weights) on an 800×1333 image and a 9-token caption, as gsam bench does. It
// reports the peak heap (objects, live and garbage) sampled during the runs.
func BenchmarkForwardTiny800x1333(b *testing.B) {
	raw, err := os.ReadFile("../groundedsam/configs/grounding-dino-tiny.json")
	if err != nil {
		b.Skip(err)
	}
	cfg, err := ParseConfig(raw)
	if err != nil {
		b.Fatal(err)
	}
	m, err := New(cfg)
	if err != nil {
		b.Fatal(err)
	}
	m.Randomize(1)
	px := nn.New(1, 3, 800, 1333)
	r := rand.New(rand.NewPCG(1, 2))
	for i, d := 0, nn.Data(px); i < len(d); i++ {
		d[i] = float32(r.NormFloat64())
	}
	ids := []int64{101, 1037, 4937, 1012, 1037, 6556, 2491, 1012, 102}
	am := make([]int64, len(ids))
	for i := range am {
		am[i] = 1
	}
	in := Inputs{PixelValues: px, T: len(ids), InputIDs: ids, TokenTypeIDs: make([]int64, len(ids)), AttentionMask: am}
	runtime.GC()
	sample := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	metrics.Read(sample)
	base := sample[0].Value.Uint64()
	var peak uint64
	done := make(chan struct{})
	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		s := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
		t := time.NewTicker(2 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
			}
			metrics.Read(s)
			peak = max(peak, s[0].Value.Uint64())
		}
	}()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		out, err := m.Forward(context.Background(), in, nil, nil)
		if err != nil {
			b.Fatal(err)
		}
		m.Release(out) // as Detector.Detect does
	}
	b.StopTimer()
	close(done)
	<-stopped
	b.ReportMetric(float64(base)/(1<<20), "model-MiB")
	b.ReportMetric(float64(peak)/(1<<20), "peak-heap-MiB")
}
