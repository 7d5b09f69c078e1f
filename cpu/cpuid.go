package cpu

import (
	"os"

	xcpu "golang.org/x/sys/cpu"
)

// CPU features the fast kernels choose between. x/sys/cpu already checks that
// the OS saves the YMM/ZMM state, so these are safe to act on.
var (
	x86HasAVX2FMA = xcpu.X86.HasAVX2 && xcpu.X86.HasFMA && xcpu.X86.HasAVX
	x86HasAVX512F = xcpu.X86.HasAVX512F && x86HasAVX2FMA
)

// kernelOverride is GSAM_GEMM ("purego", "avx2", "avx512"): it caps the GEMM
// micro-kernel choice, to compare paths or to step around a suspect kernel.
var kernelOverride = os.Getenv("GSAM_GEMM")
