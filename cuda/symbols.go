package cuda

import "unsafe"

// The C entry points, filled in by loadLibraries through purego. The Go
// signatures follow the C prototypes: CUresult, cublasStatus_t and
// nvrtcResult are 32-bit enums (int32); CUdevice is an int; CUdeviceptr is a
// 64-bit integer; handles (contexts, streams, modules, functions, cuBLAS and
// NVRTC handles) are pointers (uintptr). Every call runs on the device's
// locked OS thread.
var (
	// Driver API (libcuda.so.1).
	cuInit               func(flags uint32) int32
	cuDeviceGetCount     func(count *int32) int32
	cuDeviceGet          func(dev *int32, ordinal int32) int32
	cuDeviceGetName      func(name *byte, length int32, dev int32) int32
	cuDeviceGetAttribute func(value *int32, attrib int32, dev int32) int32
	cuDeviceTotalMem     func(bytes *uint64, dev int32) int32
	cuCtxCreate          func(ctx *uintptr, flags uint32, dev int32) int32
	cuCtxDestroy         func(ctx uintptr) int32
	cuCtxSetCurrent      func(ctx uintptr) int32
	cuMemAlloc           func(dptr *uint64, bytes uintptr) int32
	cuMemFree            func(dptr uint64) int32
	cuMemcpyHtoD         func(dst uint64, src unsafe.Pointer, bytes uintptr) int32
	cuMemcpyDtoH         func(dst unsafe.Pointer, src uint64, bytes uintptr) int32
	cuMemcpyDtoD         func(dst, src uint64, bytes uintptr) int32
	cuStreamCreate       func(stream *uintptr, flags uint32) int32
	cuStreamDestroy      func(stream uintptr) int32
	cuStreamSynchronize  func(stream uintptr) int32
	cuModuleLoadData     func(mod *uintptr, image unsafe.Pointer) int32
	cuModuleUnload       func(mod uintptr) int32
	cuModuleGetFunction  func(fn *uintptr, mod uintptr, name string) int32
	cuLaunchKernel       func(fn uintptr, gridX, gridY, gridZ, blockX, blockY, blockZ, sharedBytes uint32, stream uintptr, params unsafe.Pointer, extra unsafe.Pointer) int32
	cuGetErrorName       func(result int32, name **byte) int32

	// cuBLAS (libcublas.so.13 or .12).
	cublasCreate      func(handle *uintptr) int32
	cublasDestroy     func(handle uintptr) int32
	cublasSetStream   func(handle uintptr, stream uintptr) int32
	cublasSetMathMode func(handle uintptr, mode int32) int32
	cublasSgemm       func(handle uintptr, transA, transB int32, m, n, k int32, alpha *float32, a uint64, lda int32, b uint64, ldb int32, beta *float32, c uint64, ldc int32) int32
	cublasSgemmSB     func(handle uintptr, transA, transB int32, m, n, k int32, alpha *float32, a uint64, lda int32, strideA int64, b uint64, ldb int32, strideB int64, beta *float32, c uint64, ldc int32, strideC int64, batch int32) int32

	// NVRTC (libnvrtc.so.13 or .12).
	nvrtcCreateProgram     func(prog *uintptr, src string, name string, numHeaders int32, headers unsafe.Pointer, includeNames unsafe.Pointer) int32
	nvrtcCompileProgram    func(prog uintptr, numOptions int32, options unsafe.Pointer) int32
	nvrtcGetPTXSize        func(prog uintptr, size *uintptr) int32
	nvrtcGetPTX            func(prog uintptr, ptx *byte) int32
	nvrtcGetProgramLogSize func(prog uintptr, size *uintptr) int32
	nvrtcGetProgramLog     func(prog uintptr, log *byte) int32
	nvrtcDestroyProgram    func(prog *uintptr) int32
	nvrtcGetErrorString    func(result int32) string
)

// library is one shared library and the names it is tried under, in order.
type library int

const (
	libCUDA library = iota
	libCUBLAS
	libNVRTC
)

