package cuda

import (
	"errors"
	"fmt"
	"runtime"
	"sync"
	"unsafe"
)

// libs is the process-wide state of the shared libraries; they are opened
// once, on first use.
var libs struct {
	once       sync.Once
	cudaErr    error // libcuda missing, cuInit failed or no device
	cublasErr  error
	nvrtcErr   error
	cudaName   string
	cublasName string
	nvrtcName  string
	devices    int
}

func loadLibraries() {
	libs.once.Do(func() {
		libs.cudaName, libs.cudaErr = openLibrary(libCUDA)
		if libs.cudaErr == nil {
			if r := cuInit(0); r != 0 {
				if r == cudaErrorNoDevice {
					libs.cudaErr = errors.New("the CUDA driver found no device")
				} else {
					libs.cudaErr = fmt.Errorf("cuInit: %w", resultError(r))
				}
			} else {
				var n int32
				if r := cuDeviceGetCount(&n); r != 0 {
					libs.cudaErr = fmt.Errorf("cuDeviceGetCount: %w", resultError(r))
				} else if n == 0 {
					libs.cudaErr = errors.New("the CUDA driver found no device")
				}
				libs.devices = int(n)
			}
		}
		libs.cublasName, libs.cublasErr = openLibrary(libCUBLAS)
		libs.nvrtcName, libs.nvrtcErr = openLibrary(libNVRTC)
	})
}

// Available reports whether a CUDA device can be used, and why not: the
// driver library cannot be opened, has no device, or the platform is not
// supported. It never panics and costs one dlopen the first time.
func Available() (ok bool, reason string) {
	loadLibraries()
	if libs.cudaErr != nil {
		return false, "CUDA unavailable: " + libs.cudaErr.Error()
	}
	return true, fmt.Sprintf("CUDA available: %d device(s) through %s", libs.devices, libs.cudaName)
}

// Error is a failed CUDA, cuBLAS or NVRTC call.
type Error struct {
	Call string // e.g. "cuMemAlloc_v2"
	Code int32  // the library's status code
	Name string // the code's name where the library gives one
}

func (e *Error) Error() string {
	if e.Name != "" {
		return fmt.Sprintf("cuda: %s failed: %s (%d)", e.Call, e.Name, e.Code)
	}
	return fmt.Sprintf("cuda: %s failed with status %d", e.Call, e.Code)
}

// resultError describes a driver status code (without the call name).
func resultError(r int32) error {
	return &Error{Call: "driver", Code: r, Name: driverErrorName(r)}
}

func driverErrorName(r int32) string {
	if cuGetErrorName == nil {
		return ""
	}
	var p *byte
	if cuGetErrorName(r, &p) != 0 || p == nil {
		return ""
	}
	return goString(p)
}

// goString copies a NUL-terminated C string.
func goString(p *byte) string {
	var b []byte
	for q := unsafe.Pointer(p); *(*byte)(q) != 0; q = unsafe.Add(q, 1) {
		b = append(b, *(*byte)(q))
	}
	return string(b)
}

// check turns a driver status into an error naming the call.
func check(call string, r int32) error {
	if r == 0 {
		return nil
	}
	return &Error{Call: call, Code: r, Name: driverErrorName(r)}
}

// ErrClosed is returned by every method of a closed Device.
var ErrClosed = errors.New("cuda: device is closed")

// Options configure Open.
type Options struct {
	// Ordinal is the device number (0 = first GPU).
	Ordinal int
	// TF32 lets cuBLAS use TF32 tensor cores for Sgemm (about 8× faster on
	// Hopper, 10 mantissa bits in the products). The default is plain fp32.
	TF32 bool
}

// Device is one GPU with its own context and stream. The context belongs
// to a single goroutine locked to its OS thread; every method funnels its
// driver calls through that goroutine, so a Device may be used from any
// goroutine (calls are serialised). Close releases everything.
type Device struct {
	name         string
	ordinal      int
	major, minor int
	totalMem     uint64

	mu     sync.Mutex // serialises calls and guards closed
	closed bool
	calls  chan func()
	done   chan struct{} // closed when the device goroutine has released everything

	// Owned by the device goroutine.
	ctx    uintptr
	stream uintptr
	blas   uintptr
	tf32   bool
	module uintptr
	funcs  map[string]uintptr

	alloc allocator
}

