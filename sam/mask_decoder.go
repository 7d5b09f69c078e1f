package sam

import (
	"fmt"
	"math"
	"runtime"
	"sync"
	"sync/atomic"

	"github.com/gsam-go/gsam/cpu"
	"github.com/gsam-go/gsam/nn"
	"gorgonia.org/tensor"
)

// FeedForward is SamFeedForward: proj_in, ReLU, hidden layers with ReLU, proj_out.
type FeedForward struct {
	ProjIn  nn.Linear   `gsam:"proj_in"`
	Layers  []nn.Linear `gsam:"layers"`
	ProjOut nn.Linear   `gsam:"proj_out"`
}

// NewFeedForward allocates numLayers linear layers in → hidden … → out.
func NewFeedForward(in, hidden, out, numLayers int) FeedForward {
	f := FeedForward{ProjIn: nn.NewLinear(in, hidden, true), ProjOut: nn.NewLinear(hidden, out, true)}
	for i := 0; i < numLayers-2; i++ {
		f.Layers = append(f.Layers, nn.NewLinear(hidden, hidden, true))
	}
	return f
}

// Forward maps rows [..., in] to [..., out].
func (f *FeedForward) Forward(x *tensor.Dense) *tensor.Dense {
	x = f.ProjIn.Forward(x)
	activate("relu", nn.Data(x))
	for i := range f.Layers {
		x = f.Layers[i].Forward(x)
		activate("relu", nn.Data(x))
	}
	return f.ProjOut.Forward(x)
}

// TwoWayBlock is SamTwoWayAttentionBlock: token self-attention, tokens →
// image cross-attention, token MLP, image → tokens cross-attention.
type TwoWayBlock struct {
	SelfAttn              nn.MultiHeadAttention `gsam:"self_attn"`
	LayerNorm1            nn.LayerNorm          `gsam:"layer_norm1"`
	CrossAttnTokenToImage nn.MultiHeadAttention `gsam:"cross_attn_token_to_image"`
	LayerNorm2            nn.LayerNorm          `gsam:"layer_norm2"`
	MLP                   MLPBlock              `gsam:"mlp"`
	LayerNorm3            nn.LayerNorm          `gsam:"layer_norm3"`
	LayerNorm4            nn.LayerNorm          `gsam:"layer_norm4"`
	CrossAttnImageToToken nn.MultiHeadAttention `gsam:"cross_attn_image_to_token"`
	SkipFirstLayerPE      bool
}

// TwoWayTransformer is SamTwoWayTransformer.
type TwoWayTransformer struct {
	Layers                []TwoWayBlock         `gsam:"layers"`
	FinalAttnTokenToImage nn.MultiHeadAttention `gsam:"final_attn_token_to_image"`
	LayerNormFinalAttn    nn.LayerNorm          `gsam:"layer_norm_final_attn"`
}

// MaskDecoder is SamMaskDecoder: the two-way transformer over prompt tokens
// and image embedding, 4× upscaling, hypernetwork mask heads and the IoU head.
type MaskDecoder struct {
	IOUToken                nn.Embedding       `gsam:"iou_token"`
	MaskTokens              nn.Embedding       `gsam:"mask_tokens"`
	Transformer             TwoWayTransformer  `gsam:"transformer"`
	UpscaleConv1            nn.ConvTranspose2d `gsam:"upscale_conv1"`
	UpscaleLayerNorm        nn.LayerNorm2d     `gsam:"upscale_layer_norm"`
	UpscaleConv2            nn.ConvTranspose2d `gsam:"upscale_conv2"`
	OutputHypernetworksMLPs []FeedForward      `gsam:"output_hypernetworks_mlps"`
	IOUPredictionHead       FeedForward        `gsam:"iou_prediction_head"`
	Config                  MaskDecoderConfig

	arenas   *nn.Arenas                    // temporaries reused across calls
	packs    *cpu.FreeList[[2]cpu.PackedB] // imageSide's packed operands, reused across calls
	upscaleW [2]*cpu.PackedB               // upscaleWeights of the two convolutions, from prepare
	gen      uint64                        // prepare calls so far: an Embedding's firstSide is for one
}

