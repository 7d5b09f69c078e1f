package sam

import (
	"context"
	"errors"
	"fmt"
	"image"
	"math"
	"sort"

	"github.com/gsam-go/gsam/cpu"
	"github.com/gsam-go/gsam/nn"
	"github.com/gsam-go/gsam/processor"
	"gorgonia.org/tensor"
)

// AutomaticOptions are SamAutomaticMaskGenerator's settings.
type AutomaticOptions struct {
	PointsPerSide              int     // grid points along each side (32)
	PointsPerBatch             int     // prompts per decoder call (64)
	PredIOUThresh              float32 // drop masks whose predicted IoU is not above this (0.88)
	StabilityScoreThresh       float32 // drop masks less stable than this (0.95)
	StabilityScoreOffset       float32 // logit offset of the stability score (1.0)
	BoxNMSThresh               float64 // box IoU above which a lower-scored mask is dropped (0.7)
	CropNLayers                int     // extra layers of image crops (0)
	CropNMSThresh              float64 // NMS between crops (0.7)
	CropOverlapRatio           float64 // overlap of neighbouring crops (512/1500)
	CropNPointsDownscaleFactor int     // points per side shrink by this per crop layer (1)
	MinMaskRegionArea          int     // remove holes and islands smaller than this (0: off)
}

// DefaultAutomaticOptions are the reference defaults.
func DefaultAutomaticOptions() AutomaticOptions {
	return AutomaticOptions{
		PointsPerSide: 32, PointsPerBatch: 64, PredIOUThresh: 0.88, StabilityScoreThresh: 0.95,
		StabilityScoreOffset: 1, BoxNMSThresh: 0.7, CropNLayers: 0, CropNMSThresh: 0.7,
		CropOverlapRatio: 512.0 / 1500, CropNPointsDownscaleFactor: 1,
	}
}

// AutoMask is one generated mask, with the reference's record fields.
type AutoMask struct {
	Segmentation   Mask       // at the original image size
	Area           int        // pixels in the mask
	BBox           [4]int     // x, y, w, h (w = x1-x0 of the inclusive extent, as the reference)
	PredictedIOU   float32    // the decoder's IoU estimate
	PointCoords    [2]float64 // the grid point that produced it, original pixels
	StabilityScore float32    // IoU of the mask thresholded at ±offset
	CropBox        [4]int     // x, y, w, h of the crop it came from
}

// AutomaticMaskGenerator segments everything: it prompts the model with a
// grid of points, filters the masks by predicted IoU and stability, and
// removes duplicates with box NMS (SamAutomaticMaskGenerator).
type AutomaticMaskGenerator struct {
	Model     *Model
	Options   AutomaticOptions
	Processor *processor.SamProcessor // nil: NewPredictor's default
}

// NewAutomaticMaskGenerator uses the default options.
func NewAutomaticMaskGenerator(m *Model) *AutomaticMaskGenerator {
	return &AutomaticMaskGenerator{Model: m, Options: DefaultAutomaticOptions()}
}

func (g *AutomaticMaskGenerator) check() error {
	o := g.Options
	if o.PointsPerSide <= 0 || o.PointsPerBatch <= 0 || o.CropNLayers < 0 || o.CropNPointsDownscaleFactor <= 0 {
		return fmt.Errorf("sam: invalid automatic options %+v", o)
	}
	return nil
}

// Generate segments every object of img, cropping it as the options say.
func (g *AutomaticMaskGenerator) Generate(ctx context.Context, img image.Image) ([]AutoMask, error) {
	if err := g.check(); err != nil {
		return nil, err
	}
	if img == nil || img.Bounds().Empty() {
		return nil, errors.New("sam: empty image")
	}
	b := img.Bounds()
	orig := Size{b.Dy(), b.Dx()}
	crops, layers := generateCropBoxes(orig, g.Options.CropNLayers, g.Options.CropOverlapRatio)
	var all []candidate
	for i, cb := range crops {
		p := NewPredictor(g.Model)
		if g.Processor != nil {
			p.Processor = g.Processor
		}
		r := image.Rect(b.Min.X+cb[0], b.Min.Y+cb[1], b.Min.X+cb[2], b.Min.Y+cb[3])
		if err := p.SetImage(ctx, subImage(img, r)); err != nil {
			return nil, err
		}
		c, err := g.processCrop(ctx, p, cb, layers[i], orig)
		if err != nil {
			return nil, err
		}
		all = append(all, c...)
	}
	return g.finish(all, len(crops) > 1, orig), nil
}

