package bench

import (
	"math/rand/v2"
	"testing"

	"github.com/gsam-go/gsam/nn"
	"gorgonia.org/tensor"
)

// report adds the per-call time in ms and, where given, the throughput:
// flops (floating-point operations per call) as GFLOP/s and bytes (memory
// traffic per call) as GB/s. Call it after the timed loop.
func report(b *testing.B, flops, bytes float64) {
	sec := b.Elapsed().Seconds() / float64(b.N)
	if sec <= 0 {
		return
	}
	b.ReportMetric(sec*1e3, "ms")
	if flops > 0 {
		b.ReportMetric(flops/sec/1e9, "GFLOP/s")
	}
	if bytes > 0 {
		b.ReportMetric(bytes/sec/1e9, "GB/s")
	}
}

// rng is a fixed-seed generator, so every run sees the same inputs.
func rng(seed uint64) *rand.Rand { return rand.New(rand.NewPCG(seed, 0x5eed)) }

// randSlice returns n normal values of standard deviation std.
func randSlice(r *rand.Rand, n int, std float32) []float32 {
	s := make([]float32, n)
	for i := range s {
		s[i] = float32(r.NormFloat64()) * std
	}
	return s
}

// randTensor is randSlice shaped as a tensor.
func randTensor(r *rand.Rand, std float32, shape ...int) *tensor.Dense {
	return nn.FromData(randSlice(r, nn.Numel(shape...), std), shape...)
}