// NewMaskDecoder allocates the decoder from its config.
func NewMaskDecoder(c MaskDecoderConfig) MaskDecoder {
	C, M := c.HiddenSize, c.NumMultimaskOutputs+1
	eps := float32(c.LayerNormEps)
	d := MaskDecoder{
		IOUToken:          nn.NewEmbedding(1, C),
		MaskTokens:        nn.NewEmbedding(M, C),
		UpscaleConv1:      nn.NewConvTranspose2d(C, C/4, 2, 2),
		UpscaleLayerNorm:  nn.NewLayerNorm2d(C/4, 1e-6),
		UpscaleConv2:      nn.NewConvTranspose2d(C/4, C/8, 2, 2),
		IOUPredictionHead: NewFeedForward(C, c.IOUHeadHiddenDim, M, c.IOUHeadDepth),
		Config:            c,
		arenas:            &nn.Arenas{},
		packs:             &cpu.FreeList[[2]cpu.PackedB]{},
	}
	for i := 0; i < M; i++ {
		d.OutputHypernetworksMLPs = append(d.OutputHypernetworksMLPs, NewFeedForward(C, C, C/8, 3))
	}
	down := C / c.AttentionDownsampleRate
	for i := 0; i < c.NumHiddenLayers; i++ {
		d.Transformer.Layers = append(d.Transformer.Layers, TwoWayBlock{
			SelfAttn:              nn.NewMultiHeadAttention(C, C, c.NumAttentionHeads),
			LayerNorm1:            nn.NewLayerNorm(C, eps),
			CrossAttnTokenToImage: nn.NewMultiHeadAttention(C, down, c.NumAttentionHeads),
			LayerNorm2:            nn.NewLayerNorm(C, eps),
			MLP:                   MLPBlock{Lin1: nn.NewLinear(C, c.MLPDim, true), Lin2: nn.NewLinear(c.MLPDim, C, true), Act: c.HiddenAct},
			LayerNorm3:            nn.NewLayerNorm(C, eps),
			LayerNorm4:            nn.NewLayerNorm(C, eps),
			CrossAttnImageToToken: nn.NewMultiHeadAttention(C, down, c.NumAttentionHeads),
			SkipFirstLayerPE:      i == 0,
		})
	}
	d.Transformer.FinalAttnTokenToImage = nn.NewMultiHeadAttention(C, down, c.NumAttentionHeads)
	d.Transformer.LayerNormFinalAttn = nn.NewLayerNorm(C, 1e-5) // nn.LayerNorm's default eps in the reference
	return d
}

// attend runs the attention block m on row-major slices: queries [Lq, C],
// keys and values [Lk, C], and returns a new [Lq, C]. Heads are read and
// written in place (strided), without split/merge permutes.
func attend(m *nn.MultiHeadAttention, q []float32, Lq int, k, v []float32, Lk int, ar *nn.Arena) []float32 {
	E, C, H := m.Q.Out(), m.Q.In(), m.Heads
	D := E / H
	Q := ar.Floats(Lq * E)
	K := ar.Floats(Lk * E)
	V := ar.Floats(Lk * E)
	m.Q.ForwardSlice(Q, q, Lq)
	m.K.ForwardSlice(K, k, Lk)
	m.V.ForwardSlice(V, v, Lk)
	scale := float32(1 / math.Sqrt(float64(D)))
	o := ar.Floats(Lq * E)
	// Units are (head, block of query rows), each with its own score block.
	rb := min(Lq, max(1, 8192/max(Lk, 1)))
	nb := (Lq + rb - 1) / rb
	cpu.ParallelFor(H*nb, func(lo, hi int) {
		scores := make([]float32, rb*Lk)
		for u := lo; u < hi; u++ {
			h, r0 := u/nb, (u%nb)*rb
			r1 := min(r0+rb, Lq)
			s := scores[:(r1-r0)*Lk]
			cpu.Sgemm(false, true, r1-r0, Lk, D, scale, Q[r0*E+h*D:], E, K[h*D:], E, 0, s, Lk)
			cpu.SoftmaxRows(s, Lk)
			cpu.Sgemm(false, false, r1-r0, D, Lk, 1, s, Lk, V[h*D:], E, 0, o[r0*E+h*D:], E)
		}
	})
	out := ar.Floats(Lq * C)
	m.Out.ForwardSlice(out, o, Lq)
	return out
}

// sum returns a+b in a new slice (cpu.Sum).
func sum(a, b []float32, ar *nn.Arena) []float32 {
	y := ar.Floats(len(a))
	cpu.Sum(y, a, b)
	return y
}

// imageSide is the image half of the two-way transformer for one prompt:
// the tokens keys [N, C], k = keys + PE, and the two packed the way the
// products with the prompt's H·L token rows take them, once a layer: k as
// the Bᵀ of both cross-attentions' scores, keys as the B of the
// token → image values. In the first layer without a mask prompt the
// packs are an image's firstSide, shared by its prompts, and k is formed
// only if a path needs its rows.
type imageSide struct {
	keys, keyPE []float32
	k           []float32 // nil until formed (kRows) in kBuf
	kBuf        []float32
	kT, v       *cpu.PackedB
	own         *[2]cpu.PackedB // this prompt's packs, for the layers after a shared first one
}

// kRows returns k, forming it from keys first if needed.
func (s *imageSide) kRows() []float32 {
	if s.k == nil {
		s.k = s.kBuf
		cpu.Sum(s.k, s.keys, s.keyPE)
	}
	return s.k
}

// pack packs k and keys [N, C] into the prompt's own packs after they
// change.
func (s *imageSide) pack(N, C int) {
	s.kT, s.v = &s.own[0], &s.own[1]
	cpu.PackB(s.kT, true, C, N, s.kRows(), C)
	cpu.PackB(s.v, false, N, C, s.keys, C)
}

// firstSide is the first layer's image side without a mask prompt (keys =
// image tokens + no_mask_embed, k = keys + PE), packed: the same for every
// such prompt on an image.
type firstSide struct {
	dec   *MaskDecoder
	gen   uint64
	packs *[2]cpu.PackedB
}