// GeneratePixels segments everything on an image already preprocessed by
// SamProcessor (pixel values [1, 3, S, S], original size); there are no crops.
func (g *AutomaticMaskGenerator) GeneratePixels(ctx context.Context, pixels *tensor.Dense, original Size) ([]AutoMask, error) {
	if err := g.check(); err != nil {
		return nil, err
	}
	p := NewPredictor(g.Model)
	if err := p.SetPixels(ctx, pixels, original); err != nil {
		return nil, err
	}
	c, err := g.processCrop(ctx, p, [4]int{0, 0, original.Width, original.Height}, 0, original)
	if err != nil {
		return nil, err
	}
	return g.finish(c, false, original), nil
}

// candidate is a mask kept by one crop, already in the original frame.
type candidate struct {
	mask      []bool
	box       [4]int // x0, y0, x1, y1 inclusive extent
	iou, stab float32
	point     [2]float64
	crop      [4]int // x0, y0, x1, y1
}

// processCrop is _process_crop: prompt the crop with its point grid in
// batches, filter, and NMS within the crop.
func (g *AutomaticMaskGenerator) processCrop(ctx context.Context, p *Predictor, crop [4]int, layer int, orig Size) ([]candidate, error) {
	o := g.Options
	st := p.image
	cw, ch := crop[2]-crop[0], crop[3]-crop[1]
	n := o.PointsPerSide / int(math.Pow(float64(o.CropNPointsDownscaleFactor), float64(layer)))
	grid := buildPointGrid(max(n, 1))
	var cands []candidate
	for lo := 0; lo < len(grid); lo += o.PointsPerBatch {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		batch := grid[lo:min(lo+o.PointsPerBatch, len(grid))]
		c, err := g.processBatch(ctx, p, st, batch, cw, ch, crop, orig)
		if err != nil {
			return nil, err
		}
		cands = append(cands, c...)
	}
	scores := make([]float64, len(cands))
	boxes := make([][4]float64, len(cands))
	for i, c := range cands {
		scores[i] = float64(c.iou)
		boxes[i] = boxFloat(c.box)
	}
	keep := NMS(boxes, scores, o.BoxNMSThresh)
	out := make([]candidate, len(keep))
	for i, k := range keep {
		out[i] = cands[k]
	}
	return out, nil
}

func boxFloat(b [4]int) [4]float64 {
	return [4]float64{float64(b[0]), float64(b[1]), float64(b[2]), float64(b[3])}
}

