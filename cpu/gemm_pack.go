package cpu

import (
	"runtime"
	"sync"
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
}

// kernelInUse is the kernel Sgemm runs; set by the per-architecture init.
var kernelInUse *gemmKernel

// gemmParallelMin is the m*n*k below which a call stays on one goroutine:
// starting workers costs a few microseconds.
var gemmParallelMin = 1 << 18

// gemmWorkers is how many goroutines a large call uses.
func gemmWorkers() int { return runtime.GOMAXPROCS(0) }

// gemmCall is one Sgemm call, shared by its workers. It lives in a pooled
// gemmCtx so that steady-state calls do not allocate buffers.
type gemmCall struct {
	kern           *gemmKernel
	transA, transB bool
	m, n, k        int
	alpha, beta    float32
	a, b, c        []float32
	lda, ldb, ldc  int

	kc, nc  int
	workers int
	splitM  bool // workers own row ranges (else column-panel ranges)

	bPack []float32
	ws    []gemmWorker
	bar   barrier
	wg    sync.WaitGroup
}

type gemmWorker struct {
	aPack []float32
	tile  []float32
}

var gemmPool sync.Pool

func getGemmCall(kern *gemmKernel, workers int) *gemmCall {
	g, _ := gemmPool.Get().(*gemmCall)
	if g == nil {
		g = new(gemmCall)
	}
	if need := kern.kc * roundUp(kern.nc, kern.nr); len(g.bPack) < need {
		g.bPack = make([]float32, need)
	}
	if len(g.ws) < workers {
		g.ws = make([]gemmWorker, workers)
	}
	for i := range g.ws[:workers] {
		w := &g.ws[i]
		if need := kern.kc * roundUp(kern.mc, kern.mr); len(w.aPack) < need {
			w.aPack = make([]float32, need)
		}
		if need := kern.mr * kern.nr; len(w.tile) < need {
			w.tile = make([]float32, need)
		}
	}
	return g
}

func putGemmCall(g *gemmCall) {
	g.a, g.b, g.c = nil, nil, nil
	gemmPool.Put(g)
}

func roundUp(x, m int) int { return (x + m - 1) / m * m }
func ceilDiv(x, m int) int { return (x + m - 1) / m }

// split returns worker w's share [lo, hi) of n items over `parts` workers.
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
	if m == 0 || n == 0 {
		return
	}
	if k == 0 {
		scaleC(m, n, beta, c, ldc)
		return
	}
	workers := gemmWorkers()
	if int64(m)*int64(n)*int64(k) < int64(gemmParallelMin) {
		workers = 1
	}
	g := getGemmCall(kern, workers)
	g.kern, g.transA, g.transB, g.m, g.n, g.k = kern, transA, transB, m, n, k
	g.alpha, g.beta, g.a, g.b, g.c = alpha, beta, a, b, c
	g.lda, g.ldb, g.ldc = lda, ldb, ldc
	g.splitM = false
	// Even block sizes: k=300 runs as 2×150, not 256+44.
	g.kc = ceilDiv(k, ceilDiv(k, kern.kc))
	g.nc = roundUp(ceilDiv(n, ceilDiv(n, kern.nc)), kern.nr)
	g.workers = workers
	if workers > 1 {
		// Split the dimension that divides more evenly over the workers; rows
		// win ties since a row split packs each A block only once.
		mp := ceilDiv(m, kern.mr)
		np := ceilDiv(min(n, g.nc), kern.nr)
		effM := float64(mp) / float64(ceilDiv(mp, workers)*workers)
		effN := float64(np) / float64(ceilDiv(np, workers)*workers)
		g.splitM = effM >= effN
		g.bar.init(workers)
		g.wg.Add(workers - 1)
		for w := 1; w < workers; w++ {
			go g.runWorker(w)
		}
		g.run(0)
		g.wg.Wait()
	} else {
		g.run(0)
	}
	putGemmCall(g)
}

func (g *gemmCall) runWorker(w int) {
	g.run(w)
	g.wg.Done()
}

