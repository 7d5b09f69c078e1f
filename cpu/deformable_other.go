//go:build !amd64 || purego

package cpu

// axpy4 adds Σ_c w[c]·value[off[c]:off[c]+len(acc)] to acc.
func axpy4(acc, value []float32, off [4]int, w [4]float32) {
	n := len(acc)
	axpy4Go(acc, value[off[0]:off[0]+n], value[off[1]:off[1]+n], value[off[2]:off[2]+n], value[off[3]:off[3]+n], w)
}

// deformGather32 sets acc (32 values) to Σ_i ws[i]·v[offs[i]:offs[i]+32].
func deformGather32(acc, v []float32, offs []int, ws []float32) {
	deformGatherGo(acc, v, offs, ws)
}

// deformAVX2 is false: no assembly accumulation in this build.
var deformAVX2 = false

func deformCornersAVX2(offs *int, ws, locs, weights *float32, lanes *deformLanes, stride, groups int) {
	panic("cpu: no AVX2 in this build")
}

func deformGather32AVX2(acc, v *float32, offs *int, ws *float32, n int, pv *float32, poffs *int) {
	panic("cpu: no AVX2 in this build")
}
