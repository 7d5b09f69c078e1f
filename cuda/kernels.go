package cuda

import (
	"embed"
	"fmt"
	"io/fs"
	"regexp"
	"runtime"
	"sort"
	"strings"
	"unsafe"
)

// The CUDA C sources of our kernels, compiled at run time with NVRTC for
// the device's compute capability (nothing CUDA-specific at build time).
//
//go:embed kernels/*.cu
var kernelFS embed.FS

// KernelSources returns the embedded .cu files by name, in compile order.
func KernelSources() (names []string, sources []string, err error) {
	ents, err := fs.ReadDir(kernelFS, "kernels")
	if err != nil {
		return nil, nil, err
	}
	for _, e := range ents {
		if e.IsDir() || !strings.HasSuffix(e.Name(), ".cu") {
			continue
		}
		b, err := kernelFS.ReadFile("kernels/" + e.Name())
		if err != nil {
			return nil, nil, err
		}
		names = append(names, e.Name())
		sources = append(sources, string(b))
	}
	return names, sources, nil
}

// programSource is the single NVRTC program: every .cu file, in name order.
func programSource() (string, error) {
	names, srcs, err := KernelSources()
	if err != nil {
		return "", err
	}
	var b strings.Builder
	for i, s := range srcs {
		fmt.Fprintf(&b, "// ---- %s ----\n%s\n", names[i], s)
	}
	return b.String(), nil
}

var entryRE = regexp.MustCompile(`extern "C" __global__ void (\w+)\(`)

// kernelEntries lists the extern "C" kernels declared in the sources.
func kernelEntries(src string) []string {
	var out []string
	for _, m := range entryRE.FindAllStringSubmatch(src, -1) {
		out = append(out, m[1])
	}
	sort.Strings(out)
	return out
}

// The kernels the Go wrappers launch; a test checks each is declared.
const (
	kLayerNorm = "gsam_layernorm"
	kGELU      = "gsam_gelu"
	kSoftmax   = "gsam_softmax_rows"
	kBiasAdd   = "gsam_bias_add"
	kMSDeform  = "gsam_msdeform"
	kWindow    = "gsam_window_partition"
	kGroupNorm = "gsam_groupnorm"
	kIm2col    = "gsam_im2col"
	kResize    = "gsam_resize_bilinear"
)

var launchedKernels = []string{kLayerNorm, kGELU, kSoftmax, kBiasAdd, kMSDeform, kWindow, kGroupNorm, kIm2col, kResize}

func nvrtcCheck(call string, r int32) error {
	if r == nvrtcSuccess {
		return nil
	}
	name := ""
	if nvrtcGetErrorString != nil {
		name = nvrtcGetErrorString(r)
	}
	return &Error{Call: call, Code: r, Name: name}
}

// compilePTX compiles src for compute_<major><minor> and returns the PTX
// (NUL-terminated, as cuModuleLoadData wants it).
func compilePTX(src string, major, minor int) ([]byte, error) {
	if libs.nvrtcErr != nil {
		return nil, errLib("NVRTC", libs.nvrtcErr)
	}
	var prog uintptr
	if err := nvrtcCheck("nvrtcCreateProgram", nvrtcCreateProgram(&prog, src, "gsam_kernels.cu", 0, nil, nil)); err != nil {
		return nil, err
	}
	defer nvrtcDestroyProgram(&prog)
	opts := []string{fmt.Sprintf("--gpu-architecture=compute_%d%d", major, minor), "--std=c++17"}
	cstrs := make([][]byte, len(opts))
	ptrs := make([]*byte, len(opts))
	for i, o := range opts {
		cstrs[i] = append([]byte(o), 0)
		ptrs[i] = &cstrs[i][0]
	}
	r := nvrtcCompileProgram(prog, int32(len(ptrs)), unsafe.Pointer(&ptrs[0]))
	runtime.KeepAlive(cstrs)
	runtime.KeepAlive(ptrs)
	if r != nvrtcSuccess {
		err := nvrtcCheck("nvrtcCompileProgram", r)
		var n uintptr
		if nvrtcGetProgramLogSize(prog, &n) == nvrtcSuccess && n > 1 {
			log := make([]byte, n)
			if nvrtcGetProgramLog(prog, &log[0]) == nvrtcSuccess {
				return nil, fmt.Errorf("%w (%s):\n%s", err, strings.Join(opts, " "), strings.TrimRight(string(log), "\x00\n"))
			}
		}
		return nil, err
	}
	var n uintptr
	if err := nvrtcCheck("nvrtcGetPTXSize", nvrtcGetPTXSize(prog, &n)); err != nil {
		return nil, err
	}
	ptx := make([]byte, n+1)
	if err := nvrtcCheck("nvrtcGetPTX", nvrtcGetPTX(prog, &ptx[0])); err != nil {
		return nil, err
	}
	return ptx, nil
}

