package cuda

import "fmt"

// The kernel wrappers below validate sizes on the host, then queue one
// kernel on the device's stream; results are ready for the next call on
// the same Device (Download waits for them).

// LayerNorm normalises x in place, rows of dim values, with weight and bias of dim values.
func (d *Device) LayerNorm(x, weight, bias *Buffer, rows, dim int, eps float32) error {
	if rows < 0 || dim <= 0 {
		return fmt.Errorf("cuda: layernorm of %d rows × %d", rows, dim)
	}
	if err := d.checkAll(bufs{{"x", x, rows * dim}, {"weight", weight, dim}, {"bias", bias, dim}}); err != nil {
		return err
	}
	return d.launch(kLayerNorm, rows, threads, new(args).ptr(x).ptr(weight).ptr(bias).i32(rows).i32(dim).f32(eps))
}

// GELU applies exact (erf) GELU in place to the first n values of x.
func (d *Device) GELU(x *Buffer, n int) error {
	if err := d.checkAll(bufs{{"x", x, n}}); err != nil {
		return err
	}
	return d.launch(kGELU, blocksFor(int64(n), true), threads, new(args).ptr(x).i64(n))
}

// BiasAdd adds bias (n values) to each of the rows of y (rows×n) in place.
func (d *Device) BiasAdd(y, bias *Buffer, rows, n int) error {
	if rows < 0 || n <= 0 {
		return fmt.Errorf("cuda: bias add of %d rows × %d", rows, n)
	}
	if err := d.checkAll(bufs{{"y", y, rows * n}, {"bias", bias, n}}); err != nil {
		return err
	}
	return d.launch(kBiasAdd, blocksFor(int64(rows*n), true), threads, new(args).ptr(y).ptr(bias).i64(rows).i32(n))
}

// SoftmaxRows applies softmax in place to scores [B, H, Lq, Lk] over Lk,
// after adding mask [maskB, maskH, Lq, Lk] (maskB ∈ {1, B}, maskH ∈ {1, H};
// additive, -Inf or float32's lowest to block) when mask is not nil. A row
// that is all -Inf becomes zeros, as nn.SoftmaxRows.
func (d *Device) SoftmaxRows(scores *Buffer, B, H, Lq, Lk int, mask *Buffer, maskB, maskH int) error {
	if B < 0 || H <= 0 || Lq <= 0 || Lk <= 0 {
		return fmt.Errorf("cuda: softmax of [%d, %d, %d, %d]", B, H, Lq, Lk)
	}
	rows := B * H * Lq
	list := bufs{{"scores", scores, rows * Lk}}
	if mask != nil {
		if (maskB != 1 && maskB != B) || (maskH != 1 && maskH != H) {
			return fmt.Errorf("cuda: softmax mask [%d, %d, %d, %d] does not broadcast to [%d, %d, %d, %d]", maskB, maskH, Lq, Lk, B, H, Lq, Lk)
		}
		list = append(list, namedBuf{"mask", mask, maskB * maskH * Lq * Lk})
	} else {
		maskB, maskH = 1, 1
	}
	if err := d.checkAll(list); err != nil {
		return err
	}
	return d.launch(kSoftmax, rows, threads, new(args).ptr(scores).ptr(mask).i32(rows).i32(Lk).i32(H).i32(Lq).i32(maskB).i32(maskH))
}

// maxLevels is GSAM_MAX_LEVELS in msdeform.cu.
const maxLevels = 8

// levelsArg mirrors struct GsamLevels, passed by value.
type levelsArg struct {
	h, w, start [maxLevels]int32
}

// MSDeformAttn is cpu.MSDeformAttn on the device, same layouts:
// value [B, S, H, D], samplingLocs [B, Q, H, L, P, 2], attnWeights
// [B, Q, H, L, P], out [B, Q, H·D] (overwritten); spatialShapes[l] is
// (height, width) and levelStart[l] the level's first row in S.
func (d *Device) MSDeformAttn(out, value *Buffer, spatialShapes [][2]int, levelStart []int, samplingLocs, attnWeights *Buffer, B, S, H, D, Q, L, P int) error {
	if L <= 0 || L > maxLevels || len(spatialShapes) != L || len(levelStart) != L {
		return fmt.Errorf("cuda: deformable attention needs 1..%d levels with shapes and starts, got L=%d, %d shapes, %d starts", maxLevels, L, len(spatialShapes), len(levelStart))
	}
	if B < 0 || S < 0 || H <= 0 || D <= 0 || Q < 0 || P <= 0 {
		return fmt.Errorf("cuda: deformable attention sizes B=%d S=%d H=%d D=%d Q=%d P=%d", B, S, H, D, Q, P)
	}
	var lv levelsArg
	for l := 0; l < L; l++ {
		h, w := spatialShapes[l][0], spatialShapes[l][1]
		if h <= 0 || w <= 0 || levelStart[l] < 0 || levelStart[l]+h*w > S {
			return fmt.Errorf("cuda: deformable attention level %d (%d×%d from %d) outside S=%d", l, h, w, levelStart[l], S)
		}
		lv.h[l], lv.w[l], lv.start[l] = int32(h), int32(w), int32(levelStart[l])
	}
	if err := d.checkAll(bufs{
		{"out", out, B * Q * H * D}, {"value", value, B * S * H * D},
		{"sampling locations", samplingLocs, B * Q * H * L * P * 2}, {"attention weights", attnWeights, B * Q * H * L * P},
	}); err != nil {
		return err
	}
	a := new(args).ptr(out).ptr(value).levels(&lv).ptr(samplingLocs).ptr(attnWeights).
		i32(B).i32(S).i32(H).i32(D).i32(Q).i32(L).i32(P)
	return d.launch(kMSDeform, blocksFor(int64(B*Q*H*D), false), threads, a)
}

