package backbone

import (
	"math"

	"github.com/gsam-go/gsam/cpu"
	"github.com/gsam-go/gsam/nn"
	"gorgonia.org/tensor"
)

// SwinLayer is one Swin block: LayerNorm, (shifted) window attention with
// relative position bias, residual; LayerNorm, GELU MLP, residual.
type SwinLayer struct {
	LayernormBefore nn.LayerNorm  `gsam:"layernorm_before"`
	Attention       SwinAttention `gsam:"attention"`
	LayernormAfter  nn.LayerNorm  `gsam:"layernorm_after"`
	Intermediate    swinDense     `gsam:"intermediate"`
	Output          swinDense     `gsam:"output"`

	// WindowSize and ShiftSize stay fixed whatever the input size: the
	// backbone runs HF's blocks with always_partition=True, so small maps
	// are padded up to one window and still shifted.
	WindowSize, ShiftSize int
}

type swinDense struct {
	Dense nn.Linear `gsam:"dense"`
}

// SwinAttention is the windowed multi-head self-attention.
type SwinAttention struct {
	Self   SwinSelfAttention `gsam:"self"`
	Output swinDense         `gsam:"output"`
}

// SwinSelfAttention holds the projections and the relative position bias
// table [(2w-1)², heads].
type SwinSelfAttention struct {
	Query                     nn.Linear     `gsam:"query"`
	Key                       nn.Linear     `gsam:"key"`
	Value                     nn.Linear     `gsam:"value"`
	RelativePositionBiasTable *tensor.Dense `gsam:"relative_position_bias_table"`
	Heads                     int
}

func newSwinLayer(dim, heads, window, shift, hidden int, qkvBias bool, eps float32) SwinLayer {
	return SwinLayer{
		LayernormBefore: nn.NewLayerNorm(dim, eps),
		Attention: SwinAttention{
			Self: SwinSelfAttention{
				Query:                     nn.NewLinear(dim, dim, qkvBias),
				Key:                       nn.NewLinear(dim, dim, qkvBias),
				Value:                     nn.NewLinear(dim, dim, qkvBias),
				RelativePositionBiasTable: nn.New((2*window-1)*(2*window-1), heads),
				Heads:                     heads,
			},
			Output: swinDense{nn.NewLinear(dim, dim, true)},
		},
		LayernormAfter: nn.NewLayerNorm(dim, eps),
		Intermediate:   swinDense{nn.NewLinear(dim, hidden, true)},
		Output:         swinDense{nn.NewLinear(hidden, dim, true)},
		WindowSize:     window,
		ShiftSize:      shift,
	}
}

// RelativePositionBias gathers the table into [heads, N, N] (N = window²),
// the bias added to every window's attention scores.
func (a *SwinSelfAttention) RelativePositionBias(window int) []float32 {
	N := window * window
	H := a.Heads
	table := nn.Data(a.RelativePositionBiasTable)
	out := make([]float32, H*N*N)
	for i := 0; i < N; i++ {
		yi, xi := i/window, i%window
		for j := 0; j < N; j++ {
			yj, xj := j/window, j%window
			idx := (yi-yj+window-1)*(2*window-1) + (xi - xj + window - 1)
			for h := 0; h < H; h++ {
				out[(h*N+i)*N+j] = table[idx*H+h]
			}
		}
	}
	return out
}

// swinScratch holds the buffers one Forward reuses across blocks, so the
// large activations are allocated once per call rather than per block.
type swinScratch struct {
	pos                               []int32
	windows, qkv, ctx, normed, hidden []float32
}

// grow returns buf resized to n, reallocating only when it is too small.
func grow[T any](buf *[]T, n int) []T {
	if cap(*buf) < n {
		*buf = make([]T, n)
	}
	*buf = (*buf)[:n]
	return *buf
}

