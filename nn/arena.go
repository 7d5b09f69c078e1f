package nn

import (
	"math"
	"os"
	"sync"

	"github.com/gsam-go/gsam/cpu"
	"gorgonia.org/tensor"
)

// Models reuse memory across calls in three ways, each fitted to how the
// code holds its temporaries: an Arena for a call whose buffers all live to
// its end (the SAM mask decoder); Scratch for temporaries and stage outputs
// handed back one by one as soon as they are spent, of any size (Grounding
// DINO's stages: Linear, MLP, Clone and Conv2d outputs come from it, and
// Release hands them back); and cpu.FreeList for a stage's own work struct
// with named buffers (the SAM image encoder, Swin, the GEMM).

// Arena hands out a call's temporary float32 buffers and takes them all back
// at once, so that a model's steady-state calls reuse the same memory. Fresh
// large slices are not free: each new page costs a fault on first touch
// (~3 µs a page on the VMs here, 2–3 ms for a 4 MB activation), and the
// garbage they leave makes the collector run and return pages to the OS,
// which then fault again.
//
// Buffers are matched by the order of the requests: the i-th request of a
// call gets the buffer that the i-th request of the previous call got, grown
// if it is too small. A model's calls make the same requests in the same
// order, so after the first call nothing is allocated.
//
// An Arena is used by one goroutine at a time. The nil *Arena is valid and
// allocates every buffer afresh, for code paths that keep their results
// (traces) or run once.
type Arena struct {
	bufs [][]float32
	next int
}

// Floats returns n float32s whose contents are left from an earlier call:
// the caller must write every element before reading it.
func (a *Arena) Floats(n int) []float32 {
	if a == nil {
		return make([]float32, n)
	}
	if a.next == len(a.bufs) {
		a.bufs = append(a.bufs, nil)
	}
	b := a.bufs[a.next]
	if cap(b) < n {
		b = make([]float32, n)
		a.bufs[a.next] = b
	}
	a.next++
	return b[:n]
}

// Zeros returns n zeroed float32s.
func (a *Arena) Zeros(n int) []float32 {
	b := a.Floats(n)
	if a != nil {
		clear(b)
	}
	return b
}

// Mark returns the arena's position, for Release.
func (a *Arena) Mark() int {
	if a == nil {
		return 0
	}
	return a.next
}

// Release hands back every buffer requested since Mark returned m, so that
// the next requests reuse them (a loop over prompts, say). Those buffers
// must no longer be used.
func (a *Arena) Release(m int) {
	if a != nil {
		a.next = m
	}
}

// Bytes is the memory the arena holds.
func (a *Arena) Bytes() int {
	n := 0
	if a != nil {
		for _, b := range a.bufs {
			n += 4 * cap(b)
		}
	}
	return n
}

// Arenas is a free list (cpu.FreeList) of arenas, each released when it
// is handed back.
type Arenas struct{ list cpu.FreeList[Arena] }

// Get returns a free arena, or a new one; the nil *Arenas returns the nil
// *Arena (every buffer allocated afresh).
func (p *Arenas) Get() *Arena {
	if p == nil {
		return nil
	}
	return p.list.Get()
}

// Put releases every buffer of a and keeps it for the next Get.
func (p *Arenas) Put(a *Arena) {
	if p == nil || a == nil {
		return
	}
	a.Release(0)
	p.list.Put(a)
}

// Drop forgets the free arenas.
func (p *Arenas) Drop() {
	if p != nil {
		p.list.Drop()
	}
}

// scratch holds float buffers for temporaries that live inside one call:
// fresh pages cost a page fault each on first touch, which for an
// image-sized activation is a visible share of a layer. Its callers ask
// for many sizes, interleaved, so a request takes the smallest free buffer
// that fits rather than the last one handed back (which would often be
// too small, and be replaced).
var scratch struct {
	sync.Mutex
	free [][]float32
}

// maxScratch bounds how many free buffers scratch keeps.
const maxScratch = 64

// poisonScratch: see PutScratch.
var poisonScratch = os.Getenv("GSAM_SCRATCH_POISON") == "1"

// Scratch returns a buffer of n values whose contents are left from an
// earlier use: write every element before reading it, and hand it back
// with PutScratch once spent (the sooner, the fewer live at once). A free
// buffer over twice the size asked for is left for a larger request: a
// small result that is never handed back would take it out of use.
func Scratch(n int) []float32 {
	scratch.Lock()
	best := -1
	for i, b := range scratch.free {
		if cap(b) >= n && cap(b) <= 2*n && (best < 0 || cap(b) < cap(scratch.free[best])) {
			best = i
		}
	}
	if best < 0 {
		scratch.Unlock()
		return make([]float32, n)
	}
	b := scratch.free[best]
	last := len(scratch.free) - 1
	scratch.free[best] = scratch.free[last]
	scratch.free = scratch.free[:last]
	scratch.Unlock()
	return b[:n]
}

// PutScratch hands a buffer from Scratch back; it must no longer be used.
// When maxScratch buffers are already free the smallest one is dropped.
// With GSAM_SCRATCH_POISON=1 in the environment the buffer is filled with
// NaN first, so that a read after the hand-back shows in the results (the
// CI's race run sets it).
func PutScratch(b []float32) {
	if cap(b) == 0 {
		return
	}
	if poisonScratch {
		nan := float32(math.NaN())
		for i := range b {
			b[i] = nan
		}
	}
	scratch.Lock()
	defer scratch.Unlock()
	if len(scratch.free) < maxScratch {
		scratch.free = append(scratch.free, b)
		return
	}
	small := 0
	for i, f := range scratch.free {
		if cap(f) < cap(scratch.free[small]) {
			small = i
		}
	}
	if cap(b) > cap(scratch.free[small]) {
		scratch.free[small] = b
	}
}

// ScratchTensor is a tensor of the given shape over a Scratch buffer, for a
// stage output that its caller may hand back with Release once spent (one
// that is never handed back is ordinary garbage). Its values are left from
// an earlier use: the producer must write every element.
func ScratchTensor(shape ...int) *tensor.Dense {
	return FromData(Scratch(product(shape)), shape...)
}

// Release hands the data of spent tensors back to Scratch (nil ones are
// skipped). The caller must own them: no view, weight or result that
// anything still reads, and each only once.
func Release(ts ...*tensor.Dense) {
	for _, t := range ts {
		if t != nil {
			PutScratch(Data(t))
		}
	}
}

// DropScratch forgets the free Scratch buffers and cpu's (cpu.DropScratch),
// returning their memory to the collector.
func DropScratch() {
	scratch.Lock()
	scratch.free = nil
	scratch.Unlock()
	cpu.DropScratch()
}