// Open creates a context on the device opts.Ordinal.
func Open(opts Options) (*Device, error) {
	if ok, reason := Available(); !ok {
		return nil, errors.New("cuda: " + reason)
	}
	if opts.Ordinal < 0 || opts.Ordinal >= libs.devices {
		return nil, fmt.Errorf("cuda: device %d does not exist (%d found)", opts.Ordinal, libs.devices)
	}
	d := &Device{ordinal: opts.Ordinal, calls: make(chan func()), done: make(chan struct{}), funcs: map[string]uintptr{}, tf32: opts.TF32}
	d.alloc.free = map[int][]uint64{}
	ready := make(chan error, 1)
	go d.loop(ready)
	if err := <-ready; err != nil {
		return nil, err
	}
	return d, nil
}

// loop is the device goroutine: it owns the context for its whole life.
func (d *Device) loop(ready chan<- error) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	defer close(d.done)
	if err := d.init(); err != nil {
		d.release()
		ready <- err
		return
	}
	ready <- nil
	for fn := range d.calls {
		fn()
	}
	d.release()
}

func (d *Device) init() error {
	var dev int32
	if err := check("cuDeviceGet", cuDeviceGet(&dev, int32(d.ordinal))); err != nil {
		return err
	}
	name := make([]byte, 256)
	if err := check("cuDeviceGetName", cuDeviceGetName(&name[0], int32(len(name)), dev)); err != nil {
		return err
	}
	d.name = goString(&name[0])
	var major, minor int32
	if err := check("cuDeviceGetAttribute", cuDeviceGetAttribute(&major, cuDeviceAttrComputeCapabilityMajor, dev)); err != nil {
		return err
	}
	if err := check("cuDeviceGetAttribute", cuDeviceGetAttribute(&minor, cuDeviceAttrComputeCapabilityMinor, dev)); err != nil {
		return err
	}
	d.major, d.minor = int(major), int(minor)
	if err := check("cuDeviceTotalMem_v2", cuDeviceTotalMem(&d.totalMem, dev)); err != nil {
		return err
	}
	if err := check("cuCtxCreate_v2", cuCtxCreate(&d.ctx, 0, dev)); err != nil {
		return err
	}
	if err := check("cuCtxSetCurrent", cuCtxSetCurrent(d.ctx)); err != nil {
		return err
	}
	if err := check("cuStreamCreate", cuStreamCreate(&d.stream, cuStreamDefault)); err != nil {
		return err
	}
	return nil
}

// release frees everything the device goroutine owns (best effort).
func (d *Device) release() {
	if d.ctx == 0 {
		return
	}
	cuCtxSetCurrent(d.ctx)
	if d.stream != 0 {
		cuStreamSynchronize(d.stream)
	}
	d.alloc.releaseAll()
	if d.blas != 0 {
		cublasDestroy(d.blas)
		d.blas = 0
	}
	if d.module != 0 {
		cuModuleUnload(d.module)
		d.module = 0
	}
	if d.stream != 0 {
		cuStreamDestroy(d.stream)
		d.stream = 0
	}
	cuCtxDestroy(d.ctx)
	d.ctx = 0
}

// do runs fn on the device goroutine and waits for it.
func (d *Device) do(fn func() error) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.closed {
		return ErrClosed
	}
	errc := make(chan error, 1)
	d.calls <- func() { errc <- fn() }
	return <-errc
}

// Close waits for queued work, frees every buffer and cached block, and
// destroys the context. Buffers of a closed device must not be used.
func (d *Device) Close() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.closed {
		return nil
	}
	d.closed = true
	close(d.calls)
	<-d.done
	return nil
}

// Name is the GPU's name, e.g. "NVIDIA H200".
func (d *Device) Name() string { return d.name }

// ComputeCapability is the device's (major, minor), e.g. (9, 0).
func (d *Device) ComputeCapability() (major, minor int) { return d.major, d.minor }

// TotalMemory is the device memory in bytes.
func (d *Device) TotalMemory() uint64 { return d.totalMem }

func (d *Device) String() string {
	return fmt.Sprintf("%s (device %d, compute %d.%d, %.0f GiB)", d.name, d.ordinal, d.major, d.minor, float64(d.totalMem)/(1<<30))
}

// Synchronize waits until all queued work on the device's stream is done.
func (d *Device) Synchronize() error {
	return d.do(func() error { return check("cuStreamSynchronize", cuStreamSynchronize(d.stream)) })
}
