package cpu

import (
	"runtime"
	"sync"
	"sync/atomic"
	"time"
)

// SetSpinWait sets how long a helper goroutine that finished its part of
// a parallel region (ParallelFor, a GEMM, the deformable sampling) stays
// ready for the next one, yielding its core to any other runnable
// goroutine meanwhile, before it exits (default 500 µs), and returns the
// previous setting. A region started inside that time runs on the other
// cores at once. A new goroutine handed to an idle core starts 0.1–0.2 ms
// late on the 2-core development VM (the parked thread's wake-up, then
// the wait before another core may take the goroutine its creator queued
// next; p90 1.3 ms): over a Grounding DINO forward's thousands of regions
// that left a core idle ~0.3 s. Zero starts a new goroutine for every
// helper and keeps none: no core spins between regions.
func SetSpinWait(d time.Duration) time.Duration {
	return time.Duration(spinWait.Swap(int64(max(d, 0))))
}

var spinWait atomic.Int64

func init() { spinWait.Store(int64(500 * time.Microsecond)) }

// helper is a goroutine between parallel regions: spawn hands it its next
// function through work.
type helper struct{ work chan func() }

// idleHelpers holds the helpers waiting for work, most recent last.
var idleHelpers struct {
	sync.Mutex
	list []*helper
}

// spawn runs f on another goroutine: a waiting helper if there is one,
// else a new one that waits for more work once f returns.
func spawn(f func()) {
	if spinWait.Load() == 0 {
		go f()
		return
	}
	idleHelpers.Lock()
	if n := len(idleHelpers.list); n > 0 {
		h := idleHelpers.list[n-1]
		idleHelpers.list[n-1] = nil
		idleHelpers.list = idleHelpers.list[:n-1]
		idleHelpers.Unlock()
		h.work <- f // never blocks: only its taker sends, once
		return
	}
	idleHelpers.Unlock()
	go (&helper{work: make(chan func(), 1)}).run(f)
}

// run runs f and then whatever spawn hands it, until it has waited the
// spin wait for work in vain (or enough helpers wait already).
func (h *helper) run(f func()) {
	for f != nil {
		f()
		f = h.next()
	}
}

// next waits for the helper's next function, nil when it is to exit.
func (h *helper) next() func() {
	idleHelpers.Lock()
	if len(idleHelpers.list) >= 2*runtime.GOMAXPROCS(0) {
		idleHelpers.Unlock()
		return nil
	}
	idleHelpers.list = append(idleHelpers.list, h)
	idleHelpers.Unlock()
	deadline := time.Now().Add(time.Duration(spinWait.Load()))
	for {
		select {
		case f := <-h.work:
			return f
		default:
		}
		if time.Now().After(deadline) {
			break
		}
		runtime.Gosched()
	}
	// Leave the list, unless a spawner took this helper meanwhile: then
	// its work is on the way.
	idleHelpers.Lock()
	for i, x := range idleHelpers.list {
		if x == h {
			n := len(idleHelpers.list) - 1
			copy(idleHelpers.list[i:], idleHelpers.list[i+1:])
			idleHelpers.list[n] = nil
			idleHelpers.list = idleHelpers.list[:n]
			idleHelpers.Unlock()
			return nil
		}
	}
	idleHelpers.Unlock()
	return <-h.work
}
