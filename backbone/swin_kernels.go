package backbone

import "github.com/gsam-go/gsam/cpu"

// layerNormRows normalises every row of length len(w) of src into dst (they
// may alias) in parallel, with cpu.LayerNorm.
func layerNormRows(dst, src, w, b []float32, eps float32) {
	d := len(w)
	cpu.ParallelFor(len(src)/d, func(lo, hi int) {
		for r := lo; r < hi; r++ {
			cpu.LayerNorm(dst[r*d:(r+1)*d], src[r*d:(r+1)*d], w, b, eps)
		}
	})
}
