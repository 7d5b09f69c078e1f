package cpu

import (
	"fmt"
	"math"
	"runtime"
	"sync/atomic"
)

// MSDeformAttn is the core of multi-scale deformable attention (Deformable
// DETR, Grounding DINO): for every query and head it samples the value maps
// of every level at P learned locations with bilinear interpolation
// (grid_sample, align_corners=False, zero padding) and sums the samples
// weighted by the attention weights. Sampling and weighting are fused, so no
// [B·H, D, Q, L·P] grid-sample tensor is ever built.
//
// Layouts (row-major, PyTorch order):
//
//	value         [B, S, H, D]        S = Σ H_l·W_l, level l starts at levelStart[l]
//	samplingLocs  [B, Q, H, L, P, 2]  (x, y) normalised to [0, 1] over the level's map
//	attnWeights   [B, Q, H, L, P]     already softmaxed over L·P
//	out           [B, Q, H·D]         overwritten
//
// spatialShapes[l] is (height, width). The work is split over (batch,
// block of queries) units on runtime.GOMAXPROCS(0) goroutines; a unit runs
// its queries' heads one after the other, so the locations and weights
// stream in order and a pixel's heads (adjacent in value) are read
// together. Each head's D values of a pixel are one contiguous row.
func MSDeformAttn(out, value []float32, spatialShapes [][2]int, levelStart []int, samplingLocs, attnWeights []float32, B, S, H, D, Q, L, P int) {
	checkDeformArgs(out, value, spatialShapes, levelStart, samplingLocs, attnWeights, B, S, H, D, Q, L, P)
	if B*Q == 0 || S == 0 {
		return
	}
	const chunk = 16
	nChunks := (Q + chunk - 1) / chunk
	forChunks(B*nChunks, 1, func(lo, hi int) {
		for u := lo; u < hi; u++ {
			b, c := u/nChunks, u%nChunks
			for q := c * chunk; q < min((c+1)*chunk, Q); q++ {
				r := b*Q + q
				for h := 0; h < H; h++ {
					// Head h's maps: pixel s's row at v[s*H*D:], D values.
					off := (b*S*H + h) * D
					v := value[off : off+(S-1)*H*D+D]
					i := (r*H + h) * L * P
					deformSample(out[(r*H+h)*D:(r*H+h+1)*D], v, H*D, spatialShapes, levelStart,
						samplingLocs[2*i:2*(i+L*P)], attnWeights[i:i+L*P], D, L, P)
				}
			}
		}
	})
}

// forChunks runs fn over [0, n) in blocks of grain on GOMAXPROCS goroutines
// (the caller among them) that take blocks in order from a shared counter;
// like ParallelFor it waits for taken blocks, not for helpers to start.
func forChunks(n, grain int, fn func(lo, hi int)) {
	blocks := (n + grain - 1) / grain
	workers := min(runtime.GOMAXPROCS(0), blocks)
	var next, done atomic.Int64
	run := func() {
		for {
			k := int(next.Add(1)) - 1
			if k >= blocks {
				return
			}
			fn(k*grain, min((k+1)*grain, n))
			done.Add(1)
		}
	}
	for w := 1; w < workers; w++ {
		go run()
	}
	run()
	waitCount(&done, blocks)
}

// deformSample computes one query's output for one head (D values) from
// that head's value maps v, pixel s's D values at v[s*stride:]. The four bilinear corners of a sample are
// folded into one pass over D; a corner outside the map gets weight zero
// (and a harmless in-range row).
func deformSample(acc, v []float32, stride int, shapes [][2]int, levelStart []int, locs, weights []float32, D, L, P int) {
	if D == 32 && L*P <= 16 {
		deformSample32(acc, v, stride, shapes, levelStart, locs, weights, L, P)
		return
	}
	deformSampleAny(acc, v, stride, shapes, levelStart, locs, weights, D, L, P)
}

