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
// together. Each head's D values of a pixel are one contiguous row. The
// corner offsets are computed in 32 bits, so S·H·D must fit an int32.
func MSDeformAttn(out, value []float32, spatialShapes [][2]int, levelStart []int, samplingLocs, attnWeights []float32, B, S, H, D, Q, L, P int) {
	checkDeformArgs(out, value, spatialShapes, levelStart, samplingLocs, attnWeights, B, S, H, D, Q, L, P)
	if B*Q == 0 || S == 0 {
		return
	}
	lanes := newDeformLanes(spatialShapes, levelStart, H*D, L, P)
	const chunk = 16
	nChunks := (Q + chunk - 1) / chunk
	forChunks(B*nChunks, 1, func(lo, hi int) {
		for u := lo; u < hi; u++ {
			b, c := u/nChunks, u%nChunks
			for q := c * chunk; q < min((c+1)*chunk, Q); q++ {
				r := b*Q + q
				if D == 32 && deformAVX2 && len(lanes) <= 2 {
					deformQuery32(out[r*H*D:(r+1)*H*D], value[b*S*H*D:(b+1)*S*H*D], H, lanes,
						samplingLocs[2*r*H*L*P:2*(r+1)*H*L*P], attnWeights[r*H*L*P:(r+1)*H*L*P])
					continue
				}
				for h := 0; h < H; h++ {
					// Head h's maps: pixel s's row at v[s*H*D:], D values.
					off := (b*S*H + h) * D
					v := value[off : off+(S-1)*H*D+D]
					i := (r*H + h) * L * P
					deformSample(out[(r*H+h)*D:(r*H+h+1)*D], v, H*D, lanes,
						samplingLocs[2*i:2*(i+L*P)], attnWeights[i:i+L*P], D)
				}
			}
		}
	})
}

// deformQuery32 is MSDeformAttn's loop over one query's H heads for D = 32
// and at most 16 samples, with AVX2: it works out the next head's corners
// before it gathers this head's, and prefetches the next head's rows while
// it gathers (each gather is 64 dependent rows, longer than the CPU looks
// ahead by itself).
func deformQuery32(out, value []float32, H int, lanes []deformLanes, locs, weights []float32) {
	var offs [2][64]int
	var ws [2][64]float32
	n, lp := 32*len(lanes), len(weights)/H
	stride := H * 32
	deformCorners(offs[0][:n], ws[0][:n], stride, lanes, locs[:2*lp], weights[:lp])
	for h := 0; h < H; h++ {
		cur := h & 1
		acc := out[h*32 : h*32+32]
		v := value[h*32:]
		if h+1 == H {
			deformGather32(acc, v, offs[cur][:n], ws[cur][:n])
			break
		}
		nxt := 1 - cur
		deformCorners(offs[nxt][:n], ws[nxt][:n], stride, lanes, locs[2*(h+1)*lp:2*(h+2)*lp], weights[(h+1)*lp:(h+2)*lp])
		deformGather32AVX2(&acc[0], &v[0], &offs[cur][0], &ws[cur][0], n, &value[(h+1)*32], &offs[nxt][0])
	}
}

// deformLanes describes eight of a query's L·P samples side by side (sample
// l·P+p lies on level l): what deformCorners needs of each sample's map,
// with offsets in value elements (pixel × stride). A lane past the last
// sample has fw = fh = 0, so it is always outside.
type deformLanes struct {
	fw, fh     [8]float32 // the map's width and height
	xmax, ymax [8]int32   // width−1, height−1
	base, row  [8]int32   // the level's first pixel and one row of pixels, in elements
}

// newDeformLanes lays out the levels of L·P samples for deformCorners.
// checkDeformArgs has made sure that every offset fits an int32.
func newDeformLanes(shapes [][2]int, levelStart []int, stride, L, P int) []deformLanes {
	lanes := make([]deformLanes, (L*P+7)/8)
	for i := 0; i < L*P; i++ {
		l, g, j := i/P, i/8, i%8
		hl, wl := shapes[l][0], shapes[l][1]
		ln := &lanes[g]
		ln.fw[j], ln.fh[j] = float32(wl), float32(hl)
		ln.xmax[j], ln.ymax[j] = int32(wl-1), int32(hl-1)
		ln.base[j], ln.row[j] = int32(levelStart[l]*stride), int32(wl*stride)
	}
	return lanes
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
		spawn(run)
	}
	run()
	waitCount(&done, blocks)
}

