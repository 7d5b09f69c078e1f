package sam

import (
	"fmt"

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

// add returns a+b as a new [1, L, C] tensor.
func add(a, b *tensor.Dense) *tensor.Dense {
	y := nn.Clone(a)
	addTo(nn.Data(y), nn.Data(b))
	return y
}

// forward runs one block on queries [1, T, C] and keys [1, N, C].
func (b *TwoWayBlock) forward(queries, keys, queryPE, keyPE *tensor.Dense) (*tensor.Dense, *tensor.Dense, *tensor.Dense) {
	if b.SkipFirstLayerPE {
		queries = b.SelfAttn.Forward(queries, queries, queries, nil)
	} else {
		q := add(queries, queryPE)
		queries = add(queries, b.SelfAttn.Forward(q, q, queries, nil))
	}
	queries = b.LayerNorm1.Forward(queries)

	q, k := add(queries, queryPE), add(keys, keyPE)
	queries = b.LayerNorm2.Forward(add(queries, b.CrossAttnTokenToImage.Forward(q, k, keys, nil)))

	T := queries.Shape()[1]
	queries = b.LayerNorm3.Forward(add(queries, nn.FromData(b.MLP.forward(nn.Data(queries), T), nn.Shape(queries)...)))

	q, k = add(queries, queryPE), add(keys, keyPE)
	attnOut := b.CrossAttnImageToToken.Forward(k, q, queries, nil)
	keys = b.LayerNorm4.Forward(add(keys, attnOut))
	return queries, keys, attnOut
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
	return d.forward(imageEmb, imagePE, sparse, dense, multimask, nil)
}

func (d *MaskDecoder) forward(imageEmb *tensor.Dense, imagePE []float32, sparse, dense *tensor.Dense, multimask bool, tr tracer) (*DecoderOutput, error) {
	es, ss, ds := nn.Shape(imageEmb), nn.Shape(sparse), nn.Shape(dense)
	C, M := d.Config.HiddenSize, d.Config.NumMultimaskOutputs+1
	if len(es) != 4 || es[0] != 1 || es[1] != C {
		return nil, fmt.Errorf("sam: image embedding must be [1, %d, h, w], got %v", C, es)
	}
	h, w := es[2], es[3]
	P, T := ss[0], ss[1]
	if len(ss) != 3 || ss[2] != C || len(ds) != 4 || (ds[0] != 1 && ds[0] != P) || ds[1] != C || ds[2] != h || ds[3] != w {
		return nil, fmt.Errorf("sam: prompt embeddings %v / %v do not fit the image embedding %v", ss, ds, es)
	}
	N := h * w
	out := make([]float32, P*M*16*N)
	iou := make([]float32, P*M)
	keyPE := nn.FromData(transpose(imagePE, C, N), 1, N, C)
	output := append(append([]float32(nil), nn.Data(d.IOUToken.Weight)...), nn.Data(d.MaskTokens.Weight)...)

	var traces []map[string]*tensor.Dense
	if tr != nil {
		traces = make([]map[string]*tensor.Dense, P)
	}
	cpu.ParallelFor(P, func(lo, hi int) {
		for p := lo; p < hi; p++ {
			var keep func(string, *tensor.Dense)
			if tr != nil {
				traces[p] = map[string]*tensor.Dense{}
				keep = func(n string, t *tensor.Dense) { traces[p][n] = t }
			}
			d.decodeOne(p, output, imageEmb, dense, sparse, keyPE, T, h, w, out[p*M*16*N:(p+1)*M*16*N], iou[p*M:(p+1)*M], keep)
		}
	})
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

	// multimask_output keeps masks 1..M-1, otherwise mask 0 only.
	lo, hi := 0, 1
	if multimask {
		lo, hi = 1, M
	}
	K := hi - lo
	masks := make([]float32, 0, P*K*16*N)
	scores := make([]float32, 0, P*K)
	for p := 0; p < P; p++ {
		masks = append(masks, out[(p*M+lo)*16*N:(p*M+hi)*16*N]...)
		scores = append(scores, iou[p*M+lo:p*M+hi]...)
	}
	return &DecoderOutput{Masks: nn.FromData(masks, P, K, 4*h, 4*w), IOU: nn.FromData(scores, P, K)}, nil
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

// decodeOne runs prompt p, writing its M masks [M, 4h*4w] and M IoU scores.
func (d *MaskDecoder) decodeOne(p int, output []float32, imageEmb, dense, sparse, keyPE *tensor.Dense, T, h, w int, masks, iou []float32, keep func(string, *tensor.Dense)) {
	C, M := d.Config.HiddenSize, d.Config.NumMultimaskOutputs+1
	N := h * w
	// Tokens: IoU token, mask tokens, then the prompt's sparse embeddings.
	tokens := append(append([]float32(nil), output...), nn.Data(sparse)[p*T*C:(p+1)*T*C]...)
	queryPE := nn.FromData(tokens, 1, 1+M+T, C)
	// Image side: embedding plus dense prompt, as tokens [N, C].
	src := append([]float32(nil), nn.Data(imageEmb)...)
	dp := 0
	if dense.Shape()[0] > 1 {
		dp = p
	}
	addTo(src, nn.Data(dense)[dp*C*N:(dp+1)*C*N])
	keys := nn.FromData(transpose(src, C, N), 1, N, C)

	queries := queryPE
	tf := &d.Transformer
	for i := range tf.Layers {
		var attnOut *tensor.Dense
		queries, keys, attnOut = tf.Layers[i].forward(queries, keys, queryPE, keyPE)
		if keep != nil {
			keep(fmt.Sprintf("transformer.layers.%d.0", i), nn.FromData(nn.Data(queries), 1, 1, 1+M+T, C))
			keep(fmt.Sprintf("transformer.layers.%d.1", i), nn.FromData(nn.Data(keys), 1, 1, N, C))
			keep(fmt.Sprintf("transformer.layers.%d.2", i), nn.FromData(nn.Data(attnOut), 1, 1, N, C))
		}
	}
	q, k := add(queries, queryPE), add(keys, keyPE)
	queries = tf.LayerNormFinalAttn.Forward(add(queries, tf.FinalAttnTokenToImage.Forward(q, k, keys, nil)))
	if keep != nil {
		keep("transformer.0", nn.FromData(nn.Data(queries), 1, 1, 1+M+T, C))
		keep("transformer.1", nn.FromData(nn.Data(keys), 1, 1, N, C))
	}

	// Upscale the image tokens 4×: [C, h, w] → [C/8, 4h, 4w].
	img := nn.FromData(transpose(nn.Data(keys), N, C), 1, C, h, w)
	up := d.UpscaleConv1.Forward(img)
	if keep != nil {
		keep("upscale_conv1", up)
	}
	up = d.UpscaleLayerNorm.Forward(up)
	if keep != nil {
		keep("upscale_layer_norm", nn.Clone(up))
	}
	cpu.GELU(nn.Data(up))
	up = d.UpscaleConv2.Forward(up)
	if keep != nil {
		keep("upscale_conv2", nn.Clone(up))
	}
	cpu.GELU(nn.Data(up))

	// Each mask token's hypernetwork gives the weights of a linear map over
	// the C/8 upscaled channels.
	qd := nn.Data(queries)
	hyper := make([]float32, M*C/8)
	for i := 0; i < M; i++ {
		tok := nn.FromData(qd[(1+i)*C:(2+i)*C], 1, C)
		copy(hyper[i*C/8:], nn.Data(d.OutputHypernetworksMLPs[i].Forward(tok)))
	}
	cpu.Sgemm(false, false, M, 16*N, C/8, 1, hyper, C/8, nn.Data(up), 16*N, 0, masks, 16*N)
	copy(iou, nn.Data(d.IOUPredictionHead.Forward(nn.FromData(qd[:C], 1, C))))
}