// processBatch is _process_batch: one decoder call for a batch of points,
// each its own prompt with three masks.
func (g *AutomaticMaskGenerator) processBatch(ctx context.Context, p *Predictor, st *imageState, grid [][2]float64, cw, ch int, crop [4]int, orig Size) ([]candidate, error) {
	o := g.Options
	sx := float64(st.reshaped.Width) / float64(st.original.Width)
	sy := float64(st.reshaped.Height) / float64(st.original.Height)
	prompts := &Prompts{}
	points := make([][2]float64, len(grid))
	for i, gp := range grid {
		points[i] = [2]float64{gp[0] * float64(cw), gp[1] * float64(ch)}
		prompts.Points = append(prompts.Points, [][2]float32{{float32(points[i][0] * sx), float32(points[i][1] * sy)}})
		prompts.Labels = append(prompts.Labels, []int{LabelPositive})
	}
	out, err := p.Model.Decode(ctx, st.emb, prompts, true)
	if err != nil {
		return nil, err
	}
	s := nn.Shape(out.Masks)
	P, K, lh, lw := s[0], s[1], s[2], s[3]
	low, iou := nn.Data(out.Masks), nn.Data(out.IOU)
	pad := p.Model.Config.VisionConfig.ImageSize
	type job struct{ p, k int }
	var jobs []job
	for i := 0; i < P; i++ {
		for k := 0; k < K; k++ {
			if o.PredIOUThresh > 0 && !(iou[i*K+k] > o.PredIOUThresh) {
				continue
			}
			jobs = append(jobs, job{i, k})
		}
	}
	res := make([]*candidate, len(jobs))
	errs := make([]error, len(jobs))
	one := func(j int) {
		i, k := jobs[j].p, jobs[j].k
		plane := nn.FromData(low[(i*K+k)*lh*lw:(i*K+k+1)*lh*lw], 1, lh, lw)
		logits, err := PostProcessMasks(plane, pad, st.reshaped, st.original)
		if err != nil {
			errs[j] = err
			return
		}
		ld := nn.Data(logits)
		stab := StabilityScore(ld, 0, o.StabilityScoreOffset)
		if o.StabilityScoreThresh > 0 && !(stab >= o.StabilityScoreThresh) {
			return
		}
		m := make([]bool, len(ld))
		for t, v := range ld {
			m[t] = v > 0
		}
		box := maskToBox(m, cw, ch)
		if boxNearCropEdge(box, crop, orig) {
			return
		}
		c := &candidate{iou: iou[i*K+k], stab: stab, crop: crop,
			point: [2]float64{points[i][0] + float64(crop[0]), points[i][1] + float64(crop[1])}}
		c.mask = uncropMask(m, cw, ch, crop, orig)
		c.box = [4]int{box[0] + crop[0], box[1] + crop[1], box[2] + crop[0], box[3] + crop[1]}
		res[j] = c
	}
	cpu.ParallelFor(len(jobs), func(lo, hi int) {
		for j := lo; j < hi; j++ {
			one(j)
		}
	})
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	var cands []candidate
	for _, c := range res {
		if c != nil {
			cands = append(cands, *c)
		}
	}
	return cands, nil
}

// finish merges crops (NMS preferring smaller crops), removes small
// regions, and builds the records.
func (g *AutomaticMaskGenerator) finish(c []candidate, crops bool, orig Size) []AutoMask {
	o := g.Options
	if crops {
		boxes := make([][4]float64, len(c))
		scores := make([]float64, len(c))
		for i := range c {
			boxes[i] = boxFloat(c[i].box)
			cb := c[i].crop
			scores[i] = 1 / float64((cb[2]-cb[0])*(cb[3]-cb[1]))
		}
		c = pick(c, NMS(boxes, scores, o.CropNMSThresh))
	}
	if len(c) == 0 {
		return nil
	}
	W, H := orig.Width, orig.Height
	if o.MinMaskRegionArea > 0 {
		boxes := make([][4]float64, len(c))
		scores := make([]float64, len(c))
		for i := range c {
			m, changedHoles := RemoveSmallRegions(c[i].mask, W, H, o.MinMaskRegionArea, true)
			m, changedIslands := RemoveSmallRegions(m, W, H, o.MinMaskRegionArea, false)
			if !changedHoles && !changedIslands {
				scores[i] = 1 // NMS prefers masks that needed no fixing
			} else {
				c[i].mask = m
				c[i].box = maskToBox(m, W, H)
			}
			boxes[i] = boxFloat(c[i].box)
		}
		c = pick(c, NMS(boxes, scores, math.Max(o.BoxNMSThresh, o.CropNMSThresh)))
	}
	out := make([]AutoMask, len(c))
	for i, m := range c {
		area := 0
		for _, b := range m.mask {
			if b {
				area++
			}
		}
		out[i] = AutoMask{
			Segmentation: Mask{Width: W, Height: H, Pix: m.mask},
			Area:         area,
			BBox:         [4]int{m.box[0], m.box[1], m.box[2] - m.box[0], m.box[3] - m.box[1]},
			PredictedIOU: m.iou, PointCoords: m.point, StabilityScore: m.stab,
			CropBox: [4]int{m.crop[0], m.crop[1], m.crop[2] - m.crop[0], m.crop[3] - m.crop[1]},
		}
	}
	return out
}

