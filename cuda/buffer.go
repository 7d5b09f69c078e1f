package cuda

import (
	"errors"
	"fmt"
	"math/bits"
	"sync"
	"unsafe"
)

// Buffer is device memory holding float32 values (or int32 values for the
// few kernels that take indices). A Buffer from Alloc or Upload owns its
// block until Free; a View shares its parent's memory and owns nothing.
type Buffer struct {
	dev   *Device
	ptr   uint64 // device address of element 0
	n     int    // elements (4 bytes each)
	block int    // the allocator bucket in bytes; 0 for a view
	freed bool
}

// Len is the number of float32 elements.
func (b *Buffer) Len() int { return b.n }

// View returns the n elements starting at off, sharing memory with b (for
// per-image slices of a batch). Freeing a view does nothing.
func (b *Buffer) View(off, n int) (*Buffer, error) {
	if off < 0 || n < 0 || off+n > b.n {
		return nil, fmt.Errorf("cuda: view [%d, %d) outside a buffer of %d elements", off, off+n, b.n)
	}
	return &Buffer{dev: b.dev, ptr: b.ptr + uint64(off)*4, n: n}, nil
}

// Free returns the block to the device's cache for reuse. Safe to call twice.
func (b *Buffer) Free() {
	if b == nil || b.block == 0 || b.freed {
		return
	}
	b.freed = true
	b.dev.alloc.put(b.block, b.ptr)
}

// allocator is a caching allocator with size-bucketed free lists: a freed
// block goes back to the list of its bucket and is handed out again for
// any request of that bucket, so steady-state inference does not call
// cuMemAlloc. Buckets are powers of two up to 1 MiB and multiples of 1 MiB
// above (at most 1/2 resp. 1 MiB of slack per block).
type allocator struct {
	mu     sync.Mutex
	free   map[int][]uint64
	inUse  int64
	cached int64
}

// bucket is the block size that serves a request of size bytes.
func bucket(size int) int {
	const small, step = 512, 1 << 20
	switch {
	case size <= small:
		return small
	case size <= step:
		return 1 << bits.Len(uint(size-1))
	default:
		return (size + step - 1) / step * step
	}
}

func (a *allocator) take(block int) (uint64, bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	l := a.free[block]
	if len(l) == 0 {
		return 0, false
	}
	p := l[len(l)-1]
	a.free[block] = l[:len(l)-1]
	a.cached -= int64(block)
	a.inUse += int64(block)
	return p, true
}

func (a *allocator) put(block int, p uint64) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.free[block] = append(a.free[block], p)
	a.cached += int64(block)
	a.inUse -= int64(block)
}

// drain removes every cached block and returns them (to be freed on the device goroutine).
func (a *allocator) drain() []uint64 {
	a.mu.Lock()
	defer a.mu.Unlock()
	var all []uint64
	for k, l := range a.free {
		all = append(all, l...)
		delete(a.free, k)
	}
	a.cached = 0
	return all
}

// releaseAll frees the cached blocks; runs on the device goroutine at Close.
// Blocks still held by live Buffers go with the context.
func (a *allocator) releaseAll() {
	for _, p := range a.drain() {
		cuMemFree(p)
	}
}

// MemStats are the allocator's byte counts.
type MemStats struct {
	InUse  int64 // held by live Buffers
	Cached int64 // freed, kept for reuse
}

// MemStats reports the caching allocator's state.
func (d *Device) MemStats() MemStats {
	d.alloc.mu.Lock()
	defer d.alloc.mu.Unlock()
	return MemStats{InUse: d.alloc.inUse, Cached: d.alloc.cached}
}

// EmptyCache returns every cached block to the driver.
func (d *Device) EmptyCache() error {
	return d.do(func() error {
		var first error
		for _, p := range d.alloc.drain() {
			if err := check("cuMemFree_v2", cuMemFree(p)); err != nil && first == nil {
				first = err
			}
		}
		return first
	})
}

// Alloc returns an uninitialised buffer of n float32 values.
func (d *Device) Alloc(n int) (*Buffer, error) {
	if n < 0 {
		return nil, fmt.Errorf("cuda: negative buffer length %d", n)
	}
	block := bucket(n * 4)
	if p, ok := d.alloc.take(block); ok {
		return &Buffer{dev: d, ptr: p, n: n, block: block}, nil
	}
	var p uint64
	err := d.do(func() error {
		r := cuMemAlloc(&p, uintptr(block))
		if r == cudaErrorOutOfMemory {
			// Give the cache back and try once more.
			for _, q := range d.alloc.drain() {
				cuMemFree(q)
			}
			r = cuMemAlloc(&p, uintptr(block))
		}
		return check("cuMemAlloc_v2", r)
	})
	if err != nil {
		return nil, fmt.Errorf("%w (%d bytes)", err, block)
	}
	d.alloc.mu.Lock()
	d.alloc.inUse += int64(block)
	d.alloc.mu.Unlock()
	return &Buffer{dev: d, ptr: p, n: n, block: block}, nil
}

func (d *Device) checkBuffer(what string, b *Buffer, atLeast int) error {
	switch {
	case b == nil:
		return fmt.Errorf("cuda: %s buffer is nil", what)
	case b.dev != d:
		return fmt.Errorf("cuda: %s buffer belongs to another device", what)
	case b.freed:
		return fmt.Errorf("cuda: %s buffer was freed", what)
	case b.n < atLeast:
		return fmt.Errorf("cuda: %s buffer has %d elements, need %d", what, b.n, atLeast)
	}
	return nil
}

// Upload copies host values into a new buffer.
func (d *Device) Upload(host []float32) (*Buffer, error) {
	b, err := d.Alloc(len(host))
	if err != nil {
		return nil, err
	}
	if err := d.CopyToDevice(b, host); err != nil {
		b.Free()
		return nil, err
	}
	return b, nil
}

// CopyToDevice copies host into the first len(host) elements of dst.
func (d *Device) CopyToDevice(dst *Buffer, host []float32) error {
	if err := d.checkBuffer("destination", dst, len(host)); err != nil {
		return err
	}
	if len(host) == 0 {
		return nil
	}
	return d.do(func() error {
		// The copy runs on the legacy stream; order it after queued kernels.
		if err := check("cuStreamSynchronize", cuStreamSynchronize(d.stream)); err != nil {
			return err
		}
		return check("cuMemcpyHtoD_v2", cuMemcpyHtoD(dst.ptr, unsafe.Pointer(&host[0]), uintptr(len(host)*4)))
	})
}

// Download copies a buffer back to a new host slice, after the queued work.
func (d *Device) Download(b *Buffer) ([]float32, error) {
	if err := d.checkBuffer("source", b, 0); err != nil {
		return nil, err
	}
	out := make([]float32, b.n)
	return out, d.CopyToHost(out, b)
}

// CopyToHost copies the first len(host) elements of src into host, after the queued work.
func (d *Device) CopyToHost(host []float32, src *Buffer) error {
	if err := d.checkBuffer("source", src, len(host)); err != nil {
		return err
	}
	if len(host) == 0 {
		return nil
	}
	return d.do(func() error {
		if err := check("cuStreamSynchronize", cuStreamSynchronize(d.stream)); err != nil {
			return err
		}
		return check("cuMemcpyDtoH_v2", cuMemcpyDtoH(unsafe.Pointer(&host[0]), src.ptr, uintptr(len(host)*4)))
	})
}

// errLib explains a missing optional library (cuBLAS, NVRTC).
func errLib(what string, err error) error {
	return errors.New("cuda: " + what + " unavailable: " + err.Error())
}
