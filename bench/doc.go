// Package bench holds go test benchmarks of the attention kernels and matrix
// products at the real shapes of Grounding DINO tiny (800×1333 input, 9-token
// caption, 900 queries) and SAM ViT-B (1024×1024), run through the exported
// code of the cpu, nn, enhancer, decoder and backbone packages, with random
// weights from weights.Randomize. Every benchmark reports "ms" (per call)
// and "GFLOP/s", plus "GB/s" for the memory-bound deformable sampling.
//
// The package has no non-test code beyond this comment. The scripts beside it
// time the same shapes in PyTorch (torch_kernels.py), print a side-by-side
// markdown table (compare.sh, compare.py) and run the whole-model PyTorch
// reference (cpuref.sh); README.md says how.
//
// In CI the benchmarks run once each:
//
//	go test -run XXX -bench . -benchtime 1x ./bench/
package bench