// firstSideFor returns the firstSide for the image tokens base and
// no_mask_embed: the one its Embedding keeps (made on its first use) when
// the image has one (img.shared) and the decoder is prepared, otherwise one
// for this call, with done set to give its packs back.
func (d *MaskDecoder) firstSideFor(img decoderImage, base, noMask []float32, ar *nn.Arena) (fs *firstSide, done func()) {
	C := len(noMask)
	N := len(base) / C
	build := func(packs *[2]cpu.PackedB) *firstSide {
		mark := ar.Mark()
		defer ar.Release(mark)
		side := imageSide{keys: addRows(base, noMask, ar), keyPE: img.keyPE, kBuf: ar.Floats(N * C), own: packs}
		side.pack(N, C)
		return &firstSide{dec: d, gen: d.gen, packs: packs}
	}
	if e := img.shared; e != nil && d.gen > 0 {
		e.mu.Lock()
		defer e.mu.Unlock()
		if e.first == nil || e.first.dec != d || e.first.gen != d.gen {
			e.first = build(new([2]cpu.PackedB))
		}
		return e.first, func() {}
	}
	packs := d.packs.Get()
	return build(packs), func() { d.packs.Put(packs) }
}

// forward runs one block on queries [L, C] and the image side img (owned
// by the block, which updates it) and returns the new queries and, with
// keepAttn, the image → token attention output [N, C].
func (b *TwoWayBlock) forward(queries []float32, L int, img *imageSide, N int, queryPE, keyPE []float32, keepAttn bool, ar *nn.Arena) ([]float32, []float32) {
	if b.SkipFirstLayerPE {
		queries = attend(&b.SelfAttn, queries, L, queries, queries, L, ar)
	} else {
		q := sum(queries, queryPE, ar)
		addTo(queries, attend(&b.SelfAttn, q, L, q, queries, L, ar))
	}
	b.LayerNorm1.ForwardInPlace(queries)

	q := sum(queries, queryPE, ar)
	addTo(queries, attendTokensToImage(&b.CrossAttnTokenToImage, q, L, img, N, ar))
	b.LayerNorm2.ForwardInPlace(queries)

	addTo(queries, b.MLP.forward(queries, L))
	b.LayerNorm3.ForwardInPlace(queries)

	// The image side has not changed since it was packed.
	q = sum(queries, queryPE, ar)
	keys, k := img.keys, img.kBuf
	// keys += attention output: accumulated in place unless it is kept.
	var attnOut []float32
	if keepAttn {
		attnOut = attendImageToTokens(&b.CrossAttnImageToToken, img, N, q, queries, L, nil, ar)
		cpu.Add(keys, attnOut)
	} else {
		attendImageToTokens(&b.CrossAttnImageToToken, img, N, q, queries, L, keys, ar)
	}
	// keys = LayerNorm4(keys) and the next k, in one pass.
	ln := &b.LayerNorm4
	lw, lb := nn.Data(ln.Weight), nn.Data(ln.Bias)
	C := len(lw)
	cpu.ParallelFor(N, func(lo, hi int) {
		for r := lo; r < hi; r++ {
			kr, kp, pr := keys[r*C:(r+1)*C], k[r*C:(r+1)*C], keyPE[r*C:(r+1)*C]
			cpu.LayerNorm(kr, kr, lw, lb, ln.Eps)
			cpu.Sum(kp, kr, pr)
		}
	})
	img.k = k
	img.pack(N, C)
	return queries, attnOut
}

// DecoderOutput holds the decoder's result for P prompts: low-resolution mask
// logits [P, K, 4h, 4w] and predicted IoU [P, K], K = 1 or num_multimask_outputs.
type DecoderOutput struct {
	Masks *tensor.Dense
	IOU   *tensor.Dense
}

// Forward decodes masks for P prompts on one image: imageEmb [1, C, h, w],
// imagePE [C, h, w] flat, sparse [P, T, C], dense [1 or P, C, h, w].
func (d *MaskDecoder) Forward(imageEmb *tensor.Dense, imagePE []float32, sparse, dense *tensor.Dense, multimask bool) (*DecoderOutput, error) {
	C := d.Config.HiddenSize
	if len(imagePE)%C != 0 {
		return nil, fmt.Errorf("sam: image positional embedding of %d values for %d channels", len(imagePE), C)
	}
	if dense == nil {
		return nil, fmt.Errorf("sam: no dense prompt embedding")
	}
	return d.forward(decoderImage{emb: imageEmb, keyPE: transposeTiled(imagePE, nil, C, len(imagePE)/C, nil)}, sparse, dense, nil, multimask, nil)
}

// decoderImage is the image side of the decoder: the embedding [1, C, h, w],
// optionally already in token layout [h*w, C], and the image positional
// embedding in token layout.
type decoderImage struct {
	emb    *tensor.Dense
	tokens []float32 // nil: transpose emb
	keyPE  []float32
	shared *Embedding // the Embedding they come from, or nil
}

