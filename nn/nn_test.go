package nn

import (
	"math"
	"math/rand/v2"
	"testing"
)

func near(t *testing.T, name string, got, want []float32, tol float64) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d values, want %d", name, len(got), len(want))
	}
	for i := range want {
		if d := math.Abs(float64(got[i] - want[i])); d > tol+tol*math.Abs(float64(want[i])) {
			t.Fatalf("%s[%d] = %g, want %g", name, i, got[i], want[i])
		}
	}
}

func randn(r *rand.Rand, n int) []float32 {
	x := make([]float32, n)
	for i := range x {
		x[i] = float32(r.NormFloat64())
	}
	return x
}

func TestLinear(t *testing.T) {
	l := Linear{Weight: FromData([]float32{1, 2, 3, 4, 5, 6}, 3, 2), Bias: FromData([]float32{1, 0, -1}, 3)}
	y := l.Forward(FromData([]float32{1, 1, 2, -1}, 2, 2))
	near(t, "linear", Data(y), []float32{4, 7, 10, 1, 2, 3}, 1e-6)
	if s := Shape(y); s[0] != 2 || s[1] != 3 {
		t.Fatalf("shape %v", s)
	}
	l.Bias = nil
	near(t, "linear nobias", Data(l.Forward(FromData([]float32{1, 1}, 1, 2))), []float32{3, 7, 11}, 1e-6)
}

// TestLinearPrepack checks that a prepacked layer gives bit for bit what
// the layer packing its weight on every call gives, with and without a
// bias, plainly and with the input's activation (ForwardSliceAct), and
// that Prepack again follows changed weights.
func TestLinearPrepack(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	fill := func(x []float32) {
		for i := range x {
			x[i] = float32(r.NormFloat64())
		}
	}
	for _, bias := range []bool{true, false} {
		for _, rows := range []int{1, 7, 40} {
			plain := NewLinear(256, 300, bias)
			fill(Data(plain.Weight))
			if bias {
				fill(Data(plain.Bias))
			}
			x := make([]float32, rows*256)
			fill(x)
			packed := plain
			packed.Prepack()
			for _, act := range []Activation{"", "relu", "gelu"} {
				want, got := make([]float32, rows*300), make([]float32, rows*300)
				if act == "" {
					plain.ForwardSlice(want, x, rows)
					packed.ForwardSlice(got, x, rows)
				} else {
					plain.ForwardSliceAct(want, x, rows, act)
					packed.ForwardSliceAct(got, x, rows, act)
				}
				for i := range want {
					if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
						t.Fatalf("bias=%v rows=%d act=%q: y[%d] = %g, unpacked %g", bias, rows, act, i, got[i], want[i])
					}
				}
			}
			// The pack is a copy (so the products above used it): a changed
			// weight shows only after Prepack again.
			Data(packed.Weight)[0] += 1
			want, got := make([]float32, rows*300), make([]float32, rows*300)
			plain.ForwardSlice(want, x, rows) // plain shares the weight tensor
			packed.ForwardSlice(got, x, rows)
			if got[0] == want[0] {
				t.Fatalf("bias=%v rows=%d: the stale pack gave the new weight's y[0] %g", bias, rows, got[0])
			}
			packed.Prepack()
			packed.ForwardSlice(got, x, rows)
			for i := range want {
				if got[i] != want[i] {
					t.Fatalf("after Prepack again: y[%d] = %g, want %g", i, got[i], want[i])
				}
			}
		}
	}
}

func TestLayerNorm(t *testing.T) {
	n := LayerNorm{Weight: FromData([]float32{1, 2, 1}, 3), Bias: FromData([]float32{0, 0, 1}, 3), Eps: 0}
	y := n.Forward(FromData([]float32{1, 2, 3}, 1, 3))
	s := float32(math.Sqrt(1.5)) // 1/sqrt(var=2/3)
	near(t, "layernorm", Data(y), []float32{-s, 0, s + 1}, 1e-6)
}

func TestLayerNorm2d(t *testing.T) {
	// Two channels at each of two pixels: values (1,3) and (0,4).
	n := LayerNorm2d{Weight: FromData([]float32{1, 1}, 2), Bias: FromData([]float32{0, 0}, 2), Eps: 0}
	y := n.Forward(FromData([]float32{1, 0, 3, 4}, 1, 2, 1, 2))
	near(t, "layernorm2d", Data(y), []float32{-1, -1, 1, 1}, 1e-6)
}

func TestGroupNorm(t *testing.T) {
	// 4 channels, 2 groups, 1 pixel each: group values (1,3) and (2,2).
	g := GroupNorm{Weight: FromData([]float32{1, 1, 1, 2}, 4), Bias: FromData([]float32{0, 0, 5, 5}, 4), Groups: 2, Eps: 0}
	y := g.Forward(FromData([]float32{1, 3, 2, 2}, 1, 4, 1, 1))
	near(t, "groupnorm", Data(y), []float32{-1, 1, 5, 5}, 1e-6)
}

