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
	var out []float32
	return a.relativePositionBias(&out, window)
}

// relativePositionBias is RelativePositionBias into *buf (grown as needed).
func (a *SwinSelfAttention) relativePositionBias(buf *[]float32, window int) []float32 {
	N := window * window
	H := a.Heads
	table := nn.Data(a.RelativePositionBiasTable)
	out := cpu.Grow(buf, H*N*N)
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

// swinScratch holds the buffers one Forward reuses across blocks (and,
// through Swin's free list, later calls), so the activations are not
// allocated per block or per call.
type swinScratch struct {
	pos                               []int32
	windows, qkv, ctx, normed, hidden []float32
	patches, cat, stageNorm, rpb      []float32
	tokens                            [2][]float32 // the stages' tokens, ping-pong
	attn                              cpu.FreeList[windowScratch]
}

// windowScratch is one attention worker's score block and shift-mask
// regions.
type windowScratch struct {
	scores []float32
	ids    []int
}

// swinChunkRows is how many tokens a block processes at a time: the
// attention a group of whole windows at a time, the MLP a group of rows.
// Only a chunk's q/k/v and 4× MLP activation exist at once (about 30 MB of
// scratch instead of 260 MB at 800×1333, where the first stage has 68k
// tokens), and a chunk's GEMMs are still large enough for full speed. A
// variable only so that the tests can cut the fixtures' small maps into
// several chunks.
var swinChunkRows = 8192

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
	pos := cpu.Grow(&sc.pos, rows)
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

	// Attention, a group of windows at a time. Every token lies in exactly
	// one window, so a group reads (through the norm) and then updates only
	// its own tokens of x and the groups can run one after another in place.
	a := &l.Attention.Self
	rpb := a.relativePositionBias(&sc.rpb, win)
	bias3 := a.qkvBias(C)
	per := max(1, swinChunkRows/N)
	chunk := min(nW, per) * N
	windows := cpu.Grow(&sc.windows, chunk*C)
	lw, lb := nn.Data(l.LayernormBefore.Weight), nn.Data(l.LayernormBefore.Bias)
	proj := &l.Attention.Output.Dense
	pb := nn.Data(proj.Bias)
	for w0 := 0; w0 < nW; w0 += per {
		nw := min(per, nW-w0)
		r0, nr := w0*N, nw*N
		cpos := pos[r0 : r0+nr]
		wb := windows[:nr*C]
		// LayerNorm before, gathered straight into windows; padding stays
		// zero (the reference pads after the norm).
		cpu.ParallelFor(nr, func(lo, hi int) {
			for r := lo; r < hi; r++ {
				dst := wb[r*C : (r+1)*C]
				if p := cpos[r]; p >= 0 {
					cpu.LayerNorm(dst, x[int(p)*C:int(p+1)*C], lw, lb, l.LayernormBefore.Eps)
				} else {
					clear(dst)
				}
			}
		})

		ctx := a.attend(sc, wb, rpb, bias3, w0, nw, win, C, shift, hp, wp, nwy, nwx)
		out := wb // reuse: the projected attention output
		cpu.Sgemm(false, true, nr, C, C, 1, ctx, C, nn.Data(proj.Weight), C, 0, out, C)

		// Reverse the windows and the roll, crop the padding, add the
		// projection's bias and the residual.
		cpu.ParallelFor(nr, func(lo, hi int) {
			for r := lo; r < hi; r++ {
				if p := cpos[r]; p >= 0 {
					dst := x[int(p)*C : int(p+1)*C]
					src := out[r*C : (r+1)*C]
					for i := range dst {
						dst[i] += src[i] + pb[i]
					}
				}
			}
		})
	}

	// MLP with residual, a block of rows at a time; the biases ride in the
	// products, fc2 applies GELU as it packs the hidden rows (cpu.SgemmAct)
	// and accumulates straight onto x.
	n := B * h * w
	fc1, fc2 := &l.Intermediate.Dense, &l.Output.Dense
	hid := fc1.Out()
	bn := min(n, swinChunkRows)
	normed := cpu.Grow(&sc.normed, bn*C)
	hidden := cpu.Grow(&sc.hidden, bn*hid)
	b1, b2 := nn.Data(fc1.Bias), nn.Data(fc2.Bias)
	for r0 := 0; r0 < n; r0 += bn {
		m := min(bn, n-r0)
		xb := x[r0*C : (r0+m)*C]
		nb, hb := normed[:m*C], hidden[:m*hid]
		layerNormRows(nb, xb, nn.Data(l.LayernormAfter.Weight), nn.Data(l.LayernormAfter.Bias), l.LayernormAfter.Eps)
		cpu.SgemmBias(false, true, m, hid, C, nb, C, nn.Data(fc1.Weight), C, 0, b1, hb, hid)
		cpu.SgemmAct(cpu.ActGELU, false, true, m, C, hid, hb, hid, nn.Data(fc2.Weight), hid, 1, b2, xb, C)
	}
}