// deformSampleAny is deformSample for any D, L, P: one axpy4 per sample.
func deformSampleAny(acc, v []float32, stride int, shapes [][2]int, levelStart []int, locs, weights []float32, D, L, P int) {
	var offBuf [64]int
	var wBuf [64]float32
	offs, ws := offBuf[:], wBuf[:]
	if 4*L*P > len(offs) {
		offs, ws = make([]int, 4*L*P), make([]float32, 4*L*P)
	}
	n := deformCorners(offs, ws, stride, shapes, levelStart, locs, weights, L, P)
	clear(acc)
	for j := 0; j < n; j += 4 {
		axpy4(acc, v, [4]int(offs[j:j+4]), [4]float32(ws[j:j+4]))
	}
}

// deformSample32 is deformSample for D = 32 and at most 16 samples (the
// models' 4 levels × 4 points): one kernel call sums all the corner rows
// with the 32-wide accumulator in registers, in the same order as
// deformSampleAny.
func deformSample32(acc, v []float32, stride int, shapes [][2]int, levelStart []int, locs, weights []float32, L, P int) {
	var offs [64]int
	var ws [64]float32
	n := deformCorners(offs[:], ws[:], stride, shapes, levelStart, locs, weights, L, P)
	deformGather32(acc[:32], v, offs[:n], ws[:n])
}

// deformCorners writes the bilinear corners of one query's L×P samples,
// four per sample that is not wholly outside its map: value offsets (pixel
// × stride) into offs and weights (times the attention weight) into ws, a
// corner outside the map with weight zero and offset 0. It returns how
// many it wrote; offs and ws need room for 4·L·P.
func deformCorners(offs []int, ws []float32, stride int, shapes [][2]int, levelStart []int, locs, weights []float32, L, P int) int {
	n := 0
	for l := 0; l < L; l++ {
		hl, wl := shapes[l][0], shapes[l][1]
		base := levelStart[l]
		fw, fh := float32(wl), float32(hl)
		for p := 0; p < P; p++ {
			i := l*P + p
			a := weights[i]
			// grid_sample's unnormalisation of g = 2·loc − 1 with align_corners=False.
			x := ((2*locs[2*i]-1+1)*fw - 1) / 2
			y := ((2*locs[2*i+1]-1+1)*fh - 1) / 2
			if !(x > -1 && y > -1 && x < fw && y < fh) {
				continue // all four corners outside (or NaN)
			}
			// x, y > −1, so truncating x+1 floors it.
			x0, y0 := int(x+1)-1, int(y+1)-1
			x0f, y0f := float32(x0), float32(y0)
			x1, y1 := x0+1, y0+1
			// PyTorch's corner weights: nw = (x_se−x)(y_se−y), etc.
			wx0, wx1 := x0f+1-x, x-x0f
			wy0, wy1 := y0f+1-y, y-y0f
			o, w := offs[n:n+4:n+4], ws[n:n+4:n+4]
			o[0], o[1], o[2], o[3] = 0, 0, 0, 0
			w[0], w[1], w[2], w[3] = 0, 0, 0, 0
			if y0 >= 0 {
				if x0 >= 0 {
					w[0], o[0] = wx0*wy0*a, (base+y0*wl+x0)*stride
				}
				if x1 < wl {
					w[1], o[1] = wx1*wy0*a, (base+y0*wl+x1)*stride
				}
			}
			if y1 < hl {
				if x0 >= 0 {
					w[2], o[2] = wx0*wy1*a, (base+y1*wl+x0)*stride
				}
				if x1 < wl {
					w[3], o[3] = wx1*wy1*a, (base+y1*wl+x1)*stride
				}
			}
			n += 4
		}
	}
	return n
}

// deformGatherGo sets acc to Σ_i ws[i]·v[offs[i]:offs[i]+len(acc)].
func deformGatherGo(acc, v []float32, offs []int, ws []float32) {
	clear(acc)
	for i, o := range offs {
		w, r := ws[i], v[o:o+len(acc)]
		for d := range acc {
			acc[d] += w * r[d]
		}
	}
}

