package enhancer

import (
	"github.com/gsam-go/gsam/cpu"
	"github.com/gsam-go/gsam/nn"
)

// parallelRows runs fn over [0, n) on all cores (the image-sized
// elementwise passes: softmax, masks, transposes). grain is the smallest
// range worth a goroutine.
func parallelRows(n, grain int, fn func(lo, hi int)) {
	if n <= grain {
		if n > 0 {
			fn(0, n)
		}
		return
	}
	cpu.ParallelFor(n, fn)
}

// softmaxRows is cpu.SoftmaxRows spread over the cores by rows.
func softmaxRows(x []float32, n int) {
	rows := len(x) / n
	parallelRows(rows, max(1, 4096/max(n, 1)), func(lo, hi int) {
		cpu.SoftmaxRows(x[lo*n:hi*n], n)
	})
}

// layerNorm applies ln in place to rows of x (nn.LayerNorm spreads
// image-sized inputs over the cores itself).
func layerNorm(ln *nn.LayerNorm, x []float32) { ln.ForwardInPlace(x) }