// WindowPartition rolls src [B, H, W, C] by -shift on both spatial axes and
// cuts it into window×window windows: dst [B·(H/window)·(W/window), window², C].
// H and W must be multiples of window (pad first).
func (d *Device) WindowPartition(dst, src *Buffer, B, H, W, C, window, shift int) error {
	return d.window(dst, src, B, H, W, C, window, shift, false)
}

// WindowReverse is the inverse of WindowPartition: windows src back to
// dst [B, H, W, C], rolled by +shift.
func (d *Device) WindowReverse(dst, src *Buffer, B, H, W, C, window, shift int) error {
	return d.window(dst, src, B, H, W, C, window, shift, true)
}

func (d *Device) window(dst, src *Buffer, B, H, W, C, ws, shift int, reverse bool) error {
	if B < 0 || H <= 0 || W <= 0 || C <= 0 || ws <= 0 || H%ws != 0 || W%ws != 0 || shift < 0 || shift >= H || shift >= W {
		return fmt.Errorf("cuda: window partition of [%d, %d, %d, %d] with window %d, shift %d (H, W must be multiples of the window, 0 ≤ shift < H, W)", B, H, W, C, ws, shift)
	}
	n := B * H * W * C
	if err := d.checkAll(bufs{{"dst", dst, n}, {"src", src, n}}); err != nil {
		return err
	}
	rev := 0
	if reverse {
		rev = 1
	}
	return d.launch(kWindow, blocksFor(int64(n), false), threads,
		new(args).ptr(dst).ptr(src).i32(B).i32(H).i32(W).i32(C).i32(ws).i32(shift).i32(rev))
}

// GroupNorm normalises x [B, C, HW] in place over groups of C/groups
// channels, then applies per-channel weight and bias (nn.GroupNorm).
func (d *Device) GroupNorm(x, weight, bias *Buffer, B, C, HW, groups int, eps float32) error {
	if B < 0 || C <= 0 || HW <= 0 || groups <= 0 || C%groups != 0 {
		return fmt.Errorf("cuda: group norm of [%d, %d, %d] in %d groups", B, C, HW, groups)
	}
	if err := d.checkAll(bufs{{"x", x, B * C * HW}, {"weight", weight, C}, {"bias", bias, C}}); err != nil {
		return err
	}
	return d.launch(kGroupNorm, B*groups, threads, new(args).ptr(x).ptr(weight).ptr(bias).i32(B).i32(C).i32(HW).i32(groups).f32(eps))
}

// Im2col lays out one image in [C, H, W] as col [C·kh·kw, OH·OW] for a
// convolution with the given stride and zero padding (OH, OW as returned).
// The convolution is then Sgemm(weight [O, C·kh·kw], col).
func (d *Device) Im2col(col, in *Buffer, C, H, W, kh, kw, stride, pad int) (OH, OW int, err error) {
	if C <= 0 || H <= 0 || W <= 0 || kh <= 0 || kw <= 0 || stride <= 0 || pad < 0 {
		return 0, 0, fmt.Errorf("cuda: im2col of [%d, %d, %d] with kernel %d×%d, stride %d, pad %d", C, H, W, kh, kw, stride, pad)
	}
	OH = (H+2*pad-kh)/stride + 1
	OW = (W+2*pad-kw)/stride + 1
	if OH <= 0 || OW <= 0 {
		return 0, 0, fmt.Errorf("cuda: im2col kernel %d×%d larger than the padded image %d×%d", kh, kw, H+2*pad, W+2*pad)
	}
	n := C * kh * kw * OH * OW
	if err := d.checkAll(bufs{{"col", col, n}, {"in", in, C * H * W}}); err != nil {
		return 0, 0, err
	}
	return OH, OW, d.launch(kIm2col, blocksFor(int64(n), false), threads,
		new(args).ptr(col).ptr(in).i32(C).i32(H).i32(W).i32(kh).i32(kw).i32(stride).i32(pad).i32(OH).i32(OW))
}

// ResizeBilinear resizes N planes src [N, H, W] to dst [N, OH, OW] as
// PyTorch's bilinear interpolate with align_corners=False, no antialias
// (pass N = batch·channels for [B, C, H, W]).
func (d *Device) ResizeBilinear(dst, src *Buffer, N, H, W, OH, OW int) error {
	if N < 0 || H <= 0 || W <= 0 || OH <= 0 || OW <= 0 {
		return fmt.Errorf("cuda: resize of [%d, %d, %d] to %d×%d", N, H, W, OH, OW)
	}
	if err := d.checkAll(bufs{{"dst", dst, N * OH * OW}, {"src", src, N * H * W}}); err != nil {
		return err
	}
	return d.launch(kResize, blocksFor(int64(N*OH*OW), false), threads,
		new(args).ptr(dst).ptr(src).i32(N).i32(H).i32(W).i32(OH).i32(OW))
}

type namedBuf struct {
	name string
	b    *Buffer
	n    int
}

type bufs []namedBuf

func (d *Device) checkAll(list bufs) error {
	for _, nb := range list {
		if err := d.checkBuffer(nb.name, nb.b, nb.n); err != nil {
			return err
		}
	}
	return nil
}