// forward is Forward on a decoderImage; a nil dense stands for noMask
// [C] at every pixel.
func (d *MaskDecoder) forward(img decoderImage, sparse, dense *tensor.Dense, noMask []float32, multimask bool, tr tracer) (*DecoderOutput, error) {
	es, ss := nn.Shape(img.emb), nn.Shape(sparse)
	C, M := d.Config.HiddenSize, d.Config.NumMultimaskOutputs+1
	if len(es) != 4 || es[0] != 1 || es[1] != C {
		return nil, fmt.Errorf("sam: image embedding must be [1, %d, h, w], got %v", C, es)
	}
	h, w := es[2], es[3]
	if len(ss) != 3 || ss[2] != C {
		return nil, fmt.Errorf("sam: sparse prompt embeddings %v do not fit the image embedding %v", ss, es)
	}
	P, T := ss[0], ss[1]
	if dense != nil {
		if ds := nn.Shape(dense); len(ds) != 4 || (ds[0] != 1 && ds[0] != P) || ds[1] != C || ds[2] != h || ds[3] != w {
			return nil, fmt.Errorf("sam: prompt embeddings %v / %v do not fit the image embedding %v", ss, ds, es)
		}
	} else if len(noMask) != C {
		return nil, fmt.Errorf("sam: no_mask_embed has %d values, want %d", len(noMask), C)
	}
	N := h * w
	if len(img.keyPE) != N*C {
		return nil, fmt.Errorf("sam: image positional embedding has %d values, want %d", len(img.keyPE), N*C)
	}
	if img.tokens != nil && len(img.tokens) != N*C {
		return nil, fmt.Errorf("sam: image tokens have %d values, want %d", len(img.tokens), N*C)
	}
	// multimask_output keeps masks 1..M-1, otherwise mask 0 only.
	lo, hi := 0, 1
	if multimask {
		lo, hi = 1, M
	}
	K := hi - lo
	masks := make([]float32, P*K*16*N)
	iou := make([]float32, P*M)
	output := append(append([]float32(nil), nn.Data(d.IOUToken.Weight)...), nn.Data(d.MaskTokens.Weight)...)

	var traces []map[string]*tensor.Dense
	if tr != nil {
		traces = make([]map[string]*tensor.Dense, P)
	}
	// Temporaries come from an arena that the next call reuses; a traced
	// call keeps some of them, so it allocates afresh.
	var ar *nn.Arena
	if tr == nil {
		ar = d.arenas.Get()
		defer d.arenas.Put(ar)
	}
	var base []float32 // image tokens, shared by the prompts
	if img.tokens != nil {
		base = img.tokens
	} else {
		base = transposeTiled(nn.Data(img.emb), nil, C, N, ar)
	}
	// Without a mask prompt every prompt's first layer sees the same
	// image side: packed once.
	var first *firstSide
	if dense == nil {
		fs, done := d.firstSideFor(img, base, noMask, ar)
		defer done()
		first = fs
	}
	// One prompt: the image side (embedding plus dense prompt, as tokens
	// [N, C]) and the two-way transformer, with temporaries from ar.
	decode := func(p int, ar *nn.Arena) {
		var keep func(string, *tensor.Dense)
		if tr != nil {
			traces[p] = map[string]*tensor.Dense{}
			keep = func(n string, t *tensor.Dense) { traces[p][n] = t }
		}
		mark := ar.Mark()
		var keys []float32
		if dense == nil {
			keys = addRows(base, noMask, ar)
		} else {
			dp := 0
			if dense.Shape()[0] > 1 {
				dp = p
			}
			keys = transposeTiled(nn.Data(dense)[dp*C*N:(dp+1)*C*N], nil, C, N, ar)
			cpu.Add(keys, base)
		}
		d.decodeOne(p, output, keys, img.keyPE, first, sparse, T, h, w, lo, hi, masks[p*K*16*N:(p+1)*K*16*N], iou[p*M:(p+1)*M], keep, ar)
		ar.Release(mark)
	}
	// Every step of a prompt runs over all cores, but a prompt's steps are
	// small (products with 56-row operands, passes over 4096 tokens) and
	// wait for each other; several prompts go side by side, one per core,
	// each with its own arena: 4 boxes took 26 ms a box this way against
	// 36–41 ms one after another.
	workers := min(P, runtime.GOMAXPROCS(0))
	if tr != nil || workers <= 1 {
		for p := 0; p < P; p++ {
			decode(p, ar)
		}
	} else {
		var next atomic.Int64
		var wg sync.WaitGroup
		for wk := 0; wk < workers; wk++ {
			own := ar
			if wk > 0 {
				own = d.arenas.Get()
				defer d.arenas.Put(own)
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				for p := int(next.Add(1)) - 1; p < P; p = int(next.Add(1)) - 1 {
					decode(p, own)
				}
			}()
		}
		wg.Wait()
	}
	if tr != nil {
		// The reference stacks prompts on axis 1 for tokens and axis 0 for keys.
		for _, name := range []string{"transformer.0", "transformer.1", "upscale_conv1", "upscale_layer_norm", "upscale_conv2"} {
			tr("mask_decoder."+name, stack(traces, name))
		}
		for i := 0; i < d.Config.NumHiddenLayers; i++ {
			for j := 0; j < 3; j++ {
				name := fmt.Sprintf("transformer.layers.%d.%d", i, j)
				tr("mask_decoder."+name, stack(traces, name))
			}
		}
	}
	scores := make([]float32, 0, P*K)
	for p := 0; p < P; p++ {
		scores = append(scores, iou[p*M+lo:p*M+hi]...)
	}
	return &DecoderOutput{Masks: nn.FromData(masks, P, K, 4*h, 4*w), IOU: nn.FromData(scores, P, K)}, nil
}