func TestActivations(t *testing.T) {
	near(t, "gelu", Data(GELU(FromData([]float32{1, -1, 0, 3}, 4))), []float32{0.8413447, -0.1586553, 0, 2.9959502}, 1e-6)
	near(t, "relu", Data(ReLU(FromData([]float32{1, -1}, 2))), []float32{1, 0}, 0)
	near(t, "sigmoid", Data(Sigmoid(FromData([]float32{0, 2}, 2))), []float32{0.5, 0.8807971}, 1e-6)
	near(t, "softmax", Data(Softmax(FromData([]float32{1, 2, 3, 0, 0, float32(math.Inf(-1))}, 2, 3))), []float32{0.09003057, 0.24472847, 0.66524096, 0.5, 0.5, 0}, 1e-6)
	all := []float32{float32(math.Inf(-1)), float32(math.Inf(-1))}
	SoftmaxRows(all, 2)
	near(t, "softmax all masked", all, []float32{0, 0}, 0)
}

// conv2dNaive is the textbook definition the im2col path must match.
func conv2dNaive(x, w, b []float32, B, C, H, W, O, k, stride, pad, groups int) []float32 {
	OH, OW := (H+2*pad-k)/stride+1, (W+2*pad-k)/stride+1
	Cg, Og := C/groups, O/groups
	y := make([]float32, B*O*OH*OW)
	for n := 0; n < B; n++ {
		for o := 0; o < O; o++ {
			g := o / Og
			for oy := 0; oy < OH; oy++ {
				for ox := 0; ox < OW; ox++ {
					s := b[o]
					for c := 0; c < Cg; c++ {
						for i := 0; i < k; i++ {
							for j := 0; j < k; j++ {
								iy, ix := oy*stride-pad+i, ox*stride-pad+j
								if iy < 0 || iy >= H || ix < 0 || ix >= W {
									continue
								}
								s += x[((n*C+g*Cg+c)*H+iy)*W+ix] * w[((o*Cg+c)*k+i)*k+j]
							}
						}
					}
					y[((n*O+o)*OH+oy)*OW+ox] = s
				}
			}
		}
	}
	return y
}

func TestConv2d(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for _, c := range []struct{ B, C, H, W, O, k, stride, pad, groups int }{
		{1, 3, 7, 9, 4, 3, 1, 1, 1},
		{2, 4, 8, 8, 6, 3, 2, 1, 2},
		{1, 3, 9, 10, 5, 4, 4, 0, 1},
		{1, 5, 4, 6, 7, 1, 1, 0, 1},
		{1, 4, 5, 5, 4, 3, 1, 1, 4},
	} {
		conv := NewConv2d(c.C, c.O, c.k, c.stride, c.pad, c.groups, true)
		copy(Data(conv.Weight), randn(r, len(Data(conv.Weight))))
		copy(Data(conv.Bias), randn(r, c.O))
		x := randn(r, c.B*c.C*c.H*c.W)
		y := conv.Forward(FromData(x, c.B, c.C, c.H, c.W))
		want := conv2dNaive(x, Data(conv.Weight), Data(conv.Bias), c.B, c.C, c.H, c.W, c.O, c.k, c.stride, c.pad, c.groups)
		near(t, "conv2d", Data(y), want, 1e-4)
	}
}

func TestConvTranspose2d(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	B, Cin, Cout, H, W, k, s := 2, 3, 4, 3, 5, 2, 2
	ct := NewConvTranspose2d(Cin, Cout, k, s)
	w := randn(r, Cin*Cout*k*k)
	copy(Data(ct.Weight), w)
	copy(Data(ct.Bias), randn(r, Cout))
	x := randn(r, B*Cin*H*W)
	y := ct.Forward(FromData(x, B, Cin, H, W))
	OH, OW := (H-1)*s+k, (W-1)*s+k
	want := make([]float32, B*Cout*OH*OW)
	for n := 0; n < B; n++ {
		for o := 0; o < Cout; o++ {
			for i := range OH * OW {
				want[(n*Cout+o)*OH*OW+i] = Data(ct.Bias)[o]
			}
			for c := 0; c < Cin; c++ {
				for iy := 0; iy < H; iy++ {
					for ix := 0; ix < W; ix++ {
						for a := 0; a < k; a++ {
							for bb := 0; bb < k; bb++ {
								want[((n*Cout+o)*OH+iy*s+a)*OW+ix*s+bb] += x[((n*Cin+c)*H+iy)*W+ix] * w[((c*Cout+o)*k+a)*k+bb]
							}
						}
					}
				}
			}
		}
	}
	near(t, "convtranspose", Data(y), want, 1e-4)
}