func pick(c []candidate, keep []int) []candidate {
	out := make([]candidate, len(keep))
	for i, k := range keep {
		out[i] = c[k]
	}
	return out
}

// buildPointGrid is build_point_grid: n×n cell centres in [0, 1]², x fastest.
func buildPointGrid(n int) [][2]float64 {
	off := 1 / (2 * float64(n))
	side := make([]float64, n)
	for i := range side {
		if n == 1 {
			side[i] = off
		} else {
			side[i] = off + float64(i)*(1-2*off)/float64(n-1)
		}
	}
	pts := make([][2]float64, 0, n*n)
	for _, y := range side {
		for _, x := range side {
			pts = append(pts, [2]float64{x, y})
		}
	}
	return pts
}

// generateCropBoxes is generate_crop_boxes: the whole image, then for each
// layer i a 2^(i+1) × 2^(i+1) grid of overlapping crops (x0, y0, x1, y1).
func generateCropBoxes(im Size, nLayers int, overlapRatio float64) ([][4]int, []int) {
	boxes := [][4]int{{0, 0, im.Width, im.Height}}
	layers := []int{0}
	short := min(im.Height, im.Width)
	cropLen := func(orig, n, overlap int) int {
		return int(math.Ceil(float64(overlap*(n-1)+orig) / float64(n)))
	}
	for l := 0; l < nLayers; l++ {
		n := 1 << (l + 1)
		overlap := int(overlapRatio * float64(short) * (2 / float64(n)))
		cw, ch := cropLen(im.Width, n, overlap), cropLen(im.Height, n, overlap)
		for i := 0; i < n; i++ { // x0 outer, y0 inner, as itertools.product
			for j := 0; j < n; j++ {
				x0, y0 := (cw-overlap)*i, (ch-overlap)*j
				boxes = append(boxes, [4]int{x0, y0, min(x0+cw, im.Width), min(y0+ch, im.Height)})
				layers = append(layers, l+1)
			}
		}
	}
	return boxes, layers
}

// StabilityScore is calculate_stability_score: the IoU between the mask
// thresholded at threshold+offset and at threshold-offset.
func StabilityScore(logits []float32, threshold, offset float32) float32 {
	var inter, union int
	for _, v := range logits {
		if v > threshold+offset {
			inter++
		}
		if v > threshold-offset {
			union++
		}
	}
	if union == 0 {
		return 0
	}
	return float32(inter) / float32(union)
}

// maskToBox is batched_mask_to_box for one w×h mask: the inclusive extent
// x0, y0, x1, y1, or all zeros for an empty mask.
func maskToBox(m []bool, w, h int) [4]int {
	x0, y0, x1, y1 := w, h, -1, -1
	for y := 0; y < h; y++ {
		row := m[y*w : (y+1)*w]
		for x, b := range row {
			if b {
				x0, x1 = min(x0, x), max(x1, x)
				y0, y1 = min(y0, y), max(y1, y)
			}
		}
	}
	if x1 < 0 {
		return [4]int{}
	}
	return [4]int{x0, y0, x1, y1}
}

// boxNearCropEdge is is_box_near_crop_edge: a box (crop frame) within 20
// pixels of a crop edge that is not also an image edge.
func boxNearCropEdge(box [4]int, crop [4]int, orig Size) bool {
	img := [4]int{0, 0, orig.Width, orig.Height}
	for i := 0; i < 4; i++ {
		off := crop[0]
		if i%2 == 1 {
			off = crop[1]
		}
		v := box[i] + off
		nearCrop := math.Abs(float64(v-crop[i])) <= 20
		nearImage := math.Abs(float64(v-img[i])) <= 20
		if nearCrop && !nearImage {
			return true
		}
	}
	return false
}

// uncropMask places a crop's mask into the original frame.
func uncropMask(m []bool, cw, ch int, crop [4]int, orig Size) []bool {
	if crop == [4]int{0, 0, orig.Width, orig.Height} {
		return m
	}
	out := make([]bool, orig.Width*orig.Height)
	for y := 0; y < ch; y++ {
		copy(out[(y+crop[1])*orig.Width+crop[0]:], m[y*cw:(y+1)*cw])
	}
	return out
}