// axpy4Go is the portable acc += Σ_c w[c]·r_c.
func axpy4Go(acc, r0, r1, r2, r3 []float32, w [4]float32) {
	r0, r1, r2, r3 = r0[:len(acc)], r1[:len(acc)], r2[:len(acc)], r3[:len(acc)]
	w0, w1, w2, w3 := w[0], w[1], w[2], w[3]
	for d := range acc {
		acc[d] += w0*r0[d] + w1*r1[d] + w2*r2[d] + w3*r3[d]
	}
}

// MSDeformAttnReference is the plain per-sample version of MSDeformAttn,
// written the way the reference composes it (bilinear sample of each point,
// then weighting and sum over levels and points); the fused kernel is
// tested against it.
func MSDeformAttnReference(out, value []float32, spatialShapes [][2]int, levelStart []int, samplingLocs, attnWeights []float32, B, S, H, D, Q, L, P int) {
	checkDeformArgs(out, value, spatialShapes, levelStart, samplingLocs, attnWeights, B, S, H, D, Q, L, P)
	sample := make([]float32, D)
	for b := 0; b < B; b++ {
		for q := 0; q < Q; q++ {
			for h := 0; h < H; h++ {
				o := out[((b*Q+q)*H+h)*D : ((b*Q+q)*H+h+1)*D]
				clear(o)
				for l := 0; l < L; l++ {
					hl, wl := spatialShapes[l][0], spatialShapes[l][1]
					for p := 0; p < P; p++ {
						i := (((b*Q+q)*H+h)*L+l)*P + p
						gx := 2*samplingLocs[2*i] - 1
						gy := 2*samplingLocs[2*i+1] - 1
						x := ((gx+1)*float32(wl) - 1) / 2
						y := ((gy+1)*float32(hl) - 1) / 2
						x0 := int(math.Floor(float64(x)))
						y0 := int(math.Floor(float64(y)))
						clear(sample)
						for _, c := range [4][2]int{{0, 0}, {1, 0}, {0, 1}, {1, 1}} {
							xi, yi := x0+c[0], y0+c[1]
							if xi < 0 || yi < 0 || xi >= wl || yi >= hl {
								continue
							}
							wx := 1 - float32(math.Abs(float64(x-float32(xi))))
							wy := 1 - float32(math.Abs(float64(y-float32(yi))))
							row := value[((b*S+levelStart[l]+yi*wl+xi)*H+h)*D:]
							for d := range sample {
								sample[d] += wx * wy * row[d]
							}
						}
						a := attnWeights[i]
						for d := range o {
							o[d] += sample[d] * a
						}
					}
				}
			}
		}
	}
}

func checkDeformArgs(out, value []float32, shapes [][2]int, levelStart []int, locs, weights []float32, B, S, H, D, Q, L, P int) {
	if len(shapes) != L || len(levelStart) != L {
		panic(fmt.Sprintf("cpu.MSDeformAttn: %d spatial shapes and %d level starts for %d levels", len(shapes), len(levelStart), L))
	}
	for l, s := range shapes {
		if s[0] <= 0 || s[1] <= 0 || levelStart[l] < 0 || levelStart[l]+s[0]*s[1] > S {
			panic(fmt.Sprintf("cpu.MSDeformAttn: level %d (%d×%d at %d) does not fit S=%d", l, s[0], s[1], levelStart[l], S))
		}
	}
	switch {
	case len(value) < B*S*H*D:
		panic(fmt.Sprintf("cpu.MSDeformAttn: value has %d values, want %d", len(value), B*S*H*D))
	case len(locs) < B*Q*H*L*P*2:
		panic(fmt.Sprintf("cpu.MSDeformAttn: sampling locations have %d values, want %d", len(locs), B*Q*H*L*P*2))
	case len(weights) < B*Q*H*L*P:
		panic(fmt.Sprintf("cpu.MSDeformAttn: attention weights have %d values, want %d", len(weights), B*Q*H*L*P))
	case len(out) < B*Q*H*D:
		panic(fmt.Sprintf("cpu.MSDeformAttn: out has %d values, want %d", len(out), B*Q*H*D))
	}
}
