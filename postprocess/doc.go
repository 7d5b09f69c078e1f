// Package postprocess turns Grounding DINO's head outputs into detections:
// the reference post_process_grounded_object_detection (transformers 5.17)
// — sigmoid scores, the box threshold on each query's best token, boxes in
// target pixels and the phrase of the tokens above the text threshold —
// plus two options the reference lacks: a whole input label per detection
// instead of the raw phrase, and class-wise non-maximum suppression.
package postprocess