// addRows returns x [rows, len(v)] with v added to every row, over several
// cores.
func addRows(x, v []float32, ar *nn.Arena) []float32 {
	C := len(v)
	y := ar.Floats(len(x))
	cpu.ParallelFor(len(x)/C, func(lo, hi int) {
		for r := lo; r < hi; r++ {
			yr, xr := y[r*C:(r+1)*C], x[r*C:(r+1)*C]
			for i, b := range v {
				yr[i] = xr[i] + b
			}
		}
	})
	return y
}

// stack concatenates per-prompt traces along the first axis.
func stack(traces []map[string]*tensor.Dense, name string) *tensor.Dense {
	var data []float32
	var shape []int
	for _, m := range traces {
		t := m[name]
		shape = nn.Shape(t)
		data = append(data, nn.Data(t)...)
	}
	shape[0] *= len(traces)
	return nn.FromData(data, shape...)
}

// transposeTiled returns src [rows, cols] transposed to [cols, rows], plus
// add (in the result's layout) when add is not nil, in cache-sized tiles
// over several cores. The result comes from ar (nil: a new slice).
func transposeTiled(src, add []float32, rows, cols int, ar *nn.Arena) []float32 {
	const tile = 32
	dst := ar.Floats(rows * cols)
	nc := (cols + tile - 1) / tile
	cpu.ParallelFor(nc, func(c0, c1 int) {
		for ct := c0; ct < c1; ct++ {
			cl, ch := ct*tile, min(ct*tile+tile, cols)
			for r0 := 0; r0 < rows; r0 += tile {
				r1 := min(r0+tile, rows)
				for c := cl; c < ch; c++ {
					d := dst[c*rows+r0 : c*rows+r1]
					for r := range d {
						d[r] = src[(r0+r)*cols+c]
					}
					if add != nil {
						addTo(d, add[c*rows+r0:c*rows+r1])
					}
				}
			}
		}
	})
	return dst
}

// upscale is a 2×2, stride-2 ConvTranspose2d on channels-last tokens
// act(x) [h*w, Cin]. Input pixel r = iy*w + ix gives the output pixels
// (2iy+i, 2ix+j): its product row act(x_r)·W + bias holds their channels
// at offset (2i+j)*Cout. upscale computes these rows for blocks of input
// pixels, one parallel GEMM each (about a megabyte of rows, in cache), and
// hands every block to emit(r0, r1, rows) in parallel pieces, rows holding
// pixels r0..r1-1 ([r1-r0, 4, Cout], owned by emit until it returns).
// wp is upscaleWeights(c): W and the bias, packed.
func upscale(wp *cpu.PackedB, act cpu.Activation, x []float32, h, w int, ar *nn.Arena, emit func(r0, r1 int, rows []float32)) {
	Cin, n4 := wp.K(), wp.N()
	n := h * w
	per := max(1, min(n, (1<<18)/n4))
	contrib := ar.Floats(per * n4)
	for b0 := 0; b0 < n; b0 += per {
		b1 := min(b0+per, n)
		cpu.SgemmPackedBAct(act, false, b1-b0, x[b0*Cin:], Cin, wp, 0, contrib, n4)
		cpu.ParallelFor(b1-b0, func(r0, r1 int) {
			emit(b0+r0, b0+r1, contrib[r0*n4:r1*n4])
		})
	}
}

// upscaleWeights packs a 2×2, stride-2 ConvTranspose2d's weight
// [Cin, Cout, i, j], reordered to [Cin, (i, j, Cout)], with its bias
// repeated for the four (i, j): the B operand of upscale.
func upscaleWeights(c *nn.ConvTranspose2d) *cpu.PackedB {
	ws := c.Weight.Shape()
	Cin, Cout := ws[0], ws[1]
	if ws[2] != 2 || ws[3] != 2 || c.Stride != 2 {
		panic(fmt.Sprintf("sam: upscaling conv must be 2×2 stride 2, got %v stride %d", ws, c.Stride))
	}
	wt := nn.Data(c.Weight)
	wp := make([]float32, Cin*4*Cout)
	for ci := 0; ci < Cin; ci++ {
		for o := 0; o < Cout; o++ {
			for ij := 0; ij < 4; ij++ {
				wp[ci*4*Cout+ij*Cout+o] = wt[(ci*Cout+o)*4+ij]
			}
		}
	}
	p := new(cpu.PackedB)
	if c.Bias == nil {
		cpu.PackB(p, false, Cin, 4*Cout, wp, 4*Cout)
		return p
	}
	bias := make([]float32, 4*Cout)
	for ij := 0; ij < 4; ij++ {
		copy(bias[ij*Cout:], nn.Data(c.Bias))
	}
	cpu.PackBBias(p, false, Cin, 4*Cout, wp, 4*Cout, bias)
	return p
}

