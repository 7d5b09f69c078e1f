package cpu

import (
	"runtime"
	"sync"
	"sync/atomic"
	"time"
)

// Packed GEMM in the BLIS/GotoBLAS style. For each kc×nc block of op(B)
// (packed once, shared by all workers, in nr-column panels) every worker packs
// mc×kc blocks of op(A) into mr-row panels and runs the micro-kernel over
// mr×nr tiles of C. Packing zero-pads the edges, so the micro-kernel always
// sees full panels; partial tiles of C go through a small scratch tile.

// microKernel computes the mr×nr tile C = alpha*A*B + beta*C from packed
// panels a (kc×mr, row p at a[p*mr]) and b (kc×nr). ldc is in elements.
// beta == 0 must overwrite C without reading it.
type microKernel func(kc int, a, b, c *float32, ldc int, alpha, beta float32)

type gemmKernel struct {
	name       string
	mr, nr     int
	kc, mc, nc int // cache blocking: kc×nr B panel in L1, mc×kc A block in L2, kc×nc B block in L3
	micro      microKernel
	// packBT, if set, packs the first rows of a full nr-column panel of a
	// transposed B (dst[p*nr+x] = b[off+x*ldb+p]) and says how many it did.
	packBT func(dst, b []float32, off, ldb, kc int) int
	// packA, if set, packs the first columns of a full mr-row panel of a
	// non-transposed A (dst[p*mr+r] = a[off+r*lda+p]) and says how many it
	// did; it may write up to 8 floats past them.
	packA func(dst, a []float32, off, lda, kc int) int
	// packB, if set, copies the first rows of a full nr-column panel of a
	// row-major B (dst[p*nr+x] = b[off+p*ldb+x]) and says how many it did.
	packB func(dst, b []float32, off, ldb, kc int) int
	// packBN, if set, packs np adjacent full nr-column panels of a row-major
	// B, all kc rows (panel q at dst[q*nr*kc:]), row by row across them.
	packBN func(dst, b []float32, off, ldb, kc, np int)
	// packAT, if set, packs the first columns of a full mr-row panel of a
	// transposed A (dst[p*mr+r] = a[off+p*lda+r]) and says how many it did.
	packAT func(dst, a []float32, off, lda, kc int) int
}

// kernelInUse is the kernel Sgemm runs; set by the per-architecture init.
var kernelInUse *gemmKernel

// gemmParallelMin is the m*n*k below which a call stays on one goroutine:
// starting workers costs a few microseconds.
var gemmParallelMin = 1 << 18

// gemmWorkers is how many goroutines a large call uses.
func gemmWorkers() int { return runtime.GOMAXPROCS(0) }

// gemmCall is one Sgemm call, shared by its workers. It lives in a pool so
// that steady-state calls do not allocate buffers.
//
// Work is split into blocks (one per packed kc×nc block of B), each with a
// packing phase and a compute phase whose units the workers claim from
// atomic counters. B blocks alternate between two buffers, so that a worker
// that finds no compute unit left in one block packs the next one while the
// others finish; a block's compute phase still waits for the previous block
// (blocks of the same columns accumulate onto C). A worker only ever waits
// for units that another worker has claimed and is running, never for a
// helper goroutine that has not started yet: a late helper finds the work
// taken and leaves, and the caller returns without waiting for it (the last
// one out recycles the call).
type gemmCall struct {
	kern           *gemmKernel
	transA, transB bool
	m, n, k        int
	alpha, beta    float32
	a, b, c        []float32
	lda, ldb, ldc  int
	// bias, if set, is added to every row of C. It rides in the product as
	// one more k step of the first k block: a row of ones under the packed
	// A panels and the bias under the packed B panels, so no pass over C
	// is needed and the kernels do not change.
	bias []float32
	// pre, if set, holds op(B) already packed (PackB): no B packing phase.
	pre *PackedB
	// act is applied to every packed panel of A (SgemmAct).
	act Activation

	kc, nc   int
	rowStep  int // mr-row panels per row chunk (one packed A block)
	nRowChk  int // row chunks
	colGrps  int // column groups of each split row chunk
	fullRows int // leading row chunks that are one unit each; the rest are split
	units    int // compute units per block: fullRows + (nRowChk-fullRows)*colGrps

	blocks []gemmBlock
	refs   atomic.Int64 // participants still running
	// Packing buffers, pooled apart from the call: only workers that claim
	// units touch them, and all units are done when the caller returns, so
	// the caller recycles them at once even if a late helper still holds
	// the call itself.
	bufs *gemmBufs
}