func (g *gemmCall) run(w int) {
	kern := g.kern
	mr, nr := kern.mr, kern.nr
	ws := &g.ws[w]
	for jc := 0; jc < g.n; jc += g.nc {
		ncur := min(g.nc, g.n-jc)
		npanels := ceilDiv(ncur, nr)
		for pc := 0; pc < g.k; pc += g.kc {
			kcur := min(g.kc, g.k-pc)
			beta := g.beta
			if pc > 0 {
				beta = 1 // later k blocks accumulate onto the first
			}
			// Phase 1: every worker packs its share of the B block.
			p0, p1 := split(npanels, g.workers, w)
			for jp := p0; jp < p1; jp++ {
				j := jc + jp*nr
				g.packB(g.bPack[jp*nr*kcur:(jp+1)*nr*kcur], j, min(nr, g.n-j), pc, kcur)
			}
			if g.workers > 1 {
				g.bar.wait()
			}
			// Phase 2: multiply into this worker's part of C.
			r0, r1 := 0, ceilDiv(g.m, mr) // row panels
			q0, q1 := 0, npanels          // column panels
			if g.workers > 1 {
				if g.splitM {
					r0, r1 = split(r1, g.workers, w)
				} else {
					q0, q1 = split(npanels, g.workers, w)
				}
			}
			if r0 < r1 && q0 < q1 {
				// Chunk this worker's rows into even blocks of at most mc rows.
				nrp := r1 - r0
				step := ceilDiv(nrp, ceilDiv(nrp*mr, kern.mc))
				for rp := r0; rp < r1; rp += step {
					i0 := rp * mr
					mcur := min(min(rp+step, r1)*mr, g.m) - i0
					g.packA(ws.aPack, i0, mcur, pc, kcur)
					g.macro(ws, i0, mcur, jc, q0, q1, kcur, beta)
				}
			}
			if g.workers > 1 {
				g.bar.wait() // the next B block overwrites bPack
			}
		}
	}
}

// macro multiplies the packed A block (rows i0..i0+mcur) by B panels q0..q1.
func (g *gemmCall) macro(ws *gemmWorker, i0, mcur, jc, q0, q1, kcur int, beta float32) {
	kern := g.kern
	mr, nr := kern.mr, kern.nr
	micro := kern.micro
	c, ldc := g.c, g.ldc
	tile := ws.tile
	for jp := q0; jp < q1; jp++ {
		j := jc + jp*nr
		cols := min(nr, g.n-j)
		bp := &g.bPack[jp*nr*kcur]
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
// panels: panel ip holds element (r, p) at dst[ip*mr*kcur + p*mr + r].
func (g *gemmCall) packA(dst []float32, i0, mcur, pc, kcur int) {
	mr := g.kern.mr
	a, lda := g.a, g.lda
	for ip := 0; ip*mr < mcur; ip++ {
		rows := min(mr, mcur-ip*mr)
		d := dst[ip*mr*kcur : (ip+1)*mr*kcur]
		i := i0 + ip*mr
		if g.transA {
			// A is k×m: each p is a contiguous run of rows.
			for p := 0; p < kcur; p++ {
				dp := d[p*mr : p*mr+mr]
				src := a[(pc+p)*lda+i : (pc+p)*lda+i+rows]
				copy(dp, src)
				clear(dp[rows:])
			}
			continue
		}
		if rows == 6 && mr == 6 {
			packRows6(d, a, i*lda+pc, lda, kcur)
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
		for p := 0; p < kcur; p++ {
			dp := dst[p*nr : p*nr+nr]
			copy(dp, b[(pc+p)*ldb+j:(pc+p)*ldb+j+cols])
			clear(dp[cols:])
		}
		return
	}
	// B is n×k (the Linear layout): a transpose.
	x := 0
	for ; x+4 <= cols; x += 4 {
		s0 := b[(j+x)*ldb+pc : (j+x)*ldb+pc+kcur]
		s1 := b[(j+x+1)*ldb+pc : (j+x+1)*ldb+pc+kcur]
		s2 := b[(j+x+2)*ldb+pc : (j+x+2)*ldb+pc+kcur]
		s3 := b[(j+x+3)*ldb+pc : (j+x+3)*ldb+pc+kcur]
		for p := range s0 {
			dp := dst[p*nr+x : p*nr+x+4 : p*nr+x+4]
			dp[0], dp[1], dp[2], dp[3] = s0[p], s1[p], s2[p], s3[p]
		}
	}
	for ; x < cols; x++ {
		src := b[(j+x)*ldb+pc : (j+x)*ldb+pc+kcur]
		for p, v := range src {
			dst[p*nr+x] = v
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

// barrier is a reusable rendezvous for the workers of one call.
type barrier struct {
	mu    sync.Mutex
	cond  sync.Cond
	n     int
	count int
	gen   int
}

func (b *barrier) init(n int) {
	b.cond.L = &b.mu
	b.n, b.count = n, 0
}

func (b *barrier) wait() {
	b.mu.Lock()
	gen := b.gen
	b.count++
	if b.count == b.n {
		b.count = 0
		b.gen++
		b.cond.Broadcast()
	} else {
		for gen == b.gen {
			b.cond.Wait()
		}
	}
	b.mu.Unlock()
}
