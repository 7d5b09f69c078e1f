package sam

import (
	"context"
	"fmt"
	"math"
	"sync/atomic"

	"github.com/gsam-go/gsam/cpu"
	"github.com/gsam-go/gsam/nn"
	"gorgonia.org/tensor"
)

// VisionEncoder is SAM's ViT image encoder (SamVisionEncoder): 16×16 patches,
// an absolute position embedding, transformer blocks with windowed or global
// attention and decomposed relative positions, and a convolutional neck.
type VisionEncoder struct {
	PatchEmbed PatchEmbeddings `gsam:"patch_embed"`
	PosEmbed   *tensor.Dense   `gsam:"pos_embed"` // [1, S/16, S/16, C]; nil without use_abs_pos
	Layers     []VisionLayer   `gsam:"layers"`
	Neck       VisionNeck      `gsam:"neck"`
	Config     VisionConfig

	work *cpu.FreeList[visionWork] // scratch reused across calls
}

// PatchEmbeddings is the patch_size-strided convolution.
type PatchEmbeddings struct {
	Projection nn.Conv2d `gsam:"projection"`
}

// tokens embeds one image's pixels [Cin, H, W] as tokens [(H/k)*(W/k), C]
// for the k×k, stride-k convolution: each patch's Cin×k×k pixels are
// gathered (rows of k contiguous values, over both cores) and one GEMM
// gives every token, channels-last.
func (p *PatchEmbeddings) tokens(pix []float32, Cin, H, W int, wk *visionWork) []float32 {
	c := &p.Projection
	ws := c.Weight.Shape()
	C, k := ws[0], ws[2]
	if ws[1] != Cin || ws[3] != k || c.Stride != k || c.Padding != 0 || c.Groups > 1 {
		t := c.Forward(nn.FromData(pix, 1, Cin, H, W))
		oh, ow := c.OutSize(H, W)
		return transposeTiled(nn.Data(t), nil, C, oh*ow, nil)
	}
	h, w := H/k, W/k
	N, K := h*w, Cin*k*k
	col := cpu.Grow(&wk.col, N*K)
	cpu.ParallelFor(N, func(lo, hi int) {
		for t := lo; t < hi; t++ {
			py, px := t/w, t%w
			dst := col[t*K : (t+1)*K]
			for ci := 0; ci < Cin; ci++ {
				for ky := 0; ky < k; ky++ {
					src := pix[(ci*H+py*k+ky)*W+px*k:][:k]
					copy(dst[(ci*k+ky)*k:(ci*k+ky+1)*k], src)
				}
			}
		}
	})
	x := cpu.Grow(&wk.x, N*C)
	beta := float32(0)
	if c.Bias != nil {
		bias := nn.Data(c.Bias)
		for t := 0; t < N; t++ {
			copy(x[t*C:(t+1)*C], bias)
		}
		beta = 1
	}
	cpu.Sgemm(false, true, N, C, K, 1, col, K, nn.Data(c.Weight), K, beta, x, C)
	return x
}

// VisionLayer is one pre-norm ViT block; WindowSize 0 means global attention.
type VisionLayer struct {
	LayerNorm1 nn.LayerNorm    `gsam:"layer_norm1"`
	Attn       VisionAttention `gsam:"attn"`
	LayerNorm2 nn.LayerNorm    `gsam:"layer_norm2"`
	MLP        MLPBlock        `gsam:"mlp"`
	WindowSize int
}

// VisionAttention is multi-head self-attention with fused qkv and decomposed
// relative position embeddings along height and width.
type VisionAttention struct {
	QKV     nn.Linear     `gsam:"qkv"`
	Proj    nn.Linear     `gsam:"proj"`
	RelPosH *tensor.Dense `gsam:"rel_pos_h"` // [2*size-1, head_dim]
	RelPosW *tensor.Dense `gsam:"rel_pos_w"`
	Heads   int

	// The relative position tables for wh×ww windows, from prepare.
	relH, relW []float32
	relSize    [2]int
}

// prepare computes the relative position tables for wh×ww windows once;
// call it again after changing the weights.
func (a *VisionAttention) prepare(wh, ww int) {
	if a.RelPosH == nil {
		return
	}
	a.relH, a.relW = getRelPos(wh, wh, a.RelPosH), getRelPos(ww, ww, a.RelPosW)
	a.relSize = [2]int{wh, ww}
}