type gemmBufs struct {
	bPack [2][]float32 // B blocks alternate between the two
	ws    []gemmWorker
}

// gemmBlock counts the claimed and finished units of one B block.
type gemmBlock struct {
	packNext, packDone atomic.Int64
	workNext, workDone atomic.Int64
	_                  [32]byte // keep neighbouring blocks' counters apart
}

type gemmWorker struct {
	aPack []float32
	tile  []float32
}

var gemmPool sync.Pool

// gemmBufFree holds the packing buffers (two 4 MB B blocks and the
// workers' A blocks) between calls. Unlike a sync.Pool it keeps them
// across garbage collections, which would otherwise drop them every other
// cycle and make the next large product allocate and fault them in again.
var gemmBufFree FreeList[gemmBufs]

// bBlocks is the blocking of a k×n op(B) for kern: kc×nc blocks, nPC
// along k and nJC along n, of even sizes (k=300 runs as 2×150, not 256+44).
func bBlocks(kern *gemmKernel, k, n int) (kc, nc, nPC, nJC int) {
	nPC = ceilDiv(k, kern.kc)
	nJC = ceilDiv(n, kern.nc)
	return ceilDiv(k, nPC), roundUp(ceilDiv(n, nJC), kern.nr), nPC, nJC
}

func roundUp(x, m int) int { return (x + m - 1) / m * m }
func ceilDiv(x, m int) int { return (x + m - 1) / m }

// split returns part w of n items cut into `parts` near-equal ranges.
func split(n, parts, w int) (lo, hi int) {
	q, r := n/parts, n%parts
	lo = w*q + min(w, r)
	hi = lo + q
	if w < r {
		hi++
	}
	return lo, hi
}

// sgemmPacked runs the blocked algorithm with kernel kern. Arguments are
// assumed checked (see checkGemmArgs).
func sgemmPacked(kern *gemmKernel, transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	sgemmPackedBias(kern, transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, nil, c, ldc)
}

// sgemmPackedBias is sgemmPacked with bias (nil: none) added to every row of
// C; with a bias, alpha must be 1.
func sgemmPackedBias(kern *gemmKernel, transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, bias, c []float32, ldc int) {
	sgemmRun(kern, transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, bias, ActIdentity, nil, c, ldc)
}

