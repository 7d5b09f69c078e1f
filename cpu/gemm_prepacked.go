package cpu

import "fmt"

// PackedB is the B operand of a product packed once, the way Sgemm packs it
// on every call, for several products that share it (the keys and values
// of one attention head, multiplied by one block of queries at a time).
// Its buffer is kept for the next PackB.
type PackedB struct {
	kern        *gemmKernel
	k, n        int
	kc, nc, nPC int
	bias        []float32 // PackBBias's bias (its own copy), or nil
	data        []float32
	offs        []int // start of each (column block, k block) in data, in Sgemm's order
}

// PackB packs op(B) (k×n; B stored n×k when transB) into p, reusing p's
// buffer.
func PackB(p *PackedB, transB bool, k, n int, b []float32, ldb int) {
	packBWith(kernelInUse, p, transB, k, n, b, ldb, nil)
}

// PackBBias is PackB with a bias (n values): products with p then add it
// to every row of C, as SgemmBias does (the bias is packed under the first
// k block, the row that the ones under A's panels multiply). It is a
// Linear layer's weight and bias packed once for many calls.
func PackBBias(p *PackedB, transB bool, k, n int, b []float32, ldb int, bias []float32) {
	if len(bias) < n {
		panic(fmt.Sprintf("cpu.PackBBias: %d bias values for n=%d", len(bias), n))
	}
	packBWith(kernelInUse, p, transB, k, n, b, ldb, bias[:n])
}

// packGrain is the packed B (in floats) worth packing over several cores.
const packGrain = 1 << 16

func packBWith(kern *gemmKernel, p *PackedB, transB bool, k, n int, b []float32, ldb int, bias []float32) {
	if k < 0 || n < 0 {
		panic(fmt.Sprintf("cpu.PackB: negative size k=%d n=%d", k, n))
	}
	if k > 0 && n > 0 {
		checkOperand("cpu.PackB: B", transB, k, n, b, ldb)
	}
	nr := kern.nr
	p.kern, p.k, p.n = kern, k, n
	p.bias = nil
	if bias != nil {
		p.bias = append(p.bias[:0:0], bias...)
	}
	p.offs = p.offs[:0]
	if k == 0 || n == 0 {
		return
	}
	kc, nc, nPC, _ := bBlocks(kern, k, n)
	p.kc, p.nc, p.nPC = kc, nc, nPC
	// Blocks in Sgemm's order, each of kb rows: the first k block has one
	// more, the bias, when there is one (see gemmCall.run).
	type panel struct{ off, j, pc, kcur, kb int }
	var panels []panel
	size := 0
	for jc := 0; jc < n; jc += nc {
		ncur := min(nc, n-jc)
		for pc := 0; pc < k; pc += kc {
			kcur := min(kc, k-pc)
			kb := kcur
			if bias != nil && pc == 0 {
				kb++
			}
			p.offs = append(p.offs, size)
			for jp := 0; jp*nr < ncur; jp++ {
				panels = append(panels, panel{size + jp*nr*kb, jc + jp*nr, pc, kcur, kb})
			}
			size += kb * roundUp(ncur, nr)
		}
	}
	Grow(&p.data, size)
	g := &gemmCall{kern: kern, transB: transB, b: b, ldb: ldb, n: n, k: k}
	pack := func(lo, hi int) {
		for _, q := range panels[lo:hi] {
			dst := p.data[q.off : q.off+nr*q.kb]
			cols := min(nr, n-q.j)
			g.packB(dst, q.j, cols, q.pc, q.kcur)
			if q.kb > q.kcur {
				row := dst[q.kcur*nr:]
				copy(row, bias[q.j:q.j+cols])
				clear(row[cols:])
			}
		}
	}
	if size < packGrain {
		pack(0, len(panels))
		return
	}
	ParallelFor(len(panels), pack)
}

// K and N are the packed op(B)'s sizes (k×n).
func (p *PackedB) K() int { return p.k }
func (p *PackedB) N() int { return p.n }

// block returns packed block i (Sgemm's order: column blocks, then k blocks).
func (p *PackedB) block(i int) []float32 { return p.data[p.offs[i]:] }

// SgemmPackedB is Sgemm with op(B) from PackB: C = alpha*op(A)*op(B) +
// beta*C for an m-row op(A) (A stored k×m when transA). With a bias from
// PackBBias, alpha must be 1: C = op(A)*op(B) + bias + beta*C.
func SgemmPackedB(transA bool, m int, alpha float32, a []float32, lda int, p *PackedB, beta float32, c []float32, ldc int) {
	if p.bias != nil && alpha != 1 {
		panic(fmt.Sprintf("cpu.SgemmPackedB: alpha %g with a packed bias", alpha))
	}
	sgemmPackedBAct(ActIdentity, transA, m, alpha, a, lda, p, beta, c, ldc)
}

// SgemmPackedBAct is SgemmAct with op(B) (and its bias, if any) from
// PackB or PackBBias: C = act(op(A))*op(B) [+ bias] + beta*C.
func SgemmPackedBAct(act Activation, transA bool, m int, a []float32, lda int, p *PackedB, beta float32, c []float32, ldc int) {
	if act > ActGELU {
		panic(fmt.Sprintf("cpu.SgemmPackedBAct: unknown activation %d", act))
	}
	sgemmPackedBAct(act, transA, m, 1, a, lda, p, beta, c, ldc)
}

func sgemmPackedBAct(act Activation, transA bool, m int, alpha float32, a []float32, lda int, p *PackedB, beta float32, c []float32, ldc int) {
	if m == 0 || p.n == 0 {
		return
	}
	checkGemmAC(transA, m, p.n, p.k, a, lda, c, ldc)
	sgemmRun(p.kern, transA, false, m, p.n, p.k, alpha, a, lda, nil, 0, beta, p.bias, act, p, c, ldc)
}