// upscaleB returns upscaleWeights of conv 0 or 1, as prepare left them or
// afresh for a decoder that was not prepared.
func (d *MaskDecoder) upscaleB(i int) *cpu.PackedB {
	if d.upscaleW[i] != nil {
		return d.upscaleW[i]
	}
	return upscaleWeights([]*nn.ConvTranspose2d{&d.UpscaleConv1, &d.UpscaleConv2}[i])
}

// prepare packs the upscaling weights with their biases (upscaleWeights)
// and every linear layer's weights (nn.Linear.Prepack: most run on a
// prompt's few tokens, where packing a weight cost more than its product:
// 3.5 of 54 ms a box on one core) once; call it again after changing the
// weights (Model.Prepare does: it also retires Embeddings' kept sides).
func (d *MaskDecoder) prepare() {
	d.upscaleW = [2]*cpu.PackedB{upscaleWeights(&d.UpscaleConv1), upscaleWeights(&d.UpscaleConv2)}
	for _, l := range d.linears() {
		l.Prepack()
	}
	d.gen++
}

// linears lists the decoder's linear layers.
func (d *MaskDecoder) linears() []*nn.Linear {
	var ls []*nn.Linear
	attn := func(m *nn.MultiHeadAttention) { ls = append(ls, &m.Q, &m.K, &m.V, &m.Out) }
	ffn := func(f *FeedForward) {
		ls = append(ls, &f.ProjIn, &f.ProjOut)
		for i := range f.Layers {
			ls = append(ls, &f.Layers[i])
		}
	}
	tf := &d.Transformer
	for i := range tf.Layers {
		b := &tf.Layers[i]
		attn(&b.SelfAttn)
		attn(&b.CrossAttnTokenToImage)
		attn(&b.CrossAttnImageToToken)
		ls = append(ls, &b.MLP.Lin1, &b.MLP.Lin2)
	}
	attn(&tf.FinalAttnTokenToImage)
	for i := range d.OutputHypernetworksMLPs {
		ffn(&d.OutputHypernetworksMLPs[i])
	}
	ffn(&d.IOUPredictionHead)
	return ls
}

// scatterPixels writes the rows of upscale's emit for input pixels r0..r1-1
// of a w-wide map to their output pixels in y [2h*2w, Cout].
func scatterPixels(y []float32, r0, r1, w, Cout int, rows []float32) {
	for r := r0; r < r1; r++ {
		iy, ix := r/w, r%w
		for ij := 0; ij < 4; ij++ {
			px := (2*iy+ij>>1)*2*w + 2*ix + ij&1
			src := rows[((r-r0)*4+ij)*Cout : ((r-r0)*4+ij+1)*Cout]
			copy(y[px*Cout:(px+1)*Cout], src)
		}
	}
}