// forward updates x [B, h*w, C] in place; sc may be nil.
func (l *SwinLayer) forward(x []float32, B, h, w int, sc *swinScratch) {
	if sc == nil {
		sc = new(swinScratch)
	}
	C := l.LayernormBefore.Weight.Shape()[0]
	win, shift := l.WindowSize, l.ShiftSize
	N := win * win
	hp, wp := (h+win-1)/win*win, (w+win-1)/win*win
	nwy, nwx := hp/win, wp/win
	nW := B * nwy * nwx
	rows := nW * N

	// pos maps window token r to its token in x, or -1 for padding: windows
	// are cut from the image rolled by -shift and padded bottom/right.
	pos := grow(&sc.pos, rows)
	cpu.ParallelFor(nW, func(lo, hi int) {
		for wi := lo; wi < hi; wi++ {
			b, wy, wx := wi/(nwy*nwx), wi/nwx%nwy, wi%nwx
			for t := 0; t < N; t++ {
				y := (wy*win + t/win + shift) % hp
				xx := (wx*win + t%win + shift) % wp
				p := int32(-1)
				if y < h && xx < w {
					p = int32((b*h+y)*w + xx)
				}
				pos[wi*N+t] = p
			}
		}
	})

	// LayerNorm before, gathered straight into windows; padding stays zero
	// (the reference pads after the norm).
	windows := grow(&sc.windows, rows*C)
	lw, lb := nn.Data(l.LayernormBefore.Weight), nn.Data(l.LayernormBefore.Bias)
	cpu.ParallelFor(rows, func(lo, hi int) {
		for r := lo; r < hi; r++ {
			dst := windows[r*C : (r+1)*C]
			if p := pos[r]; p >= 0 {
				cpu.LayerNorm(dst, x[int(p)*C:int(p+1)*C], lw, lb, l.LayernormBefore.Eps)
			} else {
				clear(dst)
			}
		}
	})

	ctx := l.Attention.Self.attend(sc, windows, nW, win, C, shift, hp, wp, nwy, nwx)
	out := windows // reuse: the projected attention output
	proj := &l.Attention.Output.Dense
	cpu.Sgemm(false, true, rows, C, C, 1, ctx, C, nn.Data(proj.Weight), C, 0, out, C)

	// Reverse the windows and the roll, crop the padding, add the
	// projection's bias and the residual.
	pb := nn.Data(proj.Bias)
	cpu.ParallelFor(rows, func(lo, hi int) {
		for r := lo; r < hi; r++ {
			if p := pos[r]; p >= 0 {
				dst := x[int(p)*C : int(p+1)*C]
				src := out[r*C : (r+1)*C]
				for i := range dst {
					dst[i] += src[i] + pb[i]
				}
			}
		}
	})

	// MLP with residual; biases are added in the passes that follow each
	// GEMM (GELU, residual) rather than copied in before it.
	n := B * h * w
	normed := grow(&sc.normed, n*C)
	layerNormRows(normed, x, nn.Data(l.LayernormAfter.Weight), nn.Data(l.LayernormAfter.Bias), l.LayernormAfter.Eps)
	fc1, fc2 := &l.Intermediate.Dense, &l.Output.Dense
	hid := fc1.Out()
	hidden := grow(&sc.hidden, n*hid)
	cpu.Sgemm(false, true, n, hid, C, 1, normed, C, nn.Data(fc1.Weight), C, 0, hidden, hid)
	b1 := nn.Data(fc1.Bias)
	cpu.ParallelFor(n, func(lo, hi int) {
		for r := lo; r < hi; r++ {
			row := hidden[r*hid : (r+1)*hid]
			for i := range row {
				row[i] += b1[i]
			}
			cpu.GELU(row)
		}
	})
	cpu.Sgemm(false, true, n, C, hid, 1, hidden, hid, nn.Data(fc2.Weight), hid, 0, normed, C)
	b2 := nn.Data(fc2.Bias)
	cpu.ParallelFor(n, func(lo, hi int) {
		for r := lo; r < hi; r++ {
			dst, src := x[r*C:(r+1)*C], normed[r*C:(r+1)*C]
			for i := range dst {
				dst[i] += src[i] + b2[i]
			}
		}
	})
}

// attend runs multi-head attention inside each of the nW windows of
// windows [nW*N, C] and returns the merged heads [nW*N, C]. With a shift,
// tokens from different regions of the rolled image get -100 (the
// reference's mask value) so they do not attend to each other.
func (a *SwinSelfAttention) attend(sc *swinScratch, windows []float32, nW, win, C, shift, hp, wp, nwy, nwx int) []float32 {
	N := win * win
	rows := nW * N
	H := a.Heads
	d := C / H
	// q, k, v side by side in one [rows, 3C] buffer.
	qkv := grow(&sc.qkv, rows*3*C)
	var bias3 []float32 // q, k, v biases side by side, nil without qkv_bias
	for i, lin := range []*nn.Linear{&a.Query, &a.Key, &a.Value} {
		cpu.Sgemm(false, true, rows, C, C, 1, windows, C, nn.Data(lin.Weight), C, 0, qkv[i*C:], 3*C)
		if lin.Bias != nil {
			if bias3 == nil {
				bias3 = make([]float32, 3*C)
			}
			copy(bias3[i*C:], nn.Data(lin.Bias))
		}
	}
	if bias3 != nil {
		cpu.ParallelFor(rows, func(lo, hi int) {
			for r := lo; r < hi; r++ {
				row := qkv[r*3*C : (r+1)*3*C]
				for i := range row {
					row[i] += bias3[i]
				}
			}
		})
	}
	rpb := a.RelativePositionBias(win)
	ctx := grow(&sc.ctx, rows*C)
	scale := float32(1 / math.Sqrt(float64(d)))

	// region returns the shift-mask region (0..2) of a padded coordinate,
	// as HF's slices (0,-win), (-win,-shift), (-shift,None).
	region := func(v, size int) int {
		switch {
		case v < size-win:
			return 0
		case v < size-shift:
			return 1
		default:
			return 2
		}
	}
	cpu.ParallelFor(nW, func(lo, hi int) {
		scores := make([]float32, N*N)
		var ids []int
		if shift > 0 {
			ids = make([]int, N)
		}
		for wi := lo; wi < hi; wi++ {
			if shift > 0 {
				wy, wx := wi/nwx%nwy, wi%nwx
				for t := 0; t < N; t++ {
					ids[t] = region(wy*win+t/win, hp)*3 + region(wx*win+t%win, wp)
				}
			}
			base := wi * N * 3 * C
			for hh := 0; hh < H; hh++ {
				q := qkv[base+hh*d:]
				k := qkv[base+C+hh*d:]
				v := qkv[base+2*C+hh*d:]
				cpu.Sgemm(false, true, N, N, d, scale, q, 3*C, k, 3*C, 0, scores, N)
				hb := rpb[hh*N*N : (hh+1)*N*N]
				for i := range scores {
					scores[i] += hb[i]
				}
				if shift > 0 {
					for i := 0; i < N; i++ {
						row := scores[i*N : (i+1)*N]
						for j := range row {
							if ids[i] != ids[j] {
								row[j] -= 100
							}
						}
					}
				}
				cpu.SoftmaxRows(scores, N)
				cpu.Sgemm(false, false, N, d, N, 1, scores, N, v, 3*C, 0, ctx[wi*N*C+hh*d:], C)
			}
		}
	})
	return ctx
}
