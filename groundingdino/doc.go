// Package groundingdino assembles Grounding DINO from its stages — the
// vision and text backbones (package backbone), the feature enhancer
// (enhancer), language-guided query selection (query) and the
// cross-modality decoder (decoder) — loads it from a Hugging Face Hub
// folder (config.json, model.safetensors, tokenizer files,
// preprocessor_config.json) and exposes detection: images and a text prompt
// in, boxes with scores and phrases out.
package groundingdino