// function returns a kernel of our module, compiling and loading it on
// first use (device goroutine).
func (d *Device) function(name string) (uintptr, error) {
	if f, ok := d.funcs[name]; ok {
		return f, nil
	}
	if d.module == 0 {
		src, err := programSource()
		if err != nil {
			return 0, err
		}
		ptx, err := compilePTX(src, d.major, d.minor)
		if err != nil {
			return 0, err
		}
		var mod uintptr
		if err := check("cuModuleLoadData", cuModuleLoadData(&mod, unsafe.Pointer(&ptx[0]))); err != nil {
			return 0, err
		}
		d.module = mod
	}
	var f uintptr
	if err := check("cuModuleGetFunction("+name+")", cuModuleGetFunction(&f, d.module, name)); err != nil {
		return 0, err
	}
	d.funcs[name] = f
	return f, nil
}

// CompileKernels compiles and loads every kernel now (it otherwise happens
// on the first kernel launch), e.g. to measure or to fail early.
func (d *Device) CompileKernels() error {
	return d.do(func() error {
		for _, k := range launchedKernels {
			if _, err := d.function(k); err != nil {
				return err
			}
		}
		return nil
	})
}

// args are a kernel's arguments, each held in its own heap cell whose
// address goes into the parameter array cuLaunchKernel reads: a device
// pointer, an int, a float, or a small struct passed by value.
type args struct {
	vals   []any
	holder []unsafe.Pointer
}

func (a *args) ptr(b *Buffer) *args {
	p := new(uint64)
	if b != nil {
		*p = b.ptr
	}
	a.vals = append(a.vals, p)
	a.holder = append(a.holder, unsafe.Pointer(p))
	return a
}

func (a *args) i32(v int) *args {
	p := new(int32)
	*p = int32(v)
	a.vals = append(a.vals, p)
	a.holder = append(a.holder, unsafe.Pointer(p))
	return a
}

func (a *args) i64(v int) *args {
	p := new(int64)
	*p = int64(v)
	a.vals = append(a.vals, p)
	a.holder = append(a.holder, unsafe.Pointer(p))
	return a
}

func (a *args) f32(v float32) *args {
	p := new(float32)
	*p = v
	a.vals = append(a.vals, p)
	a.holder = append(a.holder, unsafe.Pointer(p))
	return a
}

func (a *args) levels(l *levelsArg) *args {
	a.vals = append(a.vals, l)
	a.holder = append(a.holder, unsafe.Pointer(l))
	return a
}

// launch queues kernel name on the device's stream.
func (d *Device) launch(name string, grid, block int, a *args) error {
	if grid <= 0 {
		return nil
	}
	return d.do(func() error {
		f, err := d.function(name)
		if err != nil {
			return err
		}
		// The parameter array lives in C-visible memory for the call only.
		r := cuLaunchKernel(f, uint32(grid), 1, 1, uint32(block), 1, 1, 0, d.stream, unsafe.Pointer(&a.holder[0]), nil)
		runtime.KeepAlive(a)
		return check("cuLaunchKernel("+name+")", r)
	})
}

const threads = 256

// blocksFor is the grid for one thread per element, capped for grid-stride kernels.
func blocksFor(n int64, capped bool) int {
	g := (n + threads - 1) / threads
	if capped && g > 65535*8 {
		g = 65535 * 8
	}
	return int(g)
}
