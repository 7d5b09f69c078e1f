// Package weights reads model weights from the Hugging Face Hub's
// safetensors files, unchanged: a single model.safetensors (memory-mapped) or
// a sharded checkpoint with its model.safetensors.index.json. F32, F16, BF16
// and F64 tensors convert to float32; I64, I32, U8 and BOOL read as integers.
//
// Layers declare their weights as *tensor.Dense fields with struct tags that
// spell the Hub's key names; Loader binds a whole model in one pass and
// reports every missing key, every shape mismatch and every unused key in a
// single error.
package weights