// MLPBlock is lin1 → activation → lin2 (SamMLPBlock).
type MLPBlock struct {
	Lin1 nn.Linear `gsam:"lin1"`
	Lin2 nn.Linear `gsam:"lin2"`
	Act  string
}

// VisionNeck maps the ViT width to output_channels: 1×1 conv, LayerNorm2d,
// 3×3 conv, LayerNorm2d (no conv biases).
type VisionNeck struct {
	Conv1      nn.Conv2d      `gsam:"conv1"`
	LayerNorm1 nn.LayerNorm2d `gsam:"layer_norm1"`
	Conv2      nn.Conv2d      `gsam:"conv2"`
	LayerNorm2 nn.LayerNorm2d `gsam:"layer_norm2"`
}

// NewVisionEncoder allocates every weight with its shape from the config.
func NewVisionEncoder(c VisionConfig) VisionEncoder {
	C, grid := c.HiddenSize, c.ImageSize/c.PatchSize
	eps := float32(c.LayerNormEps)
	e := VisionEncoder{
		PatchEmbed: PatchEmbeddings{Projection: nn.NewConv2d(c.NumChannels, C, c.PatchSize, c.PatchSize, 0, 1, true)},
		Neck: VisionNeck{
			Conv1:      nn.NewConv2d(C, c.OutputChannels, 1, 1, 0, 1, false),
			LayerNorm1: nn.NewLayerNorm2d(c.OutputChannels, 1e-6),
			Conv2:      nn.NewConv2d(c.OutputChannels, c.OutputChannels, 3, 1, 1, 1, false),
			LayerNorm2: nn.NewLayerNorm2d(c.OutputChannels, 1e-6),
		},
		Config: c,
		work:   &cpu.FreeList[visionWork]{},
	}
	if c.UseAbsPos {
		e.PosEmbed = nn.New(1, grid, grid, C)
	}
	headDim := C / c.NumAttentionHeads
	for i := 0; i < c.NumHiddenLayers; i++ {
		ws := c.WindowSize
		for _, g := range c.GlobalAttnIndexes {
			if g == i {
				ws = 0
			}
		}
		size := ws
		if ws == 0 {
			size = grid
		}
		l := VisionLayer{
			LayerNorm1: nn.NewLayerNorm(C, eps),
			Attn: VisionAttention{
				QKV: nn.NewLinear(C, 3*C, c.QKVBias), Proj: nn.NewLinear(C, C, true),
				Heads: c.NumAttentionHeads,
			},
			LayerNorm2: nn.NewLayerNorm(C, eps),
			MLP:        MLPBlock{Lin1: nn.NewLinear(C, c.MLPDim, true), Lin2: nn.NewLinear(c.MLPDim, C, true), Act: c.HiddenAct},
			WindowSize: ws,
		}
		if c.UseRelPos {
			l.Attn.RelPosH = nn.New(2*size-1, headDim)
			l.Attn.RelPosW = nn.New(2*size-1, headDim)
		}
		e.Layers = append(e.Layers, l)
	}
	return e
}

// tracer receives intermediate activations under the reference's module
// names (tests compare them with the fixture's act.* tensors); nil skips.
type tracer func(name string, t *tensor.Dense)

func (tr tracer) emit(name string, t func() *tensor.Dense) {
	if tr != nil {
		tr(name, t())
	}
}

// Forward maps pixel values [B, 3, S, S] to image embeddings [B, out, S/16, S/16].
// Forward checks ctx between layers, so a cancelled call returns within
// one layer's time.
func (e *VisionEncoder) Forward(ctx context.Context, pixels *tensor.Dense) (*tensor.Dense, error) {
	return e.forward(ctx, pixels, nil)
}

// ForwardTrace is Forward reporting each layer's output to trace (may be
// nil) under the reference's module names ("vision_encoder.layers.3",
// "vision_encoder.neck.conv1", …): what gsam verify compares with a
// reference dump's act.vision.* tensors.
func (e *VisionEncoder) ForwardTrace(ctx context.Context, pixels *tensor.Dense, trace func(name string, t *tensor.Dense)) (*tensor.Dense, error) {
	return e.forward(ctx, pixels, trace)
}