// sgemmRun is the blocked algorithm with act applied to the packed A; with
// pre (then b is unused and bias is pre.bias) op(B) comes packed already.
func sgemmRun(kern *gemmKernel, transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, bias []float32, act Activation, pre *PackedB, c []float32, ldc int) {
	if m == 0 || n == 0 {
		return
	}
	if k == 0 {
		scaleC(m, n, beta, c, ldc)
		if bias != nil {
			for i := 0; i < m; i++ {
				for j, v := range bias[:n] {
					c[i*ldc+j] += v
				}
			}
		}
		return
	}
	workers := gemmWorkers()
	if int64(m)*int64(n)*int64(k) < int64(gemmParallelMin) {
		workers = 1
	}
	g, _ := gemmPool.Get().(*gemmCall)
	if g == nil {
		g = new(gemmCall)
	}
	g.kern, g.transA, g.transB, g.m, g.n, g.k = kern, transA, transB, m, n, k
	g.alpha, g.beta, g.a, g.b, g.c = alpha, beta, a, b, c
	g.lda, g.ldb, g.ldc = lda, ldb, ldc
	g.bias, g.pre, g.act = bias, pre, act
	mr, nr := kern.mr, kern.nr

	nPC, nJC := 0, 0
	g.kc, g.nc, nPC, nJC = bBlocks(kern, k, n)
	mp := ceilDiv(m, mr)
	g.nRowChk = ceilDiv(mp*mr, kern.mc)
	g.rowStep = ceilDiv(mp, g.nRowChk)
	g.nRowChk = ceilDiv(mp, g.rowStep)
	// Several units per worker, so that the wait at the end of a block (for
	// the last unit) is short: with few row chunks the last ones are split
	// into column groups. Only the last ones: every worker that takes a
	// piece of a chunk packs all of its A, which for a 2048-row FFN block
	// (15 chunks, k = 2048) cost as much again as its whole A packing.
	g.colGrps, g.fullRows = 1, g.nRowChk
	if workers > 1 {
		np := ceilDiv(min(n, g.nc), nr)
		for g.nRowChk*g.colGrps < 8*workers && np >= 8*g.colGrps {
			g.colGrps *= 2
		}
		if g.colGrps > 1 {
			g.fullRows = max(0, g.nRowChk-workers)
		}
	}
	g.units = g.fullRows + (g.nRowChk-g.fullRows)*g.colGrps

	nblocks := nPC * nJC
	if len(g.blocks) < nblocks {
		g.blocks = make([]gemmBlock, nblocks)
	}
	for i := range g.blocks[:nblocks] {
		bl := &g.blocks[i]
		bl.packNext.Store(0)
		bl.packDone.Store(0)
		bl.workNext.Store(0)
		bl.workDone.Store(0)
	}
	bufs := gemmBufFree.Get()
	g.bufs = bufs
	need := (g.kc + 1) * roundUp(min(n, g.nc), nr) // +1: the bias row
	for i := range min(nblocks, 2) {
		if len(bufs.bPack[i]) < need && pre == nil {
			bufs.bPack[i] = make([]float32, need)
		}
	}
	if len(bufs.ws) < workers {
		bufs.ws = append(bufs.ws, make([]gemmWorker, workers-len(bufs.ws))...)
	}
	for i := range bufs.ws[:workers] {
		w := &bufs.ws[i]
		if need := (g.kc+1)*g.rowStep*mr + 8; len(w.aPack) < need { // +1: the ones row; +8: see gemmKernel.packA
			w.aPack = make([]float32, need)
		}
		if need := mr * nr; len(w.tile) < need {
			w.tile = make([]float32, need)
		}
	}

	g.refs.Store(int64(workers))
	for w := 1; w < workers; w++ {
		g.spawnHelper(w)
	}
	g.run(0)
	// Helpers may still be finishing units of the last block.
	waitCount(&g.blocks[nblocks-1].workDone, g.units)
	gemmBufFree.Put(bufs)
	g.release()
}

// spawnHelper starts worker w. (A closure built in sgemmRun's loop
// would move the loop variable to the heap even for calls that start no
// helper.)
func (g *gemmCall) spawnHelper(w int) { spawn(func() { g.runHelper(w) }) }

func (g *gemmCall) runHelper(w int) {
	g.run(w)
	g.release()
}

// release drops one participant; the last one recycles the call.
func (g *gemmCall) release() {
	if g.refs.Add(-1) == 0 {
		g.a, g.b, g.c, g.bias, g.pre = nil, nil, nil, nil, nil
		gemmPool.Put(g)
	}
}

// waitCount waits until ctr reaches n. Only units that some worker has
// claimed are outstanding, so the wait is short: spin, then back off.
func waitCount(ctr *atomic.Int64, n int) {
	for i := 0; ctr.Load() < int64(n); i++ {
		if i < 1000 {
			runtime.Gosched()
		} else {
			time.Sleep(20 * time.Microsecond)
		}
	}
}

