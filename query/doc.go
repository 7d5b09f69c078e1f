// Package query is Grounding DINO's language-guided query selection: the
// two-stage step between the feature enhancer and the decoder
// (GroundingDinoModel.forward in the reference). Every encoder output
// position becomes a proposal box (generate_encoder_output_proposals), is
// scored against the text tokens by the contrastive embedding, and the
// num_queries positions with the best token score seed the decoder's
// reference boxes.
package query
