// Package cpu holds the float32 compute kernels every model runs on the CPU:
// SGEMM, softmax, normalisations, activations, fused attention and
// multi-scale deformable attention. Each kernel has one plain Go reference
// implementation and, where it pays, a fast path selected at run time; the
// tests compare the two.
package cpu
