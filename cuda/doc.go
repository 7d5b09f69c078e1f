// Package cuda runs the heavy parts of the models on an NVIDIA GPU without
// cgo: a plain `CGO_ENABLED=0 go build` produces a binary that finds the
// GPU at run time and falls back to the CPU when there is none.
//
// # How it reaches the GPU
//
// The driver API (libcuda.so.1), cuBLAS (libcublas.so.13, else .12) and
// NVRTC (libnvrtc.so.13, else .12) are opened with dlopen through
// github.com/ebitengine/purego, and their C functions are bound to Go
// function variables (symbols.go lists every one, with the `_v2` driver
// entry points). Nothing CUDA-related is needed at build time: no headers,
// no toolkit, no C compiler. On platforms other than linux/amd64 and
// linux/arm64 the package compiles to the same API whose functions report
// that CUDA is unavailable.
//
// Our own kernels (layernorm, exact GELU, masked row softmax, bias add,
// multi-scale deformable attention, Swin window partition with shift,
// group norm, im2col, bilinear resize) are CUDA C sources embedded with
// go:embed (kernels/*.cu). They are compiled once per Device with NVRTC
// for the device's compute capability (--gpu-architecture=compute_XY) on
// the first launch (or CompileKernels), and loaded as PTX.
//
// # Devices, threads and memory
//
// A Device owns one CUDA context and one stream. The context is bound to a
// single goroutine locked to its OS thread (runtime.LockOSThread); every
// method sends its driver calls to that goroutine, so a Device can be used
// from any goroutine, one call at a time. Kernels and GEMMs are queued on
// the stream; Download and CopyToHost wait for them.
//
// Buffers are device memory of float32 values. A caching allocator keeps
// freed blocks in size-bucketed free lists and reuses them, so repeated
// inference does not call cuMemAlloc; EmptyCache returns them to the
// driver, and Close releases everything.
//
// Sgemm has the row-major semantics of cpu.Sgemm (cuBLAS is column-major:
// C = op(A)·op(B) is computed as Cᵀ = op(B)ᵀ·op(A)ᵀ). It runs in plain fp32
// by default; Options.TF32 (or SetTF32) opts into TF32 tensor cores.
//
// # Choosing CPU or GPU
//
// Available reports whether a GPU is usable and why not. Select("auto")
// opens the GPU when there is one and otherwise returns a nil Device and
// logs one line saying why the CPU is used; Select("cpu") never touches the
// GPU; Select("cuda") fails with the reason when no GPU is usable.
//
// The GPU tests compare every kernel and Sgemm with the CPU implementation
// on random data; they skip (with the reason) only where no GPU is usable,
// so `CGO_ENABLED=0 go test -c ./cuda/` builds a test binary to run on a
// GPU machine.
package cuda
