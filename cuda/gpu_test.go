package cuda

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/gsam-go/gsam/cpu"
	"github.com/gsam-go/gsam/nn"
	"github.com/gsam-go/gsam/parity"
)

// These tests compare every kernel and Sgemm with the CPU implementation.
// They skip, with the reason, only where no GPU is usable.

func openGPU(t *testing.T) *Device {
	t.Helper()
	if ok, reason := Available(); !ok {
		t.Skip(reason)
	}
	d, err := Open(Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := d.Close(); err != nil {
			t.Error(err)
		}
	})
	t.Logf("device: %s", d)
	return d
}

func randSlice(r *rand.Rand, n int, lo, hi float32) []float32 {
	s := make([]float32, n)
	for i := range s {
		s[i] = lo + (hi-lo)*r.Float32()
	}
	return s
}

func upload(t *testing.T, d *Device, host []float32) *Buffer {
	t.Helper()
	b, err := d.Upload(host)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(b.Free)
	return b
}

func alloc(t *testing.T, d *Device, n int) *Buffer {
	t.Helper()
	b, err := d.Alloc(n)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(b.Free)
	return b
}

func download(t *testing.T, d *Device, b *Buffer) []float32 {
	t.Helper()
	out, err := d.Download(b)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func compare(t *testing.T, name string, got, want []float32) {
	t.Helper()
	r := parity.Compare(name, got, []int{len(got)}, want, []int{len(want)}, parity.Default)
	if !r.OK() {
		t.Error(r.String())
	} else {
		t.Log(r.String())
	}
}

func TestGPUSgemm(t *testing.T) {
	d := openGPU(t)
	r := rand.New(rand.NewPCG(1, 2))
	const m, n, k = 37, 53, 29
	for _, tr := range [][2]bool{{false, false}, {false, true}, {true, false}, {true, true}} {
		ta, tb := tr[0], tr[1]
		lda, ldb, ldc := k+3, n+1, n+5
		ar, br := m, k
		if ta {
			ar, lda = k, m+2
		}
		if tb {
			br, ldb = n, k+4
		}
		a := randSlice(r, ar*lda, -1, 1)
		b := randSlice(r, br*ldb, -1, 1)
		c := randSlice(r, m*ldc, -1, 1)
		want := append([]float32(nil), c...)
		cpu.SgemmReference(ta, tb, m, n, k, 0.7, a, lda, b, ldb, -0.3, want, ldc)
		ab, bb, cb := upload(t, d, a), upload(t, d, b), upload(t, d, c)
		must(t, d.Sgemm(ta, tb, m, n, k, 0.7, ab, lda, bb, ldb, -0.3, cb, ldc))
		compare(t, "sgemm", download(t, d, cb), want)
	}
	// Strided batched, as attention's per-head q·kᵀ.
	const batch = 5
	a := randSlice(r, batch*m*k, -1, 1)
	b := randSlice(r, batch*n*k, -1, 1)
	want := make([]float32, batch*m*n)
	for i := 0; i < batch; i++ {
		cpu.SgemmReference(false, true, m, n, k, 1, a[i*m*k:], k, b[i*n*k:], k, 0, want[i*m*n:], n)
	}
	ab, bb, cb := upload(t, d, a), upload(t, d, b), alloc(t, d, batch*m*n)
	must(t, d.SgemmStridedBatched(false, true, m, n, k, 1, ab, k, m*k, bb, k, n*k, 0, cb, n, m*n, batch))
	compare(t, "sgemm strided batched", download(t, d, cb), want)
	// TF32 on a large product: only a loose check (10-bit mantissa products).
	must(t, d.SetTF32(true))
	must(t, d.Sgemm(false, true, m, n, k, 1, ab, k, bb, k, 0, cb, n))
	got := download(t, d, cb)
	var maxErr float64
	for i := 0; i < m*n; i++ {
		maxErr = max(maxErr, math.Abs(float64(got[i]-want[i])))
	}
	t.Logf("TF32 max abs error %.3g", maxErr)
	if maxErr > 0.05 {
		t.Errorf("TF32 Sgemm error %.3g too large", maxErr)
	}
	must(t, d.SetTF32(false))
}

func TestGPULayerNormGELUBias(t *testing.T) {
	d := openGPU(t)
	r := rand.New(rand.NewPCG(3, 4))
	const rows, dim = 67, 771
	x := randSlice(r, rows*dim, -3, 5)
	ln := nn.NewLayerNorm(dim, 1e-12)
	copy(nn.Data(ln.Weight), randSlice(r, dim, 0.5, 1.5))
	copy(nn.Data(ln.Bias), randSlice(r, dim, -0.5, 0.5))
	want := append([]float32(nil), x...)
	ln.ForwardInPlace(want)
	xb := upload(t, d, x)
	must(t, d.LayerNorm(xb, upload(t, d, nn.Data(ln.Weight)), upload(t, d, nn.Data(ln.Bias)), rows, dim, 1e-12))
	compare(t, "layernorm", download(t, d, xb), want)

	g := randSlice(r, 100003, -6, 6)
	wantG := append([]float32(nil), g...)
	nn.GELUInPlace(wantG)
	gb := upload(t, d, g)
	must(t, d.GELU(gb, len(g)))
	compare(t, "gelu", download(t, d, gb), wantG)

	y := randSlice(r, rows*dim, -1, 1)
	bias := randSlice(r, dim, -1, 1)
	wantY := append([]float32(nil), y...)
	for i := range wantY {
		wantY[i] += bias[i%dim]
	}
	yb := upload(t, d, y)
	must(t, d.BiasAdd(yb, upload(t, d, bias), rows, dim))
	compare(t, "bias add", download(t, d, yb), wantY)
}

func TestGPUSoftmax(t *testing.T) {
	d := openGPU(t)
	r := rand.New(rand.NewPCG(5, 6))
	const B, H, Lq, Lk = 2, 3, 17, 300
	for _, mb := range [][2]int{{1, 1}, {B, 1}, {1, H}, {B, H}, {0, 0}} {
		x := randSlice(r, B*H*Lq*Lk, -8, 8)
		var mask []float32
		var maskBuf *Buffer
		if mb[0] > 0 {
			mask = make([]float32, mb[0]*mb[1]*Lq*Lk)
			for i := range mask {
				switch r.IntN(4) {
				case 0:
					mask[i] = float32(math.Inf(-1))
				case 1:
					mask[i] = -math.MaxFloat32
				}
			}
			// One fully blocked row: zeros, not NaN.
			for j := 0; j < Lk; j++ {
				mask[3*Lk+j] = float32(math.Inf(-1))
			}
			maskBuf = upload(t, d, mask)
		}
		want := append([]float32(nil), x...)
		for b := 0; b < B; b++ {
			for h := 0; h < H; h++ {
				for q := 0; q < Lq; q++ {
					row := want[((b*H+h)*Lq+q)*Lk : ((b*H+h)*Lq+q+1)*Lk]
					if mask != nil {
						mbi, mhi := b%mb[0], h%mb[1]
						m := mask[((mbi*mb[1]+mhi)*Lq+q)*Lk:]
						for j := range row {
							row[j] += m[j]
						}
					}
					nn.SoftmaxRows(row, Lk)
				}
			}
		}
		xb := upload(t, d, x)
		must(t, d.SoftmaxRows(xb, B, H, Lq, Lk, maskBuf, mb[0], mb[1]))
		compare(t, "softmax", download(t, d, xb), want)
	}
}

func TestGPUMSDeformAttn(t *testing.T) {
	d := openGPU(t)
	r := rand.New(rand.NewPCG(7, 8))
	shapes := [][2]int{{23, 31}, {12, 16}, {6, 8}, {3, 4}}
	starts := make([]int, len(shapes))
	S := 0
	for l, s := range shapes {
		starts[l] = S
		S += s[0] * s[1]
	}
	const B, H, D, Q, L, P = 2, 4, 32, 111, 4, 4
	value := randSlice(r, B*S*H*D, -1, 1)
	locs := randSlice(r, B*Q*H*L*P*2, -0.1, 1.1) // some samples fall outside
	weights := randSlice(r, B*Q*H*L*P, 0, 1)
	want := make([]float32, B*Q*H*D)
	cpu.MSDeformAttnReference(want, value, shapes, starts, locs, weights, B, S, H, D, Q, L, P)
	out := alloc(t, d, B*Q*H*D)
	must(t, d.MSDeformAttn(out, upload(t, d, value), shapes, starts, upload(t, d, locs), upload(t, d, weights), B, S, H, D, Q, L, P))
	compare(t, "msdeform", download(t, d, out), want)
}

// windowRef is Swin's roll(-shift) + window partition on the host.
func windowRef(src []float32, B, H, W, C, ws, shift int) []float32 {
	dst := make([]float32, len(src))
	nWy, nWx := H/ws, W/ws
	i := 0
	for b := 0; b < B; b++ {
		for wy := 0; wy < nWy; wy++ {
			for wx := 0; wx < nWx; wx++ {
				for ty := 0; ty < ws; ty++ {
					for tx := 0; tx < ws; tx++ {
						y := (wy*ws + ty + shift) % H
						x := (wx*ws + tx + shift) % W
						copy(dst[i:i+C], src[((b*H+y)*W+x)*C:])
						i += C
					}
				}
			}
		}
	}
	return dst
}

func TestGPUWindowPartition(t *testing.T) {
	d := openGPU(t)
	r := rand.New(rand.NewPCG(9, 10))
	const B, H, W, C, ws = 2, 14, 21, 5, 7
	for _, shift := range []int{0, 3} {
		x := randSlice(r, B*H*W*C, -1, 1)
		xb, wb, back := upload(t, d, x), alloc(t, d, len(x)), alloc(t, d, len(x))
		must(t, d.WindowPartition(wb, xb, B, H, W, C, ws, shift))
		compare(t, "window partition", download(t, d, wb), windowRef(x, B, H, W, C, ws, shift))
		must(t, d.WindowReverse(back, wb, B, H, W, C, ws, shift))
		compare(t, "window reverse", download(t, d, back), x)
	}
}

func TestGPUGroupNorm(t *testing.T) {
	d := openGPU(t)
	r := rand.New(rand.NewPCG(11, 12))
	const B, C, Hh, Ww, G = 2, 64, 13, 9, 32
	gn := nn.NewGroupNorm(G, C, 1e-5)
	copy(nn.Data(gn.Weight), randSlice(r, C, 0.5, 1.5))
	copy(nn.Data(gn.Bias), randSlice(r, C, -0.5, 0.5))
	x := randSlice(r, B*C*Hh*Ww, -2, 3)
	want := nn.Data(gn.Forward(nn.FromData(append([]float32(nil), x...), B, C, Hh, Ww)))
	xb := upload(t, d, x)
	must(t, d.GroupNorm(xb, upload(t, d, nn.Data(gn.Weight)), upload(t, d, nn.Data(gn.Bias)), B, C, Hh*Ww, G, 1e-5))
	compare(t, "groupnorm", download(t, d, xb), want)
}

func TestGPUConvIm2col(t *testing.T) {
	d := openGPU(t)
	r := rand.New(rand.NewPCG(13, 14))
	const C, O, H, W = 6, 10, 19, 23
	for _, kc := range [][3]int{{3, 2, 1}, {3, 1, 1}, {7, 2, 3}, {1, 1, 0}} {
		k, stride, pad := kc[0], kc[1], kc[2]
		conv := nn.NewConv2d(C, O, k, stride, pad, 1, false)
		copy(nn.Data(conv.Weight), randSlice(r, O*C*k*k, -0.5, 0.5))
		x := randSlice(r, C*H*W, -1, 1)
		want := nn.Data(conv.Forward(nn.FromData(append([]float32(nil), x...), 1, C, H, W)))
		OH, OW := conv.OutSize(H, W)
		col := alloc(t, d, C*k*k*OH*OW)
		oh, ow, err := d.Im2col(col, upload(t, d, x), C, H, W, k, k, stride, pad)
		must(t, err)
		if oh != OH || ow != OW {
			t.Fatalf("im2col output %d×%d, conv %d×%d", oh, ow, OH, OW)
		}
		y := alloc(t, d, O*OH*OW)
		must(t, d.Sgemm(false, false, O, OH*OW, C*k*k, 1, upload(t, d, nn.Data(conv.Weight)), C*k*k, col, OH*OW, 0, y, OH*OW))
		compare(t, "conv via im2col", download(t, d, y), want)
	}
}

// resizeRef is PyTorch's bilinear interpolate (align_corners=False) on the host.
func resizeRef(src []float32, N, H, W, OH, OW int) []float32 {
	dst := make([]float32, N*OH*OW)
	sh, sw := float32(H)/float32(OH), float32(W)/float32(OW)
	for n := 0; n < N; n++ {
		p := src[n*H*W:]
		for oy := 0; oy < OH; oy++ {
			fy := max((float32(oy)+0.5)*sh-0.5, 0)
			y0 := int(fy)
			y1 := min(y0+1, H-1)
			ly := fy - float32(y0)
			for ox := 0; ox < OW; ox++ {
				fx := max((float32(ox)+0.5)*sw-0.5, 0)
				x0 := int(fx)
				x1 := min(x0+1, W-1)
				lx := fx - float32(x0)
				dst[(n*OH+oy)*OW+ox] = (1-ly)*((1-lx)*p[y0*W+x0]+lx*p[y0*W+x1]) + ly*((1-lx)*p[y1*W+x0]+lx*p[y1*W+x1])
			}
		}
	}
	return dst
}

func TestGPUResizeBilinear(t *testing.T) {
	d := openGPU(t)
	r := rand.New(rand.NewPCG(15, 16))
	const N, H, W = 3, 17, 29
	x := randSlice(r, N*H*W, -1, 1)
	xb := upload(t, d, x)
	for _, o := range [][2]int{{64, 48}, {8, 11}, {17, 29}} {
		out := alloc(t, d, N*o[0]*o[1])
		must(t, d.ResizeBilinear(out, xb, N, H, W, o[0], o[1]))
		compare(t, "resize", download(t, d, out), resizeRef(x, N, H, W, o[0], o[1]))
	}
}

func TestGPUAllocatorAndViews(t *testing.T) {
	d := openGPU(t)
	a, err := d.Alloc(1000)
	must(t, err)
	p := a.ptr
	a.Free()
	a.Free() // twice is harmless
	if s := d.MemStats(); s.Cached != int64(bucket(4000)) || s.InUse != 0 {
		t.Errorf("after free: %+v", s)
	}
	b, err := d.Alloc(900) // same bucket: the cached block comes back
	must(t, err)
	if b.ptr != p {
		t.Errorf("cached block not reused")
	}
	host := make([]float32, 900)
	for i := range host {
		host[i] = float32(i)
	}
	must(t, d.CopyToDevice(b, host))
	v, err := b.View(100, 50)
	must(t, err)
	got := download(t, d, v)
	if got[0] != 100 || got[49] != 149 {
		t.Errorf("view reads %v … %v", got[0], got[49])
	}
	b.Free()
	must(t, d.EmptyCache())
	if s := d.MemStats(); s.Cached != 0 {
		t.Errorf("after EmptyCache: %+v", s)
	}
	must(t, d.CompileKernels())
	must(t, d.Synchronize())
}

// BenchmarkGPUSgemm4096 measures 4096³ fp32 Sgemm (and TF32 with -tf32 via SetTF32 in a sub-benchmark).
func BenchmarkGPUSgemm4096(b *testing.B) {
	if ok, reason := Available(); !ok {
		b.Skip(reason)
	}
	d, err := Open(Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer d.Close()
	const n = 4096
	r := rand.New(rand.NewPCG(1, 1))
	x := randSlice(r, n*n, -1, 1)
	var bufs [3]*Buffer
	for i := range bufs {
		if bufs[i], err = d.Upload(x); err != nil {
			b.Fatal(err)
		}
	}
	for _, tf32 := range []bool{false, true} {
		name := "fp32"
		if tf32 {
			name = "tf32"
		}
		b.Run(name, func(b *testing.B) {
			if err := d.SetTF32(tf32); err != nil {
				b.Fatal(err)
			}
			for i := 0; i < b.N; i++ {
				if err := d.Sgemm(false, true, n, n, n, 1, bufs[0], n, bufs[1], n, 0, bufs[2], n); err != nil {
					b.Fatal(err)
				}
			}
			if err := d.Synchronize(); err != nil {
				b.Fatal(err)
			}
			b.ReportMetric(2*n*n*n*float64(b.N)/b.Elapsed().Seconds()/1e12, "TFLOP/s")
		})
	}
}

// BenchmarkGPUMSDeformAttn is Grounding DINO tiny's encoder deformable
// attention at 800×1333 (about 17,700 queries, 8 heads × 32, 4 levels × 4 points).
func BenchmarkGPUMSDeformAttn(b *testing.B) {
	if ok, reason := Available(); !ok {
		b.Skip(reason)
	}
	d, err := Open(Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer d.Close()
	shapes := [][2]int{{100, 167}, {50, 84}, {25, 42}, {13, 21}}
	starts := make([]int, 4)
	S := 0
	for l, s := range shapes {
		starts[l] = S
		S += s[0] * s[1]
	}
	const B, H, D, L, P = 1, 8, 32, 4, 4
	Q := S
	r := rand.New(rand.NewPCG(2, 2))
	value, _ := d.Upload(randSlice(r, B*S*H*D, -1, 1))
	locs, _ := d.Upload(randSlice(r, B*Q*H*L*P*2, 0, 1))
	w, _ := d.Upload(randSlice(r, B*Q*H*L*P, 0, 1))
	out, err := d.Alloc(B * Q * H * D)
	if err != nil || value == nil || locs == nil || w == nil {
		b.Fatal("allocation failed", err)
	}
	if err := d.CompileKernels(); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if err := d.MSDeformAttn(out, value, shapes, starts, locs, w, B, S, H, D, Q, L, P); err != nil {
			b.Fatal(err)
		}
	}
	if err := d.Synchronize(); err != nil {
		b.Fatal(err)
	}
}