// decodeOne runs prompt p on the image tokens keys [h*w, C] (owned),
// writing masks lo..hi-1 [hi-lo, 4h*4w] and its M IoU scores.
func (d *MaskDecoder) decodeOne(p int, output, keys, keyPE []float32, first *firstSide, sparse *tensor.Dense, T, h, w, lo, hi int, masks, iou []float32, keep func(string, *tensor.Dense), ar *nn.Arena) {
	C, M := d.Config.HiddenSize, d.Config.NumMultimaskOutputs+1
	N := h * w
	L := 1 + M + T
	// Tokens: IoU token, mask tokens, then the prompt's sparse embeddings.
	queryPE := append(append([]float32(nil), output...), nn.Data(sparse)[p*T*C:(p+1)*T*C]...)
	queries := append([]float32(nil), queryPE...)

	tf := &d.Transformer
	packs := d.packs.Get()
	defer d.packs.Put(packs)
	img := &imageSide{keys: keys, keyPE: keyPE, kBuf: ar.Floats(N * C), own: packs}
	if first != nil {
		img.kT, img.v = &first.packs[0], &first.packs[1]
	} else {
		img.pack(N, C)
	}
	for i := range tf.Layers {
		var attnOut []float32
		queries, attnOut = tf.Layers[i].forward(queries, L, img, N, queryPE, keyPE, keep != nil, ar)
		if keep != nil {
			keep(fmt.Sprintf("transformer.layers.%d.0", i), nn.FromData(append([]float32(nil), queries...), 1, 1, L, C))
			keep(fmt.Sprintf("transformer.layers.%d.1", i), nn.FromData(append([]float32(nil), keys...), 1, 1, N, C))
			keep(fmt.Sprintf("transformer.layers.%d.2", i), nn.FromData(attnOut, 1, 1, N, C))
		}
	}
	q := sum(queries, queryPE, ar)
	addTo(queries, attendTokensToImage(&tf.FinalAttnTokenToImage, q, L, img, N, ar))
	tf.LayerNormFinalAttn.ForwardInPlace(queries)
	if keep != nil {
		keep("transformer.0", nn.FromData(append([]float32(nil), queries...), 1, 1, L, C))
		keep("transformer.1", nn.FromData(append([]float32(nil), keys...), 1, 1, N, C))
	}

	// Upscale the image tokens 4×, channels-last: [h*w, C] → [4h*4w, C/8].
	ln := &d.UpscaleLayerNorm
	lw, lb := nn.Data(ln.Weight), nn.Data(ln.Bias)
	C4 := d.UpscaleConv1.Weight.Shape()[1]
	C8 := d.UpscaleConv2.Weight.Shape()[1]
	// Each kept mask token's hypernetwork gives the weights of a linear map
	// over the C/8 upscaled channels.
	K := hi - lo
	hyper := make([]float32, K*C8)
	for i := lo; i < hi; i++ {
		tok := nn.FromData(queries[(1+i)*C:(2+i)*C], 1, C)
		copy(hyper[(i-lo)*C8:], nn.Data(d.OutputHypernetworksMLPs[i].Forward(tok)))
	}
	if keep == nil {
		// LayerNorm2d runs on the first upscaling's rows as they come, its
		// GELU as the second upscaling packs them; the second's rows go
		// straight into the masks: GELU, then the hypernetwork products,
		// one small GEMM per piece (K rows: the pixels are its columns).
		up := ar.Floats(4 * N * C4)
		upscale(d.upscaleB(0), cpu.ActIdentity, keys, h, w, ar, func(r0, r1 int, rows []float32) {
			for q := 0; q < len(rows); q += C4 {
				cpu.LayerNorm(rows[q:q+C4], rows[q:q+C4], lw, lb, ln.Eps)
			}
			scatterPixels(up, r0, r1, w, C4, rows)
		})
		W2 := 2 * w
		prods := ar.Floats(K * 16 * N) // each piece's products at its pixels' offset
		upscale(d.upscaleB(1), cpu.ActGELU, up, 2*h, W2, ar, func(r0, r1 int, rows []float32) {
			cpu.GELU(rows)
			n := 4 * (r1 - r0)
			prod := prods[K*4*r0 : K*4*r1] // [K, (r, ij)]
			cpu.Sgemm(false, true, K, n, C8, 1, hyper, C8, rows, C8, 0, prod, n)
			for r := r0; r < r1; r++ {
				iy, ix := r/W2, r%W2
				for ij := 0; ij < 4; ij++ {
					px := (2*iy+ij>>1)*2*W2 + 2*ix + ij&1
					for k := 0; k < K; k++ {
						masks[k*16*N+px] = prod[k*n+(r-r0)*4+ij]
					}
				}
			}
		})
	} else {
		up := ar.Floats(4 * N * C4)
		upscale(d.upscaleB(0), cpu.ActIdentity, keys, h, w, ar, func(r0, r1 int, rows []float32) { scatterPixels(up, r0, r1, w, C4, rows) })
		keep("upscale_conv1", nn.FromData(transposeTiled(up, nil, 4*N, C4, nil), 1, C4, 2*h, 2*w))
		cpu.LayerNormRows(up, lw, lb, C4, ln.Eps)
		keep("upscale_layer_norm", nn.FromData(transposeTiled(up, nil, 4*N, C4, nil), 1, C4, 2*h, 2*w))
		cpu.GELU(up)
		up2 := ar.Floats(16 * N * C8)
		upscale(d.upscaleB(1), cpu.ActIdentity, up, 2*h, 2*w, ar, func(r0, r1 int, rows []float32) { scatterPixels(up2, r0, r1, 2*w, C8, rows) })
		keep("upscale_conv2", nn.FromData(transposeTiled(up2, nil, 16*N, C8, nil), 1, C8, 4*h, 4*w))
		cpu.GELU(up2)
		cpu.Sgemm(false, true, K, 16*N, C8, 1, hyper, C8, up2, C8, 0, masks, 16*N)
	}
	copy(iou, nn.Data(d.IOUPredictionHead.Forward(nn.FromData(queries[:C], 1, C))))
}

// factorAttention, when set, makes the cross-attentions always take the
// factored path (tests use it: the fixture model is too narrow for it to
// pay off there).
var factorAttention = false

// factored reports whether a cross-attention between L tokens and the image
// should be computed in factored form: there the image side meets the
// H·L per-head token rows directly instead of being projected to E
// channels, which is cheaper while H·L < E.
func factored(m *nn.MultiHeadAttention, L int) bool {
	return factorAttention || m.Heads*L < m.Q.Out()
}