// qkvBias returns the q, k and v biases side by side, nil without qkv_bias.
func (a *SwinSelfAttention) qkvBias(C int) []float32 {
	var bias3 []float32
	for i, lin := range []*nn.Linear{&a.Query, &a.Key, &a.Value} {
		if lin.Bias != nil {
			if bias3 == nil {
				bias3 = make([]float32, 3*C)
			}
			copy(bias3[i*C:], nn.Data(lin.Bias))
		}
	}
	return bias3
}

// attend runs multi-head attention inside the nw windows w0, w0+1, … whose
// normed tokens are windows [nw*N, C], and returns the merged heads
// [nw*N, C]. rpb is RelativePositionBias and bias3 qkvBias. With a shift,
// tokens from different regions of the rolled image get -100 (the
// reference's mask value) so they do not attend to each other.
func (a *SwinSelfAttention) attend(sc *swinScratch, windows, rpb, bias3 []float32, w0, nw, win, C, shift, hp, wp, nwy, nwx int) []float32 {
	N := win * win
	rows := nw * N
	H := a.Heads
	d := C / H
	// q, k, v side by side in one [rows, 3C] buffer.
	qkv := cpu.Grow(&sc.qkv, rows*3*C)
	for i, lin := range []*nn.Linear{&a.Query, &a.Key, &a.Value} {
		if bias3 != nil {
			cpu.SgemmBias(false, true, rows, C, C, windows, C, nn.Data(lin.Weight), C, 0, bias3[i*C:(i+1)*C], qkv[i*C:], 3*C)
		} else {
			cpu.Sgemm(false, true, rows, C, C, 1, windows, C, nn.Data(lin.Weight), C, 0, qkv[i*C:], 3*C)
		}
	}
	ctx := cpu.Grow(&sc.ctx, rows*C)
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
	cpu.ParallelFor(nw, func(lo, hi int) {
		ws := sc.attn.Get()
		defer sc.attn.Put(ws)
		scores := cpu.Grow(&ws.scores, N*N)
		var ids []int
		if shift > 0 {
			ids = cpu.Grow(&ws.ids, N)
		}
		for wi := lo; wi < hi; wi++ {
			masked := false // a window inside one region needs no mask
			if shift > 0 {
				wy, wx := (w0+wi)/nwx%nwy, (w0+wi)%nwx
				for t := 0; t < N; t++ {
					ids[t] = region(wy*win+t/win, hp)*3 + region(wx*win+t%win, wp)
					masked = masked || ids[t] != ids[0]
				}
			}
			base := wi * N * 3 * C
			for hh := 0; hh < H; hh++ {
				q := qkv[base+hh*d:]
				k := qkv[base+C+hh*d:]
				v := qkv[base+2*C+hh*d:]
				cpu.Sgemm(false, true, N, N, d, scale, q, 3*C, k, 3*C, 0, scores, N)
				cpu.Add(scores, rpb[hh*N*N:(hh+1)*N*N])
				if masked {
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
