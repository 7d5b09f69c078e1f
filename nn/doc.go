// Package nn holds the layers every stage shares — Linear, LayerNorm (and
// SAM's channels-first LayerNorm2d), GroupNorm, Conv2d, ConvTranspose2d,
// Embedding, MLP, activations, softmax and multi-head attention — as small
// types with a Forward over gorgonia.org/tensor dense float32 tensors in
// PyTorch axis order. The arithmetic runs on package cpu's kernels.
package nn