func (e *VisionEncoder) forward(ctx context.Context, pixels *tensor.Dense, tr tracer) (*tensor.Dense, error) {
	s := nn.Shape(pixels)
	c := e.Config
	if len(s) != 4 || s[1] != c.NumChannels || s[2]%c.PatchSize != 0 || s[3]%c.PatchSize != 0 || s[2] == 0 || s[3] == 0 {
		return nil, fmt.Errorf("sam: pixel values must be [B, %d, H, W] with H, W multiples of %d; got %v", c.NumChannels, c.PatchSize, s)
	}
	pd := nn.Data(pixels)
	var bad atomic.Bool
	cpu.ParallelFor((len(pd)+(1<<16)-1)>>16, func(lo, hi int) {
		for _, v := range pd[lo<<16 : min(hi<<16, len(pd))] {
			if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
				bad.Store(true)
				return
			}
		}
	})
	if bad.Load() {
		return nil, fmt.Errorf("sam: pixel values contain NaN or Inf")
	}
	B, h, w, C := s[0], s[2]/c.PatchSize, s[3]/c.PatchSize, c.HiddenSize
	out := make([]float32, 0, B*c.OutputChannels*h*w)
	for b := 0; b < B; b++ {
		// Tokens are kept channels-last, [h*w, C], as the reference's [B, h, w, C].
		// Scratch buffers for this image, reused by every layer and by
		// the next call.
		wk := e.work.Get()
		x := e.PatchEmbed.tokens(pd[b*s[1]*s[2]*s[3]:(b+1)*s[1]*s[2]*s[3]], s[1], s[2], s[3], wk)
		tr.emit("vision_encoder.patch_embed", func() *tensor.Dense { return nn.FromData(x, 1, h, w, C) })
		if e.PosEmbed != nil {
			pos := nn.Data(e.PosEmbed)
			if ps := e.PosEmbed.Shape(); ps[1] != h || ps[2] != w {
				pos = resizeChannelsLast(pos, ps[1], ps[2], C, h, w)
			}
			cpu.Add(x, pos)
		}
		for i := range e.Layers {
			if err := ctx.Err(); err != nil {
				e.work.Put(wk)
				return nil, err
			}
			e.Layers[i].forward(x, h, w, wk)
			tr.emit(fmt.Sprintf("vision_encoder.layers.%d", i), func() *tensor.Dense {
				return nn.FromData(nn.Clone(nn.FromData(x, len(x))).Float32s(), 1, h, w, C)
			})
		}
		out = append(out, e.Neck.forward(x, h, w, tr, wk)...)
		e.work.Put(wk)
	}
	return nn.FromData(out, B, c.OutputChannels, h, w), nil
}

// visionWork holds one Forward's scratch buffers, grown as needed and
// reused by every layer and, through the encoder's free list, by later
// calls; each running Forward has its own, so concurrent calls share
// nothing.
type visionWork struct {
	x, col, y, qkv, win, o, hid []float32
	neck                        [4][]float32
	attn                        cpu.FreeList[attnScratch] // one per attention worker
	keys, values                []cpu.PackedB             // per head, when its rows come in several blocks
}

// attnBlockTokens is the most query rows an attention task takes at once
// (a 256×4096 score block is 4 MB); tests lower it so that the fixture's
// 8×8 tokens take the several-block path.
var attnBlockTokens = 256

// attnScratch is an attention worker's score block and row buffers.
type attnScratch struct {
	scores, inv, rh, rw []float32
}

// forward updates the tokens x [h*w, C] in place. The residual adds are
// folded into the products (beta = 1 into x) and the output biases into
// the LayerNorm passes.
func (l *VisionLayer) forward(x []float32, h, w int, wk *visionWork) {
	C := l.LayerNorm1.Weight.Shape()[0]
	N := h * w
	y := cpu.Grow(&wk.y, N*C)
	normRows(y, x, &l.LayerNorm1, &l.Attn.Proj)
	l.Attn.forward(x, y, h, w, l.WindowSize, wk)
	normRows(y, x, &l.LayerNorm2, &l.MLP.Lin2)
	l.MLP.forwardResidual(x, y, N, wk)
}