func (g *gemmCall) run(w int) {
	kern := g.kern
	mr, nr := kern.mr, kern.nr
	var bufs *gemmBufs // read only after claiming a unit: see gemmCall.bufs
	var bPack []float32
	mp := ceilDiv(g.m, mr)
	bi := 0
	for jc := 0; jc < g.n; jc += g.nc {
		ncur := min(g.nc, g.n-jc)
		npanels := ceilDiv(ncur, nr)
		packGrp := max(1, npanels/16)
		packUnits := ceilDiv(npanels, packGrp)
		for pc := 0; pc < g.k; pc += g.kc {
			kcur := min(g.kc, g.k-pc)
			kb := kcur // packed k rows: one more for the bias in the first block
			if g.bias != nil && pc == 0 {
				kb++
			}
			beta := g.beta
			if pc > 0 {
				beta = 1 // later k blocks accumulate onto the first
			}
			bl := &g.blocks[bi]
			if g.pre != nil {
				packUnits = 0 // packed already
			} else if bi > 1 {
				// This block's buffer is free once the units of the block
				// before the previous one are done. A worker that runs out
				// of units of the previous block packs this one meanwhile.
				waitCount(&g.blocks[bi-2].workDone, g.units)
			}
			prev := bi - 1
			bi++
			// Phase 1: the workers pack the B block together.
			for {
				u := int(bl.packNext.Add(1) - 1)
				if u >= packUnits {
					break
				}
				bufs = g.bufs
				bPack = bufs.bPack[(bi-1)%2]
				jp0, jp1 := u*packGrp, min((u+1)*packGrp, npanels)
				if !g.transB && kern.packBN != nil && kb == kcur {
					// Full panels in one pass over the rows of B.
					full := min(jp1, (g.n-jc)/nr) - jp0
					if full > 0 {
						kern.packBN(bPack[jp0*nr*kcur:], g.b, pc*g.ldb+jc+jp0*nr, g.ldb, kcur, full)
						jp0 += full
					}
				}
				for jp := jp0; jp < jp1; jp++ {
					j := jc + jp*nr
					dst := bPack[jp*nr*kb : (jp+1)*nr*kb]
					cols := min(nr, g.n-j)
					g.packB(dst, j, cols, pc, kcur)
					if kb > kcur {
						row := dst[kcur*nr : kb*nr]
						copy(row, g.bias[j:j+cols])
						clear(row[cols:])
					}
				}
				bl.packDone.Add(1)
			}
			if bl.workNext.Load() >= int64(g.units) {
				continue // nothing left to compute in this block
			}
			waitCount(&bl.packDone, packUnits)
			if prev >= 0 {
				// Blocks of the same columns accumulate onto the same C.
				waitCount(&g.blocks[prev].workDone, g.units)
			}
			// Phase 2: units of (row chunk, column group) of C.
			lastRow := -1
			for {
				u := int(bl.workNext.Add(1) - 1)
				if u >= g.units {
					break
				}
				bufs = g.bufs
				ws := &bufs.ws[w]
				rc, q0, q1 := g.unit(u, npanels)
				i0 := rc * g.rowStep * mr
				mcur := min(min((rc+1)*g.rowStep, mp)*mr, g.m) - i0
				if rc != lastRow {
					g.packA(ws.aPack, i0, mcur, pc, kcur, kb)
					lastRow = rc
				}
				blockB := bufs.bPack[(bi-1)%2]
				if g.pre != nil {
					blockB = g.pre.block(bi - 1)
				}
				g.macro(blockB, ws, i0, mcur, jc, q0, q1, kb, beta)
				bl.workDone.Add(1)
			}
		}
	}
}

// unit returns compute unit u's row chunk and B panels (of npanels).
func (g *gemmCall) unit(u, npanels int) (rc, q0, q1 int) {
	if u < g.fullRows {
		return u, 0, npanels
	}
	v := u - g.fullRows
	q0, q1 = split(npanels, g.colGrps, v%g.colGrps)
	return g.fullRows + v/g.colGrps, q0, q1
}

