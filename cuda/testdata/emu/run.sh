#!/bin/sh
# Runs the kernels in ../../kernels/*.cu on the CPU under a small emulation
# of CUDA's thread model (shim.h: threads per block, __syncthreads and
# __shfl_xor_sync with barriers) and checks them against plain C++
# references. It checks index math and reductions where no GPU is at hand;
# it does not replace the GPU tests (NVRTC, real warps, cuBLAS).
set -e
cd "$(dirname "$0")"
tmp=$(mktemp -d)
{ echo '#include "shim.h"'; cat ../../kernels/*.cu; } > "$tmp/all.cpp"
cp shim.h main.cpp "$tmp/"
g++ -std=c++20 -O1 -pthread "$tmp/main.cpp" -o "$tmp/emu"
"$tmp/emu"
rm -rf "$tmp"