// normRows writes LayerNorm(x) into y row by row over both cores, and adds
// the bias of next (the layer whose output x will accumulate) to x.
func normRows(y, x []float32, ln *nn.LayerNorm, next *nn.Linear) {
	lw, lb := nn.Data(ln.Weight), nn.Data(ln.Bias)
	C := len(lw)
	var bias []float32
	if next.Bias != nil {
		bias = nn.Data(next.Bias)
	}
	cpu.ParallelFor(len(x)/C, func(lo, hi int) {
		for r := lo; r < hi; r++ {
			xr := x[r*C : (r+1)*C]
			cpu.LayerNorm(y[r*C:(r+1)*C], xr, lw, lb, ln.Eps)
			if bias != nil {
				for i, b := range bias {
					xr[i] += b
				}
			}
		}
	})
}

// forwardResidual adds lin2(act(lin1(y))) to x, less lin2's bias (normRows
// added it): lin1's bias rides in its product, lin2 applies the activation
// as it packs the hidden rows (cpu.SgemmAct) and accumulates straight into
// x, so the wide hidden layer is written once and read once.
func (m *MLPBlock) forwardResidual(x, y []float32, rows int, wk *visionWork) {
	in, hidden, out := m.Lin1.In(), m.Lin1.Out(), m.Lin2.Out()
	hid := cpu.Grow(&wk.hid, rows*hidden)
	var b1 []float32
	if m.Lin1.Bias != nil {
		b1 = nn.Data(m.Lin1.Bias)
	}
	cpu.SgemmAct(cpu.ActIdentity, false, true, rows, hidden, in, y, in, nn.Data(m.Lin1.Weight), in, 0, b1, hid, hidden)
	cpu.SgemmAct(kernelActivation(m.Act), false, true, rows, out, hidden, hid, hidden, nn.Data(m.Lin2.Weight), hidden, 1, nil, x, out)
}

// forward applies the MLP to rows×in values.
func (m *MLPBlock) forward(x []float32, rows int) []float32 {
	hid := make([]float32, rows*m.Lin1.Out())
	m.Lin1.ForwardSlice(hid, x, rows)
	activate(m.Act, hid)
	out := make([]float32, rows*m.Lin2.Out())
	m.Lin2.ForwardSlice(out, hid, rows)
	return out
}

// layerNormRows normalises the rows of x (in parallel, cpu.LayerNormRows).
func layerNormRows(n *nn.LayerNorm, x []float32) { n.ForwardInPlace(x) }

// forward runs the neck on tokens [h*w, C] and returns [out, h, w]. It
// works channels-last, where LayerNorm2d is a LayerNorm of contiguous rows
// and the 3×3 convolution an im2col of contiguous pixel rows, both over
// every core; the channels-first layouts appear only for tracing and in the
// result.
func (n *VisionNeck) forward(x []float32, h, w int, tr tracer, wk *visionWork) []float32 {
	ws := n.Conv1.Weight.Shape()
	O, C, N := ws[0], ws[1], h*w
	c2 := &n.Conv2
	w2s := c2.Weight.Shape()
	if w2s[1] != O || w2s[2] != 3 || w2s[3] != 3 || c2.Stride != 1 || c2.Padding != 1 || c2.Groups > 1 {
		return n.forwardChannelsFirst(x, h, w, tr)
	}
	O2 := w2s[0]
	emit := func(name string, t []float32, ch int) {
		tr.emit(name, func() *tensor.Dense { return nn.FromData(transposeTiled(t, nil, N, ch, nil), 1, ch, h, w) })
	}
	// The 1×1 convolution is a product with the tokens.
	t := cpu.Grow(&wk.neck[0], N*O)
	cpu.Sgemm(false, true, N, O, C, 1, x, C, nn.Data(n.Conv1.Weight), C, 0, t, O)
	emit("vision_encoder.neck.conv1", t, O)
	cpu.LayerNormRows(t, nn.Data(n.LayerNorm1.Weight), nn.Data(n.LayerNorm1.Bias), O, n.LayerNorm1.Eps)
	emit("vision_encoder.neck.layer_norm1", t, O)

	// 3×3, padding 1: col [N, (ky, kx, c)], weight [O2, (ky, kx, c)].
	wt := nn.Data(c2.Weight)
	wp := cpu.Grow(&wk.neck[1], O2*9*O)
	for o := 0; o < O2; o++ {
		for ci := 0; ci < O; ci++ {
			for k := 0; k < 9; k++ {
				wp[(o*9+k)*O+ci] = wt[(o*O+ci)*9+k]
			}
		}
	}
	col := cpu.Grow(&wk.neck[2], N*9*O)
	cpu.ParallelFor(N, func(lo, hi int) {
		for p := lo; p < hi; p++ {
			y, xx := p/w, p%w
			for k := 0; k < 9; k++ {
				sy, sx := y+k/3-1, xx+k%3-1
				dst := col[(p*9+k)*O : (p*9+k+1)*O]
				if sy < 0 || sy >= h || sx < 0 || sx >= w {
					clear(dst)
					continue
				}
				copy(dst, t[(sy*w+sx)*O:(sy*w+sx+1)*O])
			}
		}
	})
	u := cpu.Grow(&wk.neck[3], N*O2)
	if c2.Bias != nil {
		bias := nn.Data(c2.Bias)
		for p := 0; p < N; p++ {
			copy(u[p*O2:(p+1)*O2], bias)
		}
	} else {
		clear(u)
	}
	cpu.Sgemm(false, true, N, O2, 9*O, 1, col, 9*O, wp, 9*O, 1, u, O2)
	emit("vision_encoder.neck.conv2", u, O2)
	cpu.LayerNormRows(u, nn.Data(n.LayerNorm2.Weight), nn.Data(n.LayerNorm2.Bias), O2, n.LayerNorm2.Eps)
	emit("vision_encoder.neck.layer_norm2", u, O2)
	return transposeTiled(u, nil, N, O2, nil)
}

