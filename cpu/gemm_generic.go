//go:build !amd64 || purego

package cpu

func init() { kernelInUse = genericKernel }

// gemmKernels lists every kernel this CPU can run, for the tests.
func gemmKernels() []*gemmKernel { return []*gemmKernel{genericKernel} }
