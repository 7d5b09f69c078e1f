package nn

import (
	"github.com/gsam-go/gsam/cpu"
	"gorgonia.org/tensor"
)

// Conv2d is a 2-D convolution over [B, C, H, W] with weight [out, in/groups, kh, kw].
type Conv2d struct {
	Weight  *tensor.Dense `gsam:"weight"`
	Bias    *tensor.Dense `gsam:"bias"`
	Stride  int
	Padding int
	Groups  int
}

// NewConv2d allocates a square-kernel convolution.
func NewConv2d(in, out, kernel, stride, padding, groups int, bias bool) Conv2d {
	if groups < 1 {
		groups = 1
	}
	c := Conv2d{Weight: New(out, in/groups, kernel, kernel), Stride: stride, Padding: padding, Groups: groups}
	if bias {
		c.Bias = New(out)
	}
	return c
}

// OutSize is the spatial output size for an input of h×w.
func (c *Conv2d) OutSize(h, w int) (int, int) {
	ws := c.Weight.Shape()
	kh, kw := ws[2], ws[3]
	return (h+2*c.Padding-kh)/c.Stride + 1, (w+2*c.Padding-kw)/c.Stride + 1
}

// Forward convolves x [B, C, H, W] into [B, out, OH, OW] by im2col and one
// GEMM per image and group. A 1×1 stride-1 convolution needs no im2col.
func (c *Conv2d) Forward(x *tensor.Dense) *tensor.Dense {
	s := Shape(x)
	B, C, H, W := s[0], s[1], s[2], s[3]
	ws := c.Weight.Shape()
	O, Cg, kh, kw := ws[0], ws[1], ws[2], ws[3]
	G := c.Groups
	if G < 1 {
		G = 1
	}
	stride := max(c.Stride, 1)
	OH, OW := c.OutSize(H, W)
	Og := O / G
	K := Cg * kh * kw
	P := OH * OW
	src, w := Data(x), Data(c.Weight)
	y := Scratch(B * O * P) // every value is written: the products overwrite
	direct := kh == 1 && kw == 1 && stride == 1 && c.Padding == 0
	var col []float32
	if !direct {
		col = Scratch(K * P)
		defer PutScratch(col)
	}
	for b := 0; b < B; b++ {
		for g := 0; g < G; g++ {
			in := src[(b*C+g*Cg)*H*W : (b*C+(g+1)*Cg)*H*W]
			if !direct {
				im2col(col, in, Cg, H, W, kh, kw, stride, c.Padding, OH, OW)
			} else {
				col = in
			}
			out := y[(b*O+g*Og)*P : (b*O+(g+1)*Og)*P]
			cpu.Sgemm(false, false, Og, P, K, 1, w[g*Og*K:(g+1)*Og*K], K, col, P, 0, out, P)
		}
	}
	if c.Bias != nil {
		bias := Data(c.Bias)
		cpu.ParallelFor(B*O, func(lo, hi int) {
			for bo := lo; bo < hi; bo++ {
				seg, v := y[bo*P:(bo+1)*P], bias[bo%O]
				for i := range seg {
					seg[i] += v
				}
			}
		})
	}
	return FromData(y, B, O, OH, OW)
}

// im2col lays out the receptive fields as a [C*kh*kw, OH*OW] matrix, zero
// outside the image, the channels over the cores.
func im2col(col, in []float32, C, H, W, kh, kw, stride, pad, OH, OW int) {
	cpu.ParallelFor(C, func(c0, c1 int) { im2colChannels(col, in, c0, c1, H, W, kh, kw, stride, pad, OH, OW) })
}

// im2colChannels is im2col for channels c0..c1-1.
func im2colChannels(col, in []float32, c0, c1, H, W, kh, kw, stride, pad, OH, OW int) {
	P := OH * OW
	for c := c0; c < c1; c++ {
		for i := 0; i < kh; i++ {
			for j := 0; j < kw; j++ {
				row := col[((c*kh+i)*kw+j)*P:]
				for oy := 0; oy < OH; oy++ {
					iy := oy*stride - pad + i
					dst := row[oy*OW : oy*OW+OW]
					if iy < 0 || iy >= H {
						clear(dst)
						continue
					}
					srow := in[(c*H+iy)*W : (c*H+iy+1)*W]
					for ox := range dst {
						ix := ox*stride - pad + j
						if ix < 0 || ix >= W {
							dst[ox] = 0
						} else {
							dst[ox] = srow[ix]
						}
					}
				}
			}
		}
	}
}

// ConvTranspose2d is a transposed convolution with weight [in, out, k, k]
// and no padding (SAM's 2× upscaler uses kernel 2, stride 2).
type ConvTranspose2d struct {
	Weight *tensor.Dense `gsam:"weight"`
	Bias   *tensor.Dense `gsam:"bias"`
	Stride int
}

// NewConvTranspose2d allocates a transposed convolution.
func NewConvTranspose2d(in, out, kernel, stride int) ConvTranspose2d {
	return ConvTranspose2d{Weight: New(in, out, kernel, kernel), Bias: New(out), Stride: stride}
}

// Forward maps x [B, Cin, H, W] to [B, Cout, (H-1)*s+k, (W-1)*s+k]: one GEMM
// gives every input pixel's k×k×Cout contribution, then they are scattered.
func (c *ConvTranspose2d) Forward(x *tensor.Dense) *tensor.Dense {
	s := Shape(x)
	B, Cin, H, W := s[0], s[1], s[2], s[3]
	ws := c.Weight.Shape()
	Cout, kh, kw := ws[1], ws[2], ws[3]
	st := max(c.Stride, 1)
	OH, OW := (H-1)*st+kh, (W-1)*st+kw
	P := H * W
	K := Cout * kh * kw
	src, w := Data(x), Data(c.Weight)
	contrib := make([]float32, K*P)
	y := make([]float32, B*Cout*OH*OW)
	for b := 0; b < B; b++ {
		// contrib[K, P] = Wᵀ[K, Cin] · x[Cin, P]
		cpu.Sgemm(true, false, K, P, Cin, 1, w, K, src[b*Cin*P:(b+1)*Cin*P], P, 0, contrib, P)
		out := y[b*Cout*OH*OW:]
		for o := 0; o < Cout; o++ {
			for i := 0; i < kh; i++ {
				for j := 0; j < kw; j++ {
					row := contrib[((o*kh+i)*kw+j)*P:]
					for iy := 0; iy < H; iy++ {
						oy := iy*st + i
						for ix := 0; ix < W; ix++ {
							out[(o*OH+oy)*OW+ix*st+j] += row[iy*W+ix]
						}
					}
				}
			}
		}
		if c.Bias != nil {
			bias := Data(c.Bias)
			for o := 0; o < Cout; o++ {
				seg := out[o*OH*OW : (o+1)*OH*OW]
				for i := range seg {
					seg[i] += bias[o]
				}
			}
		}
	}
	return FromData(y, B, Cout, OH, OW)
}