// macro multiplies the packed A block (rows i0..i0+mcur) by B panels q0..q1,
// kcur packed k rows each.
func (g *gemmCall) macro(bPack []float32, ws *gemmWorker, i0, mcur, jc, q0, q1, kcur int, beta float32) {
	kern := g.kern
	mr, nr := kern.mr, kern.nr
	micro := kern.micro
	c, ldc := g.c, g.ldc
	tile := ws.tile
	for jp := q0; jp < q1; jp++ {
		j := jc + jp*nr
		cols := min(nr, g.n-j)
		bp := &bPack[jp*nr*kcur]
		for ip := 0; ip*mr < mcur; ip++ {
			i := i0 + ip*mr
			rows := min(mr, mcur-ip*mr)
			ap := &ws.aPack[ip*mr*kcur]
			if rows == mr && cols == nr {
				micro(kcur, ap, bp, &c[i*ldc+j], ldc, g.alpha, beta)
				continue
			}
			micro(kcur, ap, bp, &tile[0], nr, g.alpha, 0)
			for r := 0; r < rows; r++ {
				cr := c[(i+r)*ldc+j : (i+r)*ldc+j+cols]
				tr := tile[r*nr : r*nr+cols]
				if beta == 0 {
					copy(cr, tr)
				} else {
					for x, v := range tr {
						cr[x] = v + beta*cr[x]
					}
				}
			}
		}
	}
}

// packA packs rows i0..i0+mcur, columns pc..pc+kcur of op(A) into mr-row
// panels of kb >= kcur rows: panel ip holds element (r, p) at
// dst[ip*mr*kb + p*mr + r], and rows kcur..kb-1 are ones (the bias's
// multiplier, see gemmCall.bias).
func (g *gemmCall) packA(dst []float32, i0, mcur, pc, kcur, kb int) {
	mr := g.kern.mr
	g.packAPanels(dst, i0, mcur, pc, kcur, kb)
	if g.act != ActIdentity {
		// While the panels are in cache; the zero rows of a short
		// panel stay zero (ReLU(0) = GELU(0) = 0).
		for ip := 0; ip*mr < mcur; ip++ {
			g.act.apply(dst[ip*mr*kb : ip*mr*kb+mr*kcur])
		}
	}
	if kb > kcur {
		// After all panels: a packer may write a little past its panel.
		for ip := 0; ip*mr < mcur; ip++ {
			ones := dst[ip*mr*kb+kcur*mr : (ip+1)*mr*kb]
			for i := range ones {
				ones[i] = 1
			}
		}
	}
}

// packAPanels packs the kcur columns of packA's panels (kb apart).
func (g *gemmCall) packAPanels(dst []float32, i0, mcur, pc, kcur, kb int) {
	mr := g.kern.mr
	a, lda := g.a, g.lda
	for ip := 0; ip*mr < mcur; ip++ {
		rows := min(mr, mcur-ip*mr)
		d := dst[ip*mr*kb : ip*mr*kb+mr*kcur]
		i := i0 + ip*mr
		if g.transA {
			// A is k×m: each p is a contiguous run of rows.
			p0 := 0
			if rows == mr && g.kern.packAT != nil {
				p0 = g.kern.packAT(d, a, pc*lda+i, lda, kcur)
			}
			if rows == 6 && mr == 6 {
				for p := p0; p < kcur; p++ {
					o := (pc+p)*lda + i
					src := a[o : o+6 : o+6]
					dp := d[p*6 : p*6+6 : p*6+6]
					dp[0], dp[1], dp[2], dp[3], dp[4], dp[5] = src[0], src[1], src[2], src[3], src[4], src[5]
				}
				continue
			}
			for p := 0; p < kcur; p++ {
				dp := d[p*mr : p*mr+mr]
				src := a[(pc+p)*lda+i : (pc+p)*lda+i+rows]
				copy(dp, src)
				clear(dp[rows:])
			}
			continue
		}
		p0 := 0
		if rows == mr && g.kern.packA != nil {
			// Pass the rest of dst: the packer may write a little past d.
			p0 = g.kern.packA(dst[ip*mr*kb:], a, i*lda+pc, lda, kcur)
		}
		if rows == 6 && mr == 6 {
			packRows6(d[p0*6:], a, i*lda+pc+p0, lda, kcur-p0)
			continue
		}
		for r := 0; r < rows; r++ {
			src := a[(i+r)*lda+pc : (i+r)*lda+pc+kcur]
			for p, v := range src {
				d[p*mr+r] = v
			}
		}
		for r := rows; r < mr; r++ {
			for p := 0; p < kcur; p++ {
				d[p*mr+r] = 0
			}
		}
	}
}