func TestEmbedding(t *testing.T) {
	e := Embedding{Weight: FromData([]float32{0, 1, 10, 11, 20, 21}, 3, 2)}
	y, err := e.Forward([]int64{2, 0})
	if err != nil {
		t.Fatal(err)
	}
	near(t, "embedding", Data(y), []float32{20, 21, 0, 1}, 0)
	if _, err := e.Forward([]int64{3}); err == nil {
		t.Fatal("out-of-range id accepted")
	}
}

func TestPermute(t *testing.T) {
	x := FromData([]float32{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11}, 2, 3, 2)
	y := Permute(x, 2, 0, 1)
	// y[k,i,j] = x[i,j,k]
	want := []float32{0, 2, 4, 6, 8, 10, 1, 3, 5, 7, 9, 11}
	near(t, "permute", Data(y), want, 0)
	if s := Shape(y); s[0] != 2 || s[1] != 2 || s[2] != 3 {
		t.Fatalf("shape %v", s)
	}
}

func TestAttentionMasked(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	B, H, Lq, Lk, D := 2, 2, 3, 4, 5
	q, k, v := randn(r, B*H*Lq*D), randn(r, B*H*Lk*D), randn(r, B*H*Lk*D)
	keep := make([]bool, B*Lq*Lk)
	for i := range keep {
		keep[i] = i%4 != 3 // the last key is masked everywhere
	}
	mask := BoolMask(keep, B, 1, Lq, Lk)
	out := Attention(FromData(q, B, H, Lq, D), FromData(k, B, H, Lk, D), FromData(v, B, H, Lk, D), mask, 0.5)
	want := make([]float32, B*H*Lq*D)
	for b := 0; b < B; b++ {
		for h := 0; h < H; h++ {
			bh := b*H + h
			for i := 0; i < Lq; i++ {
				s := make([]float64, Lk)
				mx := math.Inf(-1)
				for j := 0; j < Lk-1; j++ {
					for d := 0; d < D; d++ {
						s[j] += float64(q[(bh*Lq+i)*D+d] * k[(bh*Lk+j)*D+d])
					}
					s[j] *= 0.5
					mx = math.Max(mx, s[j])
				}
				var z float64
				for j := 0; j < Lk-1; j++ {
					s[j] = math.Exp(s[j] - mx)
					z += s[j]
				}
				for d := 0; d < D; d++ {
					var acc float64
					for j := 0; j < Lk-1; j++ {
						acc += s[j] / z * float64(v[(bh*Lk+j)*D+d])
					}
					want[(bh*Lq+i)*D+d] = float32(acc)
				}
			}
		}
	}
	near(t, "attention", Data(out), want, 1e-5)
}

func TestMLP(t *testing.T) {
	m := MLP{Act: "relu", Layers: []Linear{
		{Weight: FromData([]float32{1, -1}, 2, 1), Bias: FromData([]float32{0, 0}, 2)},
		{Weight: FromData([]float32{1, 1}, 1, 2), Bias: FromData([]float32{0.5}, 1)},
	}}
	// x=2 → [2,-2] → relu [2,0] → 2.5
	near(t, "mlp", Data(m.Forward(FromData([]float32{2}, 1, 1))), []float32{2.5}, 1e-6)
}

// TestMLPMatchesLayerByLayer checks the fused MLP (each layer's activation
// applied by the next product as it packs it) against activating every
// hidden layer in memory first: three layers, GELU, 37 rows (short edge
// panels), bit for bit.
func TestMLPMatchesLayerByLayer(t *testing.T) {
	m := NewMLP(24, 40, 5, 3, "gelu")
	for i := range m.Layers {
		w, b := Data(m.Layers[i].Weight), Data(m.Layers[i].Bias)
		for j := range w {
			w[j] = float32((j*7+i*3)%23)/11 - 1
		}
		for j := range b {
			b[j] = float32(j%5)/4 - 0.5
		}
	}
	x := New(37, 24)
	for j, d := 0, Data(x); j < len(d); j++ {
		d[j] = float32((j*13)%31)/10 - 1.5
	}
	got := Data(m.Forward(x))
	in := Data(x)
	for i := range m.Layers {
		l := &m.Layers[i]
		y := make([]float32, 37*l.Out())
		l.ForwardSlice(y, in, 37)
		if i < len(m.Layers)-1 {
			GELUInPlace(y)
		}
		in = y
	}
	for j := range in {
		if math.Float32bits(got[j]) != math.Float32bits(in[j]) {
			t.Fatalf("out[%d] = %g, layer by layer %g", j, got[j], in[j])
		}
	}
}
