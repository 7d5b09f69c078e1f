package cpu

import (
	"runtime"
	"sync/atomic"
)

// ParallelFor runs fn over [0, n) on up to GOMAXPROCS goroutines, the
// calling one among them. The range is cut into contiguous chunks, up to
// four per goroutine, which the goroutines take in turn (so a stalled core
// does not hold up the rest); fn may thus be called several times per
// goroutine, concurrently on disjoint ranges, and should allocate any
// scratch it needs per call. With one core or n ≤ 1 it runs fn(0, n) on the
// calling goroutine; n ≤ 0 does nothing.
//
// The caller starts on the chunks at once and, once none is left, waits
// only for chunks that a helper has taken, not for helpers to start: a
// goroutine handed to an idle core can start 0.1 ms late, longer than a
// small region's whole work (helpers waiting from the last region start at
// once: see SetSpinWait). A helper that starts late finds nothing to do.
func ParallelFor(n int, fn func(lo, hi int)) {
	if n <= 0 {
		return
	}
	workers := min(runtime.GOMAXPROCS(0), n)
	if workers <= 1 {
		fn(0, n)
		return
	}
	r := &parallelRun{fn: fn, n: n, chunks: min(n, 4*workers)}
	for w := 1; w < workers; w++ {
		spawn(r.work)
	}
	r.work()
	waitCount(&r.done, r.chunks)
}

// parallelRun is one ParallelFor call, shared by its goroutines.
type parallelRun struct {
	fn         func(lo, hi int)
	n, chunks  int
	next, done atomic.Int64
}

// work runs chunks until none is left.
func (r *parallelRun) work() {
	for {
		c := int(r.next.Add(1)) - 1
		if c >= r.chunks {
			return
		}
		r.fn(c*r.n/r.chunks, (c+1)*r.n/r.chunks)
		r.done.Add(1)
	}
}

// elemGrain is the chunk of an element-wise pass worth a goroutine.
const elemGrain = 1 << 15

// elemsParallel reports whether parallelElems would split n elements.
// Callers check it before building their closure, which escapes to the
// goroutines and so is allocated even when it then runs inline: the
// per-pixel calls of the SAM decoder made 80,000 such allocations a call.
func elemsParallel(n int) bool {
	return n >= 2*elemGrain && runtime.GOMAXPROCS(0) > 1
}

// inPlaceElems runs the element-wise pass f over x, in parallel pieces when
// x is long enough. The closure is built only then: built always, it would
// be allocated even for the short slices that run inline.
func inPlaceElems(x []float32, f func([]float32)) {
	if !elemsParallel(len(x)) {
		f(x)
		return
	}
	parallelElems(len(x), func(lo, hi int) { f(x[lo:hi]) })
}

// parallelElems runs fn over [0, n) elements in parallel when n is large
// enough to pay for the goroutines, in chunks of whole multiples of 8.
func parallelElems(n int, fn func(lo, hi int)) {
	const grain = elemGrain
	if !elemsParallel(n) {
		fn(0, n)
		return
	}
	blocks := (n + grain - 1) / grain
	ParallelFor(blocks, func(lo, hi int) { fn(lo*grain, min(hi*grain, n)) })
}
