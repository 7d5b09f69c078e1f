// Package decoder is Grounding DINO's cross-modality decoder
// (GroundingDinoDecoder and GroundingDinoDecoderLayer) and the detection
// head of GroundingDinoForObjectDetection: each layer refines the queries
// with self-attention, cross-attention to the text tokens, deformable
// cross-attention to the multi-scale image features and an FFN; after each
// layer the shared box head moves the reference boxes (iterative box
// refinement), and the last layer's queries are scored against the text
// (contrastive class embedding) and turned into boxes.
package decoder
