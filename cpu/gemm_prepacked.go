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
	data        []float32
	offs        []int // start of each (column block, k block) in data, in Sgemm's order
}

// PackB packs op(B) (k×n; B stored n×k when transB) into p, reusing p's
// buffer.
func PackB(p *PackedB, transB bool, k, n int, b []float32, ldb int) {
	packBWith(kernelInUse, p, transB, k, n, b, ldb)
}

func packBWith(kern *gemmKernel, p *PackedB, transB bool, k, n int, b []float32, ldb int) {
	if k < 0 || n < 0 {
		panic(fmt.Sprintf("cpu.PackB: negative size k=%d n=%d", k, n))
	}
	if k > 0 && n > 0 {
		checkOperand("cpu.PackB: B", transB, k, n, b, ldb)
	}
	nr := kern.nr
	p.kern, p.k, p.n = kern, k, n
	p.offs = p.offs[:0]
	if k == 0 || n == 0 {
		return
	}
	kc, nc, nPC, _ := bBlocks(kern, k, n)
	p.kc, p.nc, p.nPC = kc, nc, nPC
	size := 0
	for jc := 0; jc < n; jc += nc {
		for pc := 0; pc < k; pc += kc {
			p.offs = append(p.offs, size)
			size += min(kc, k-pc) * roundUp(min(nc, n-jc), nr)
		}
	}
	Grow(&p.data, size)
	g := &gemmCall{kern: kern, transB: transB, b: b, ldb: ldb, n: n, k: k}
	bi := 0
	for jc := 0; jc < n; jc += nc {
		ncur := min(nc, n-jc)
		for pc := 0; pc < k; pc += kc {
			kcur := min(kc, k-pc)
			blk := p.data[p.offs[bi]:]
			for jp := 0; jp*nr < ncur; jp++ {
				j := jc + jp*nr
				g.packB(blk[jp*nr*kcur:(jp+1)*nr*kcur], j, min(nr, n-j), pc, kcur)
			}
			bi++
		}
	}
}

// block returns packed block i (Sgemm's order: column blocks, then k blocks).
func (p *PackedB) block(i int) []float32 { return p.data[p.offs[i]:] }

// SgemmPackedB is Sgemm with op(B) from PackB: C = alpha*op(A)*op(B) +
// beta*C for an m-row op(A) (A stored k×m when transA).
func SgemmPackedB(transA bool, m int, alpha float32, a []float32, lda int, p *PackedB, beta float32, c []float32, ldc int) {
	if m == 0 || p.n == 0 {
		return
	}
	checkGemmAC(transA, m, p.n, p.k, a, lda, c, ldc)
	sgemmRun(p.kern, transA, false, m, p.n, p.k, alpha, a, lda, nil, 0, beta, nil, ActIdentity, p, c, ldc)
}
