package processor

import (
	"fmt"
	"math"
	"runtime"
	"sync"
)

// Pillow's fixed-point resampling (libImaging/Resample.c, 8 bits per
// channel): per output pixel, triangle-filter weights whose support grows
// with the downscale factor (antialiasing), normalised to sum 1, then
// rounded to 22-bit integers; sums start at one half and are clipped to
// 0..255. Horizontal pass first (only over the rows the vertical pass
// reads), then vertical, with a uint8 image in between.
const precisionBits = 32 - 8 - 2

// coeffs are one axis's filter taps: for output i, weights k[i*ksize:]
// over input positions start[i] … start[i]+count[i]-1.
type coeffs struct {
	ksize        int
	start, count []int
	k            []int32
	precision    uint // fixed-point bits of k
}

// Filter says whose fixed-point arithmetic a resize reproduces.
type Filter int

const (
	// PIL is Pillow's Image.resize(BILINEAR): 22-bit weights.
	PIL Filter = iota
	// Torch is torchvision/ATen's antialiased bilinear on uint8 tensors
	// (the "fast" HF processors): the same weights rounded to int16, with
	// as many fraction bits as the largest weight allows.
	Torch
)

// bilinearCoeffs is precompute_coeffs + normalize_coeffs_8bpc for the
// bilinear (triangle, support 1) filter, box [0, inSize); for Torch the
// int16 quantisation of ATen's compute_index_ranges_int16_weights.
func bilinearCoeffs(inSize, outSize int, filter Filter) coeffs {
	scale := float64(inSize) / float64(outSize)
	filterscale := max(scale, 1.0)
	support := 1.0 * filterscale
	ksize := int(math.Ceil(support))*2 + 1
	c := coeffs{ksize: ksize, start: make([]int, outSize), count: make([]int, outSize), k: make([]int32, outSize*ksize)}
	w := make([]float64, outSize*ksize)
	wtMax := 0.0
	for xx := 0; xx < outSize; xx++ {
		center := (float64(xx) + 0.5) * scale
		ss := 1.0 / filterscale
		xmin := int(center - support + 0.5)
		if xmin < 0 {
			xmin = 0
		}
		xmax := int(center + support + 0.5)
		if xmax > inSize {
			xmax = inSize
		}
		xmax -= xmin
		var ww float64
		wx := w[xx*ksize : (xx+1)*ksize]
		for x := 0; x < xmax; x++ {
			t := math.Abs((float64(x+xmin) - center + 0.5) * ss)
			v := 0.0
			if t < 1 {
				v = 1 - t
			}
			wx[x] = v
			ww += v
		}
		for x := 0; x < xmax; x++ {
			if ww != 0 {
				wx[x] /= ww
			}
			wtMax = max(wtMax, wx[x])
		}
		c.start[xx], c.count[xx] = xmin, xmax
	}
	c.precision = precisionBits
	if filter == Torch {
		for c.precision = 0; c.precision < 22; c.precision++ {
			if int(0.5+wtMax*float64(int(1)<<(c.precision+1))) >= 1<<15 {
				break
			}
		}
	}
	scale = float64(int(1) << c.precision)
	for i, v := range w {
		// Round half away from zero, as the C code's (int)(±0.5 + v·2^bits).
		v *= scale
		if v < 0 {
			c.k[i] = int32(-0.5 + v)
		} else {
			c.k[i] = int32(0.5 + v)
		}
	}
	return c
}

func clip8(v int32, bits uint) uint8 {
	v >>= bits
	if v >= 255 {
		return 255
	}
	if v <= 0 {
		return 0
	}
	return uint8(v)
}

// ResizeBilinear resizes an interleaved 8-bit image (channels values per
// pixel) to outW×outH exactly as Pillow's Image.resize(size, BILINEAR)
// (filter PIL) or torchvision's antialiased resize of a uint8 tensor (Torch).
func ResizeBilinear(pix []uint8, w, h, channels, outW, outH int, filter Filter) ([]uint8, error) {
	if w <= 0 || h <= 0 || outW <= 0 || outH <= 0 || channels <= 0 {
		return nil, fmt.Errorf("resize: bad size %d×%d → %d×%d", w, h, outW, outH)
	}
	if len(pix) != w*h*channels {
		return nil, fmt.Errorf("resize: %d bytes for %d×%d×%d", len(pix), w, h, channels)
	}
	needH, needV := outW != w, outH != h
	if !needH && !needV {
		return append([]uint8(nil), pix...), nil
	}
	vert := bilinearCoeffs(h, outH, filter)
	src, srcH, rowOff := pix, h, 0
	if needH {
		// Only the rows the vertical pass reads.
		first := vert.start[0]
		last := vert.start[outH-1] + vert.count[outH-1]
		if !needV {
			first, last = 0, h
		}
		hc := bilinearCoeffs(w, outW, filter)
		tmp := make([]uint8, (last-first)*outW*channels)
		parallelRows(last-first, func(lo, hi int) {
			acc := make([]int32, channels)
			for y := lo; y < hi; y++ {
				in := pix[(y+first)*w*channels:]
				out := tmp[y*outW*channels:]
				for xx := 0; xx < outW; xx++ {
					k := hc.k[xx*hc.ksize:]
					for c := range acc {
						acc[c] = 1 << hc.precision >> 1
					}
					for x := 0; x < hc.count[xx]; x++ {
						p := in[(x+hc.start[xx])*channels:]
						for c := range acc {
							acc[c] += int32(p[c]) * k[x]
						}
					}
					for c, v := range acc {
						out[xx*channels+c] = clip8(v, hc.precision)
					}
				}
			}
		})
		src, srcH, rowOff = tmp, last-first, first
		if !needV {
			return tmp, nil
		}
	}
	_ = srcH
	rowLen := outW * channels
	out := make([]uint8, outH*rowLen)
	parallelRows(outH, func(lo, hi int) {
		acc := make([]int32, rowLen)
		for yy := lo; yy < hi; yy++ {
			k := vert.k[yy*vert.ksize:]
			for i := range acc {
				acc[i] = 1 << vert.precision >> 1
			}
			for y := 0; y < vert.count[yy]; y++ {
				row := src[(y+vert.start[yy]-rowOff)*rowLen : (y+vert.start[yy]-rowOff+1)*rowLen]
				ky := k[y]
				for i, v := range row {
					acc[i] += int32(v) * ky
				}
			}
			dst := out[yy*rowLen : (yy+1)*rowLen]
			for i, v := range acc {
				dst[i] = clip8(v, vert.precision)
			}
		}
	})
	return out, nil
}

// Resize resizes an RGB image with Pillow's bilinear filter.
func (m *RGB) Resize(outW, outH int) (*RGB, error) { return m.ResizeWith(outW, outH, PIL) }

// ResizeWith resizes an RGB image with the given filter's arithmetic.
func (m *RGB) ResizeWith(outW, outH int, filter Filter) (*RGB, error) {
	pix, err := ResizeBilinear(m.Pix, m.W, m.H, 3, outW, outH, filter)
	if err != nil {
		return nil, err
	}
	return &RGB{Pix: pix, W: outW, H: outH}, nil
}

// parallelRows splits [0, n) across the cores.
func parallelRows(n int, fn func(lo, hi int)) {
	workers := min(runtime.GOMAXPROCS(0), n)
	if workers <= 1 || n < 16 {
		fn(0, n)
		return
	}
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		lo, hi := n*w/workers, n*(w+1)/workers
		wg.Add(1)
		go func() {
			defer wg.Done()
			fn(lo, hi)
		}()
	}
	wg.Wait()
}