// NMS is torchvision's nms: indices of boxes (x0, y0, x1, y1) kept, by
// descending score, dropping any box whose IoU with a kept one exceeds thresh.
func NMS(boxes [][4]float64, scores []float64, thresh float64) []int {
	order := make([]int, len(boxes))
	for i := range order {
		order[i] = i
	}
	sort.SliceStable(order, func(a, b int) bool { return scores[order[a]] > scores[order[b]] })
	area := func(b [4]float64) float64 { return (b[2] - b[0]) * (b[3] - b[1]) }
	suppressed := make([]bool, len(boxes))
	var keep []int
	for oi, i := range order {
		if suppressed[i] {
			continue
		}
		keep = append(keep, i)
		a := boxes[i]
		for _, j := range order[oi+1:] {
			if suppressed[j] {
				continue
			}
			b := boxes[j]
			iw := math.Max(0, math.Min(a[2], b[2])-math.Max(a[0], b[0]))
			ih := math.Max(0, math.Min(a[3], b[3])-math.Max(a[1], b[1]))
			inter := iw * ih
			if inter/(area(a)+area(b)-inter) > thresh {
				suppressed[j] = true
			}
		}
	}
	return keep
}

// RemoveSmallRegions is remove_small_regions: with holes, fill background
// components smaller than minArea; otherwise drop foreground islands smaller
// than minArea (keeping the largest if all are small). 8-connectivity, as
// cv2.connectedComponentsWithStats(…, 8). It reports whether anything changed.
func RemoveSmallRegions(mask []bool, w, h, minArea int, holes bool) ([]bool, bool) {
	labels := make([]int32, len(mask))
	var sizes []int // sizes[l-1] of component l
	stack := []int{}
	for start := range mask {
		if mask[start] == holes || labels[start] != 0 { // working mask is mask XOR holes
			continue
		}
		l := int32(len(sizes) + 1)
		labels[start] = l
		stack = append(stack[:0], start)
		n := 0
		for len(stack) > 0 {
			p := stack[len(stack)-1]
			stack = stack[:len(stack)-1]
			n++
			px, py := p%w, p/w
			for dy := -1; dy <= 1; dy++ {
				for dx := -1; dx <= 1; dx++ {
					x, y := px+dx, py+dy
					if x < 0 || y < 0 || x >= w || y >= h {
						continue
					}
					q := y*w + x
					if mask[q] != holes && labels[q] == 0 {
						labels[q] = l
						stack = append(stack, q)
					}
				}
			}
		}
		sizes = append(sizes, n)
	}
	small := make([]bool, len(sizes)+1)
	anySmall := false
	for i, s := range sizes {
		if s < minArea {
			small[i+1] = true
			anySmall = true
		}
	}
	if !anySmall {
		return mask, false
	}
	out := make([]bool, len(mask))
	if holes {
		// Keep the mask and fill the small background components.
		for i, l := range labels {
			out[i] = l == 0 || small[l]
		}
		return out, true
	}
	keepLabel := make([]bool, len(sizes)+1)
	kept := false
	for l := 1; l <= len(sizes); l++ {
		if !small[l] {
			keepLabel[l] = true
			kept = true
		}
	}
	if !kept {
		best := 0
		for i, s := range sizes {
			if s > sizes[best] {
				best = i
			}
		}
		keepLabel[best+1] = true
	}
	for i, l := range labels {
		out[i] = keepLabel[l]
	}
	return out, true
}

// subImage crops img to r (in img's coordinates).
func subImage(img image.Image, r image.Rectangle) image.Image {
	if s, ok := img.(interface {
		SubImage(image.Rectangle) image.Image
	}); ok {
		return s.SubImage(r)
	}
	return &croppedImage{img, r}
}

type croppedImage struct {
	image.Image
	r image.Rectangle
}

func (c *croppedImage) Bounds() image.Rectangle { return c.r }