// forwardChannelsFirst is the neck for a second convolution other than
// SAM's 3×3, padding 1.
func (n *VisionNeck) forwardChannelsFirst(x []float32, h, w int, tr tracer) []float32 {
	ws := n.Conv1.Weight.Shape()
	O, C, N := ws[0], ws[1], h*w
	// The 1×1 convolution is a product with the tokens, landing channels-first.
	y := make([]float32, O*N)
	cpu.Sgemm(false, true, O, N, C, 1, nn.Data(n.Conv1.Weight), C, x, C, 0, y, N)
	t := nn.FromData(y, 1, O, h, w)
	tr.emit("vision_encoder.neck.conv1", func() *tensor.Dense { return t })
	t = n.LayerNorm1.Forward(t)
	tr.emit("vision_encoder.neck.layer_norm1", func() *tensor.Dense { return t })
	t = n.Conv2.Forward(t)
	tr.emit("vision_encoder.neck.conv2", func() *tensor.Dense { return t })
	t = n.LayerNorm2.Forward(t)
	tr.emit("vision_encoder.neck.layer_norm2", func() *tensor.Dense { return t })
	return nn.Data(t)
}

// forward attends within windows of ws×ws tokens (zero-padded to whole
// windows, as the reference pads after layer_norm1) or, when ws is 0, over the
// whole h×w grid, on the normalised tokens y [h*w, C], and adds
// proj(attention) without proj's bias to x [h*w, C]. y is overwritten.
// Heads are read from the fused qkv rows in place (leading dimension 3C)
// and written into [tokens, C] rows, so there are no per-head copies.
func (a *VisionAttention) forward(x, y []float32, h, w, ws int, wk *visionWork) {
	C := a.QKV.In()
	H := a.Heads
	D := C / H
	N := h * w
	qkv := cpu.Grow(&wk.qkv, N*3*C)
	cpu.Sgemm(false, true, N, 3*C, C, 1, y, C, nn.Data(a.QKV.Weight), C, 0, qkv, 3*C)
	var bias []float32
	if a.QKV.Bias != nil {
		bias = nn.Data(a.QKV.Bias)
	} else {
		bias = make([]float32, 3*C)
	}

	// Window geometry: gh×gw windows of wh×ww tokens each.
	wh, ww := ws, ws
	if ws == 0 {
		wh, ww = h, w
	}
	gh, gw := (h+wh-1)/wh, (w+ww-1)/ww
	nWin, L := gh*gw, wh*ww
	token := func(win, p int) int { // token index of window position p, -1 if padding
		yy := (win/gw)*wh + p/ww
		xx := (win%gw)*ww + p%ww
		if yy >= h || xx >= w {
			return -1
		}
		return yy*w + xx
	}
	// src holds [nWin*L, 3C] rows of q|k|v with their bias; o gets
	// [nWin*L, C] rows of attention output.
	var src, o []float32
	global := nWin == 1 && L == N
	if global {
		cpu.ParallelFor(N, func(lo, hi int) {
			for t := lo; t < hi; t++ {
				row := qkv[t*3*C : (t+1)*3*C]
				for i, b := range bias {
					row[i] += b
				}
			}
		})
		src, o = qkv, y
	} else {
		// A padded token is zero before qkv, so it carries qkv's bias.
		src = cpu.Grow(&wk.win, nWin*L*3*C)
		o = cpu.Grow(&wk.o, nWin*L*C)
		cpu.ParallelFor(nWin*L, func(lo, hi int) {
			for wp := lo; wp < hi; wp++ {
				dst := src[wp*3*C : (wp+1)*3*C]
				t := token(wp/L, wp%L)
				if t < 0 {
					copy(dst, bias)
					continue
				}
				row := qkv[t*3*C : (t+1)*3*C]
				for i, b := range bias {
					dst[i] = row[i] + b
				}
			}
		})
	}

	var relH, relW []float32 // [wh, wh, D], [ww, ww, D]
	if a.RelPosH != nil {
		if a.relH != nil && a.relSize == [2]int{wh, ww} {
			relH, relW = a.relH, a.relW
		} else {
			relH, relW = getRelPos(wh, wh, a.RelPosH), getRelPos(ww, ww, a.RelPosW)
		}
	}

	// Tasks: (window, head, block of query rows); a block keeps the score
	// matrix in cache and bounds memory for global attention.
	block := L
	if L > attnBlockTokens {
		block = max(attnBlockTokens/ww, 1) * ww // whole rows of the grid
	}
	nBlk := (L + block - 1) / block
	scale := float32(1 / math.Sqrt(float64(D)))
	ld := 3 * C
	// With several row blocks per (window, head) — global attention — each
	// head's keys and values are packed once for all its blocks instead of
	// once per block (16 times at 64×64 tokens).
	prepacked := nBlk > 1
	if prepacked {
		n := nWin * H
		if len(wk.keys) < n {
			wk.keys, wk.values = make([]cpu.PackedB, n), make([]cpu.PackedB, n)
		}
		cpu.ParallelFor(n, func(lo, hi int) {
			for bh := lo; bh < hi; bh++ {
				win, hd := bh/H, bh%H
				base := win * L
				cpu.PackB(&wk.keys[bh], true, D, L, src[base*ld+C+hd*D:], ld)
				cpu.PackB(&wk.values[bh], false, L, D, src[base*ld+2*C+hd*D:], ld)
			}
		})
	}
	attend := func(task int, sc, rh, rw, inv []float32) {
		bh, blk := task/nBlk, task%nBlk
		win, hd := bh/H, bh%H
		r0 := blk * block
		rows := min(block, L-r0)
		base := win * L
		qb := src[(base+r0)*ld+hd*D:]
		kb := src[base*ld+C+hd*D:]
		vb := src[base*ld+2*C+hd*D:]
		scores := sc[:rows*L]
		if prepacked {
			cpu.SgemmPackedB(false, rows, scale, qb, ld, &wk.keys[bh], 0, scores, L)
		} else {
			cpu.Sgemm(false, true, rows, L, D, scale, qb, ld, kb, ld, 0, scores, L)
		}
		if relH != nil {
			addRelPos(scores, qb, ld, relH, relW, r0, rows, wh, ww, D, rh, rw)
		}
		// Unnormalised softmax; the 1/sum scales the D-wide product with V.
		inv = inv[:rows]
		cpu.SoftmaxRowsUnscaled(scores, L, inv)
		ob := o[(base+r0)*C+hd*D:]
		if prepacked {
			cpu.SgemmPackedB(false, rows, 1, scores, L, &wk.values[bh], 0, ob, C)
		} else {
			cpu.Sgemm(false, false, rows, D, L, 1, scores, L, vb, ld, 0, ob, C)
		}
		for r, f := range inv {
			row := ob[r*C : r*C+D]
			for j := range row {
				row[j] *= f
			}
		}
	}
	cpu.ParallelFor(nWin*H*nBlk, func(t0, t1 int) {
		sc := wk.attn.Get()
		defer wk.attn.Put(sc)
		scores, inv := cpu.Grow(&sc.scores, block*L), cpu.Grow(&sc.inv, block)
		rh, rw := cpu.Grow(&sc.rh, block*wh), cpu.Grow(&sc.rw, block*ww)
		for task := t0; task < t1; task++ {
			attend(task, scores, rh, rw, inv)
		}
	})

	// Back to tokens [N, C], dropping the padding (y is free again).
	merged := o
	if !global {
		merged = y
		cpu.ParallelFor(nWin*L, func(lo, hi int) {
			for wp := lo; wp < hi; wp++ {
				if t := token(wp/L, wp%L); t >= 0 {
					copy(merged[t*C:(t+1)*C], o[wp*C:(wp+1)*C])
				}
			}
		})
	}
	cpu.Sgemm(false, true, N, C, C, 1, merged, C, nn.Data(a.Proj.Weight), C, 1, x, C)
}

