//go:build amd64 && !purego

package cpu

//go:noescape
func axpy4AVX2(acc, r0, r1, r2, r3 *float32, w *[4]float32, n int)

//go:noescape
func deformCornersAVX2(offs *int, ws, locs, weights *float32, lanes *deformLanes, stride, groups int)

//go:noescape
func deformGather32AVX2(acc, v *float32, offs *int, ws *float32, n int, pv *float32, poffs *int)

// deformGather32 sets acc (32 values) to Σ_i ws[i]·v[offs[i]:offs[i]+32]
// in order; every offs[i]+32 must be within v (the caller's corner offsets
// are, by construction and checkDeformArgs).
func deformGather32(acc, v []float32, offs []int, ws []float32) {
	if deformAVX2 && len(offs) > 0 {
		_ = acc[31]
		_ = ws[len(offs)-1]
		// Nothing to fetch ahead: the "next" rows are these.
		deformGather32AVX2(&acc[0], &v[0], &offs[0], &ws[0], len(offs), &v[0], &offs[0])
		return
	}
	deformGatherGo(acc, v, offs, ws)
}

// deformAVX2 says whether the deformable sampling uses the AVX2/FMA
// accumulation (GSAM_GEMM=purego turns it off with the GEMM kernels).
var deformAVX2 = x86HasAVX2FMA && kernelOverride != "purego"

// axpy4 adds Σ_c w[c]·value[off[c]:off[c]+len(acc)] to acc.
func axpy4(acc, value []float32, off [4]int, w [4]float32) {
	n := len(acc)
	r0 := value[off[0] : off[0]+n]
	r1 := value[off[1] : off[1]+n]
	r2 := value[off[2] : off[2]+n]
	r3 := value[off[3] : off[3]+n]
	if deformAVX2 && n%8 == 0 && n > 0 {
		axpy4AVX2(&acc[0], &r0[0], &r1[0], &r2[0], &r3[0], &w, n)
		return
	}
	axpy4Go(acc, r0, r1, r2, r3, w)
}