// deformSample computes one query's output for one head (D values) from
// that head's value maps v, pixel s's D values at v[s*stride:], and the
// query's len(weights) samples, laid out by lanes.
func deformSample(acc, v []float32, stride int, lanes []deformLanes, locs, weights []float32, D int) {
	var offBuf [64]int
	var wBuf [64]float32
	n := 32 * len(lanes)
	offs, ws := offBuf[:], wBuf[:]
	if n > len(offs) {
		offs, ws = make([]int, n), make([]float32, n)
	}
	deformCorners(offs[:n], ws[:n], stride, lanes, locs, weights)
	if D == 32 {
		deformGather32(acc[:32], v, offs[:n], ws[:n])
		return
	}
	deformAxpy(acc, v, offs[:n], ws[:n])
}

// deformAxpy is deformGather32 for any D, a sample (four corners) at a time.
func deformAxpy(acc, v []float32, offs []int, ws []float32) {
	clear(acc)
	for g := 0; g < len(offs); g += 32 {
		for j := 0; j < 8; j++ {
			o := [4]int{offs[g+j], offs[g+8+j], offs[g+16+j], offs[g+24+j]}
			w := [4]float32{ws[g+j], ws[g+8+j], ws[g+16+j], ws[g+24+j]}
			axpy4(acc, v, o, w)
		}
	}
}

// deformCorners writes the four bilinear corners of each sample (grid_sample
// with align_corners=False and zero padding): value offsets into offs and
// weights (times the attention weight) into ws, 32 entries per eight
// samples, corner-major (nw, ne, sw, se; eight samples each). A corner
// outside its map, and every corner of a lane past the last sample, gets
// weight 0 and offset 0. The AVX2 kernel does eight samples at a time when
// every group is full; deformCornersGo is the same arithmetic, step by step.
func deformCorners(offs []int, ws []float32, stride int, lanes []deformLanes, locs, weights []float32) {
	if deformAVX2 && len(weights) == 8*len(lanes) {
		_ = offs[32*len(lanes)-1]
		_ = ws[32*len(lanes)-1]
		_ = locs[16*len(lanes)-1]
		deformCornersAVX2(&offs[0], &ws[0], &locs[0], &weights[0], &lanes[0], stride, len(lanes))
		return
	}
	deformCornersGo(offs, ws, stride, lanes, locs, weights)
}

// deformCornersGo is deformCorners in Go: each rounding step of the
// reference in order (float32 conversions keep the compiler from fusing a
// multiply and an add, which the reference does not do either).
func deformCornersGo(offs []int, ws []float32, stride int, lanes []deformLanes, locs, weights []float32) {
	for g := range lanes {
		ln := &lanes[g]
		o, w := offs[32*g:32*g+32], ws[32*g:32*g+32]
		clear(o)
		clear(w)
		for j := 0; j < 8 && 8*g+j < len(weights); j++ {
			i := 8*g + j
			fw, fh := ln.fw[j], ln.fh[j]
			// grid_sample's unnormalisation of g = 2·loc − 1.
			x := (float32(float32(2*locs[2*i]-1+1)*fw) - 1) / 2
			y := (float32(float32(2*locs[2*i+1]-1+1)*fh) - 1) / 2
			if !(x > -1 && y > -1 && x < fw && y < fh) {
				continue // all four corners outside (or NaN)
			}
			x0, y0 := floorInt(x), floorInt(y)
			x0f, y0f := float32(x0), float32(y0)
			// PyTorch's corner weights: nw = (x_se−x)(y_se−y), etc.
			wx0, wx1 := x0f+1-x, x-x0f
			wy0, wy1 := y0f+1-y, y-y0f
			a := weights[i]
			off := int(ln.base[j]) + y0*int(ln.row[j]) + x0*stride
			inX0, inX1 := x0 >= 0, x0 < int(ln.xmax[j])
			inY0, inY1 := y0 >= 0, y0 < int(ln.ymax[j])
			if inY0 && inX0 {
				w[j], o[j] = wx0*wy0*a, off
			}
			if inY0 && inX1 {
				w[8+j], o[8+j] = wx1*wy0*a, off+stride
			}
			if inY1 && inX0 {
				w[16+j], o[16+j] = wx0*wy1*a, off+int(ln.row[j])
			}
			if inY1 && inX1 {
				w[24+j], o[24+j] = wx1*wy1*a, off+int(ln.row[j])+stride
			}
		}
	}
}

// floorInt is ⌊x⌋ for −1 < x < 2^24.
func floorInt(x float32) int {
	i := int(x)
	if float32(i) > x {
		i--
	}
	return i
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
	case S*H*D > math.MaxInt32:
		panic(fmt.Sprintf("cpu.MSDeformAttn: %d×%d×%d values per image exceed 32-bit offsets", S, H, D))
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