// attendTokensToImage is attend for L token queries q [L, C] over the N
// image keys img.k and values img.keys. Per head h the scores are
// Q_h·(k·W_kᵀ + b_k)_hᵀ = (Q_h·W_k,h)·kᵀ + a per-row constant that softmax
// drops, and A_h·(v·W_vᵀ + b_v)_h = (A_h·v)·W_v,hᵀ + b_v,h since each row of
// A_h sums to 1: the image tokens are only ever multiplied by H·L rows.
func attendTokensToImage(m *nn.MultiHeadAttention, q []float32, L int, img *imageSide, N int, ar *nn.Arena) []float32 {
	if !factored(m, L) {
		return attend(m, q, L, img.kRows(), img.keys, N, ar)
	}
	E, C, H := m.Q.Out(), m.Q.In(), m.Heads
	D := E / H
	HL := H * L
	scale := float32(1 / math.Sqrt(float64(D)))
	Q := ar.Floats(L * E)
	m.Q.ForwardSlice(Q, q, L)
	wk, wv, bv := nn.Data(m.K.Weight), nn.Data(m.V.Weight), nn.Data(m.V.Bias)
	G := ar.Floats(HL * C) // [H, L, C]
	for h := 0; h < H; h++ {
		cpu.Sgemm(false, false, L, C, D, scale, Q[h*D:], E, wk[h*D*C:], C, 0, G[h*L*C:], C)
	}
	S := ar.Floats(HL * N)
	cpu.SgemmPackedB(false, HL, 1, G, C, img.kT, 0, S, N)
	cpu.ParallelFor(HL, func(lo, hi int) { cpu.SoftmaxRows(S[lo*N:hi*N], N) })
	R := ar.Floats(HL * C)
	cpu.SgemmPackedB(false, HL, 1, S, N, img.v, 0, R, C)
	o := ar.Floats(L * E)
	for r := 0; r < L; r++ {
		copy(o[r*E:(r+1)*E], bv)
	}
	for h := 0; h < H; h++ {
		cpu.Sgemm(false, true, L, D, C, 1, R[h*L*C:], C, wv[h*D*C:], C, 1, o[h*D:], E)
	}
	out := ar.Floats(L * C)
	m.Out.ForwardSlice(out, o, L)
	return out
}

// attendImageToTokens is attend for the N image queries img.k over L
// token keys k and values v [L, C]. Per head the scores are
// (q·W_q,hᵀ + b_q,h)·K_hᵀ = q·(W_q,hᵀ·K_hᵀ) + b_q,h·K_hᵀ, and the output
// projection folds into the values: Σ_h A_h·(V_h·W_o,hᵀ) + b_o. The scores
// are computed transposed, [H·L, N] (the image side is then img.kT, the
// same packed operand as the token → image scores'), and normalised down
// their columns. With acc not nil the output is added to acc [N, C] (and
// returned) instead of written to a new slice.
func attendImageToTokens(m *nn.MultiHeadAttention, img *imageSide, N int, k, v []float32, L int, acc []float32, ar *nn.Arena) []float32 {
	if !factored(m, L) {
		o := attend(m, img.kRows(), N, k, v, L, ar)
		if acc == nil {
			return o
		}
		cpu.Add(acc, o)
		return acc
	}
	E, C, H := m.Q.Out(), m.Q.In(), m.Heads
	D := E / H
	HL := H * L
	scale := float32(1 / math.Sqrt(float64(D)))
	K := ar.Floats(L * E)
	V := ar.Floats(L * E)
	m.K.ForwardSlice(K, k, L)
	m.V.ForwardSlice(V, v, L)
	wq, bq, wo, bo := nn.Data(m.Q.Weight), nn.Data(m.Q.Bias), nn.Data(m.Out.Weight), nn.Data(m.Out.Bias)
	BT := ar.Floats(HL * C) // [H, L, C]: scale·K_h·W_q,h
	U := ar.Floats(HL * C)  // [H, L, C]: V_h·W_o,hᵀ
	bias := ar.Floats(HL)   // scale·b_q,h·K_hᵀ
	for h := 0; h < H; h++ {
		cpu.Sgemm(false, false, L, C, D, scale, K[h*D:], E, wq[h*D*C:], C, 0, BT[h*L*C:], C)
		cpu.Sgemm(false, true, L, C, D, 1, V[h*D:], E, wo[h*D:], E, 0, U[h*L*C:], C)
		for l := 0; l < L; l++ {
			var s float32
			for d := 0; d < D; d++ {
				s += bq[h*D+d] * K[l*E+h*D+d]
			}
			bias[h*L+l] = scale * s
		}
	}
	St := ar.Floats(HL * N) // [H, L, N]
	cpu.SgemmPackedB(false, HL, 1, BT, C, img.kT, 0, St, N)
	// Softmax over each head's L tokens at every image position, in
	// pieces of (head, column block).
	const cb = 512
	nb := (N + cb - 1) / cb
	cpu.ParallelFor(H*nb, func(lo, hi int) {
		for u := lo; u < hi; u++ {
			h, c0 := u/nb, (u%nb)*cb
			c1 := min(c0+cb, N)
			cpu.SoftmaxCols(St[h*L*N+c0:], L, c1-c0, N, bias[h*L:(h+1)*L])
		}
	})
	out, beta := acc, float32(1)
	if out == nil {
		out, beta = ar.Floats(N*C), 0
	}
	cpu.SgemmBias(true, false, N, C, HL, St, N, U, C, beta, bo, out, C)
	return out
}
