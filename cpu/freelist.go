package cpu

import "sync"

// Grow returns *buf resized to n elements, reallocating it only when its
// capacity is too small (the contents are then left from earlier use).
func Grow[T any](buf *[]T, n int) []T {
	if cap(*buf) < n {
		*buf = make([]T, n)
	}
	*buf = (*buf)[:n]
	return *buf
}

// FreeList keeps values of a model's per-call scratch types for reuse:
// each call takes one with Get and gives it back with Put. Unlike a
// sync.Pool it keeps them across garbage collections, which is the point;
// it holds at most as many as were in use at once. The nil *FreeList hands
// out new values and drops what it is given.
type FreeList[T any] struct {
	mu   sync.Mutex
	free []*T
}

// Get returns a value handed back by Put, or a new one.
func (p *FreeList[T]) Get() *T {
	if p == nil {
		return new(T)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if n := len(p.free); n > 0 {
		x := p.free[n-1]
		p.free = p.free[:n-1]
		return x
	}
	return new(T)
}

// Put keeps x for a later Get; x must no longer be used.
func (p *FreeList[T]) Put(x *T) {
	if p == nil || x == nil {
		return
	}
	p.mu.Lock()
	p.free = append(p.free, x)
	p.mu.Unlock()
}

// Drop forgets the free values, returning their memory to the collector.
func (p *FreeList[T]) Drop() {
	if p == nil {
		return
	}
	p.mu.Lock()
	p.free = nil
	p.mu.Unlock()
}

// Len is how many values are free.
func (p *FreeList[T]) Len() int {
	if p == nil {
		return 0
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.free)
}

// DropScratch forgets the package's free buffers (the GEMM packing blocks),
// returning their memory to the collector; later calls allocate them again.
func DropScratch() {
	gemmBufFree.Drop()
}
