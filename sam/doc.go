// Package sam is Segment Anything: the ViT image encoder (windowed and
// global attention with decomposed relative positions, the neck), the
// prompt encoder (points with labels, boxes, a low-resolution mask, the
// random-Fourier positional encoding), the two-way mask decoder with its
// IoU head, and the mask post-processing, loaded from a Hub folder
// (facebook/sam-vit-base, -large, -huge, or smaller configs) with strict
// weight binding.
//
// Predictor embeds an image once and answers many prompts on it, from
// several goroutines at once; AutomaticMaskGenerator segments everything on
// a point grid as the reference SamAutomaticMaskGenerator does.
package sam