// addRelPos adds the decomposed relative position terms (MViTv2, as
// add_decomposed_rel_pos) to scores for query rows [r0, r0+rows) of a wh×ww
// grid: scores[q, ky*ww+kx] += q·Rh[qy, ky] + q·Rw[qx, kx], with the
// unscaled query (rows ldq apart). Only the two small [rows, wh] and [rows, ww] factors are
// formed, never the full [L, L] bias.
func addRelPos(scores, q []float32, ldq int, relH, relW []float32, r0, rows, wh, ww, D int, rh, rw []float32) {
	L := wh * ww
	// Rows sharing a grid row y form runs of ww queries: one product each.
	for r := 0; r < rows; {
		y := (r0 + r) / ww
		n := min(ww-(r0+r)%ww, rows-r)
		cpu.Sgemm(false, true, n, wh, D, 1, q[r*ldq:], ldq, relH[y*wh*D:], D, 0, rh[r*wh:], wh)
		r += n
	}
	// Rows sharing a grid column x are ww apart.
	for x := 0; x < ww; x++ {
		first := (x - r0%ww + ww) % ww // first local row with column x
		if first >= rows {
			continue
		}
		n := (rows-first-1)/ww + 1
		cpu.Sgemm(false, true, n, ww, D, 1, q[first*ldq:], ww*ldq, relW[x*ww*D:], D, 0, rw[first*ww:], ww*ww)
	}
	cpu.AddRelPosRows(scores[:rows*L], rh, rw, rows, wh, ww)
}