// packRows6 interleaves six rows of length kc (the common AVX2 A panel).
func packRows6(d, a []float32, off, ld, kc int) {
	r0 := a[off : off+kc]
	r1 := a[off+ld : off+ld+kc]
	r2 := a[off+2*ld : off+2*ld+kc]
	r3 := a[off+3*ld : off+3*ld+kc]
	r4 := a[off+4*ld : off+4*ld+kc]
	r5 := a[off+5*ld : off+5*ld+kc]
	d = d[:6*kc]
	for p := range r0 {
		dp := d[p*6 : p*6+6 : p*6+6]
		dp[0], dp[1], dp[2], dp[3], dp[4], dp[5] = r0[p], r1[p], r2[p], r3[p], r4[p], r5[p]
	}
}

// packB packs columns j..j+cols (cols <= nr), rows pc..pc+kcur of op(B) into
// one nr-column panel: element (p, x) at dst[p*nr + x].
func (g *gemmCall) packB(dst []float32, j, cols, pc, kcur int) {
	nr := g.kern.nr
	b, ldb := g.b, g.ldb
	if !g.transB {
		// B is k×n: each p is a contiguous run of columns.
		p0 := 0
		if cols == nr && g.kern.packB != nil {
			p0 = g.kern.packB(dst, b, pc*ldb+j, ldb, kcur)
		}
		for p := p0; p < kcur; p++ {
			dp := dst[p*nr : p*nr+nr]
			copy(dp, b[(pc+p)*ldb+j:(pc+p)*ldb+j+cols])
			clear(dp[cols:])
		}
		return
	}
	// B is n×k (the Linear layout): a transpose.
	p0 := 0
	if cols == nr && g.kern.packBT != nil {
		p0 = g.kern.packBT(dst, b, j*ldb+pc, ldb, kcur)
		if p0 == kcur {
			return
		}
	}
	x := 0
	for ; x+4 <= cols; x += 4 {
		s0 := b[(j+x)*ldb+pc+p0 : (j+x)*ldb+pc+kcur]
		s1 := b[(j+x+1)*ldb+pc+p0 : (j+x+1)*ldb+pc+kcur]
		s2 := b[(j+x+2)*ldb+pc+p0 : (j+x+2)*ldb+pc+kcur]
		s3 := b[(j+x+3)*ldb+pc+p0 : (j+x+3)*ldb+pc+kcur]
		for q := range s0 {
			p := q + p0
			dp := dst[p*nr+x : p*nr+x+4 : p*nr+x+4]
			dp[0], dp[1], dp[2], dp[3] = s0[q], s1[q], s2[q], s3[q]
		}
	}
	for ; x < cols; x++ {
		src := b[(j+x)*ldb+pc+p0 : (j+x)*ldb+pc+kcur]
		for p, v := range src {
			dst[(p+p0)*nr+x] = v
		}
	}
	if cols < nr {
		for p := 0; p < kcur; p++ {
			clear(dst[p*nr+cols : p*nr+nr])
		}
	}
}

// scaleC sets C = beta*C (C = 0 when beta == 0), the whole product when k == 0.
func scaleC(m, n int, beta float32, c []float32, ldc int) {
	for i := 0; i < m; i++ {
		ci := c[i*ldc : i*ldc+n]
		if beta == 0 {
			clear(ci)
		} else if beta != 1 {
			for j := range ci {
				ci[j] *= beta
			}
		}
	}
}
