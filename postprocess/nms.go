package postprocess

import "slices"

// NMS is greedy class-wise non-maximum suppression: detections are visited
// by descending score (ties by query) and one is dropped when a kept
// detection of the same class overlaps it with IoU > iou. The class is
// Label when byLabel is set, else TextLabel. The survivors keep their
// input order.
func NMS(dets []Detection, iou float32, byLabel bool) []Detection {
	order := make([]int, len(dets))
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(a, b int) int {
		switch {
		case dets[a].Score > dets[b].Score:
			return -1
		case dets[a].Score < dets[b].Score:
			return 1
		}
		return 0
	})
	same := func(a, b *Detection) bool {
		if byLabel {
			return a.Label == b.Label
		}
		return a.TextLabel == b.TextLabel
	}
	drop := make([]bool, len(dets))
	for i, a := range order {
		if drop[a] {
			continue
		}
		for _, b := range order[i+1:] {
			if !drop[b] && same(&dets[a], &dets[b]) && IoU(dets[a].Box, dets[b].Box) > iou {
				drop[b] = true
			}
		}
	}
	out := make([]Detection, 0, len(dets))
	for i, d := range dets {
		if !drop[i] {
			out = append(out, d)
		}
	}
	return out
}

// IoU is the intersection over union of two x0, y0, x1, y1 boxes (0 when
// both are empty).
func IoU(a, b [4]float32) float32 {
	iw := min(a[2], b[2]) - max(a[0], b[0])
	ih := min(a[3], b[3]) - max(a[1], b[1])
	if iw <= 0 || ih <= 0 {
		return 0
	}
	inter := iw * ih
	union := (a[2]-a[0])*(a[3]-a[1]) + (b[2]-b[0])*(b[3]-b[1]) - inter
	if union <= 0 {
		return 0
	}
	return inter / union
}