// getRelPos returns the [qSize, kSize, D] table of relative position
// embeddings (get_rel_pos), linearly resampling rel when its length is not
// 2*max(qSize, kSize)-1.
func getRelPos(qSize, kSize int, rel *tensor.Dense) []float32 {
	rs := rel.Shape()
	n, D := rs[0], rs[1]
	maxDist := 2*max(qSize, kSize) - 1
	table := nn.Data(rel)
	if n != maxDist {
		table = resizeLinear(table, n, D, maxDist)
	}
	qScale := max(float64(kSize)/float64(qSize), 1)
	kScale := max(float64(qSize)/float64(kSize), 1)
	out := make([]float32, qSize*kSize*D)
	for i := 0; i < qSize; i++ {
		for j := 0; j < kSize; j++ {
			idx := int(float64(i)*qScale - float64(j)*kScale + float64(kSize-1)*kScale)
			copy(out[(i*kSize+j)*D:(i*kSize+j+1)*D], table[idx*D:(idx+1)*D])
		}
	}
	return out
}

// resizeLinear resamples rows [n, D] to [m, D] like F.interpolate(mode="linear",
// align_corners=False) along the first axis.
func resizeLinear(src []float32, n, D, m int) []float32 {
	out := make([]float32, m*D)
	for i := 0; i < m; i++ {
		i0, i1, l0, l1 := linearTaps(i, n, m)
		for c := 0; c < D; c++ {
			out[i*D+c] = l0*src[i0*D+c] + l1*src[i1*D+c]
		}
	}
	return out
}

// resizeChannelsLast bilinearly resizes [h, w, C] to [oh, ow, C] (align_corners=False).
func resizeChannelsLast(src []float32, h, w, C, oh, ow int) []float32 {
	chw := transpose(src, h*w, C)
	r := interpolateBilinear(chw, C, h, w, oh, ow)
	return transpose(r, C, oh*ow)
}

// transpose returns the [cols, rows] transpose of a [rows, cols] matrix.
func transpose(src []float32, rows, cols int) []float32 {
	dst := make([]float32, len(src))
	for r := 0; r < rows; r++ {
		for c := 0; c < cols; c++ {
			dst[c*rows+r] = src[r*cols+c]
		}
	}
	return dst
}
