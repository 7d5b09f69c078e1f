// Package backbone holds Grounding DINO's feature extractors: the vision
// backbones (Swin, ResNet with frozen batch norm) that turn pixels into
// multi-scale feature maps with their padding masks, the sine position
// embedding of each level, the input projections to d_model (plus the extra
// stride-2 levels), the flattening of all levels into the encoder's sequence,
// and the BERT text encoder.
//
// Tensors keep PyTorch's axis order ([B, C, H, W] for images and feature
// maps); weights bind by the Hub's key names. Masks are []uint8 with 1 on
// real pixels, laid out [B, H, W].
package backbone