var libraryNames = [...][]string{
	libCUDA:   {"libcuda.so.1", "libcuda.so"},
	libCUBLAS: {"libcublas.so.13", "libcublas.so.12", "libcublas.so"},
	libNVRTC:  {"libnvrtc.so.13", "libnvrtc.so.12", "libnvrtc.so"},
}

func (l library) String() string { return libraryNames[l][0] }

// symbol binds one C function to its Go variable (a pointer to a func).
type symbol struct {
	lib  library
	name string
	fn   any
}

// symbols is everything loadLibraries resolves. A library whose symbols
// are not all present is treated as absent, with the missing names in the
// reason.
var symbols = []symbol{
	{libCUDA, "cuInit", &cuInit},
	{libCUDA, "cuDeviceGetCount", &cuDeviceGetCount},
	{libCUDA, "cuDeviceGet", &cuDeviceGet},
	{libCUDA, "cuDeviceGetName", &cuDeviceGetName},
	{libCUDA, "cuDeviceGetAttribute", &cuDeviceGetAttribute},
	{libCUDA, "cuDeviceTotalMem_v2", &cuDeviceTotalMem},
	{libCUDA, "cuCtxCreate_v2", &cuCtxCreate},
	{libCUDA, "cuCtxDestroy_v2", &cuCtxDestroy},
	{libCUDA, "cuCtxSetCurrent", &cuCtxSetCurrent},
	{libCUDA, "cuMemAlloc_v2", &cuMemAlloc},
	{libCUDA, "cuMemFree_v2", &cuMemFree},
	{libCUDA, "cuMemcpyHtoD_v2", &cuMemcpyHtoD},
	{libCUDA, "cuMemcpyDtoH_v2", &cuMemcpyDtoH},
	{libCUDA, "cuMemcpyDtoD_v2", &cuMemcpyDtoD},
	{libCUDA, "cuStreamCreate", &cuStreamCreate},
	{libCUDA, "cuStreamDestroy_v2", &cuStreamDestroy},
	{libCUDA, "cuStreamSynchronize", &cuStreamSynchronize},
	{libCUDA, "cuModuleLoadData", &cuModuleLoadData},
	{libCUDA, "cuModuleUnload", &cuModuleUnload},
	{libCUDA, "cuModuleGetFunction", &cuModuleGetFunction},
	{libCUDA, "cuLaunchKernel", &cuLaunchKernel},
	{libCUDA, "cuGetErrorName", &cuGetErrorName},

	{libCUBLAS, "cublasCreate_v2", &cublasCreate},
	{libCUBLAS, "cublasDestroy_v2", &cublasDestroy},
	{libCUBLAS, "cublasSetStream_v2", &cublasSetStream},
	{libCUBLAS, "cublasSetMathMode", &cublasSetMathMode},
	{libCUBLAS, "cublasSgemm_v2", &cublasSgemm},
	{libCUBLAS, "cublasSgemmStridedBatched", &cublasSgemmSB},

	{libNVRTC, "nvrtcCreateProgram", &nvrtcCreateProgram},
	{libNVRTC, "nvrtcCompileProgram", &nvrtcCompileProgram},
	{libNVRTC, "nvrtcGetPTXSize", &nvrtcGetPTXSize},
	{libNVRTC, "nvrtcGetPTX", &nvrtcGetPTX},
	{libNVRTC, "nvrtcGetProgramLogSize", &nvrtcGetProgramLogSize},
	{libNVRTC, "nvrtcGetProgramLog", &nvrtcGetProgramLog},
	{libNVRTC, "nvrtcDestroyProgram", &nvrtcDestroyProgram},
	{libNVRTC, "nvrtcGetErrorString", &nvrtcGetErrorString},
}

// Driver constants used here (cuda.h).
const (
	cuDeviceAttrComputeCapabilityMajor = 75
	cuDeviceAttrComputeCapabilityMinor = 76
	cudaErrorNoDevice                  = 100
	cudaErrorOutOfMemory               = 2

	cublasOpN                     = 0
	cublasOpT                     = 1
	cublasDefaultMath             = 0
	cublasPedanticMath            = 2
	cublasTF32TensorOpMath        = 3
	cublasStatusSuccess           = 0
	nvrtcSuccess                  = 0
	cuStreamDefault        uint32 = 0
)
