package backbone

import (
	"fmt"

	"github.com/gsam-go/gsam/cpu"
	"github.com/gsam-go/gsam/nn"
	"gorgonia.org/tensor"
)

// Flattened is the encoder's input: all levels' pixels in one sequence,
// level by level, row-major within a level (GroundingDinoModel.forward).
type Flattened struct {
	Source        *tensor.Dense // [B, S, d_model], S = Σ h*w
	Mask          []uint8       // [B, S], 1 = real pixel
	PosEmbed      *tensor.Dense // [B, S, d_model]: position embedding + level_embed[level]
	SpatialShapes [][2]int      // per level (h, w)
	LevelStart    []int         // offset of each level in S
	ValidRatios   *tensor.Dense // [B, L, 2]: (valid width / w, valid height / h) per level
}

// Flatten concatenates the levels and adds the level embeddings [L, d_model].
func Flatten(levels []Level, levelEmbed *tensor.Dense) (*Flattened, error) {
	if len(levels) == 0 {
		return nil, fmt.Errorf("flatten: no levels")
	}
	s0 := levels[0].Source.Shape()
	B, D := s0[0], s0[1]
	le := nn.Data(levelEmbed)
	if len(le) < len(levels)*D {
		return nil, fmt.Errorf("flatten: level_embed %v too small for %d levels of width %d", levelEmbed.Shape(), len(levels), D)
	}
	f := &Flattened{}
	S := 0
	for _, l := range levels {
		s := l.Source.Shape()
		if len(s) != 4 || s[0] != B || s[1] != D {
			return nil, fmt.Errorf("flatten: level of shape %v, want [%d, %d, h, w]", s, B, D)
		}
		f.SpatialShapes = append(f.SpatialShapes, [2]int{s[2], s[3]})
		f.LevelStart = append(f.LevelStart, S)
		S += s[2] * s[3]
	}
	// Both are written whole below. From Scratch: a caller done with them
	// may hand them back with nn.Release.
	src := nn.Scratch(B * S * D)
	pos := nn.Scratch(B * S * D)
	mask := make([]uint8, B*S)
	ratios := make([]float32, B*len(levels)*2)
	for li, l := range levels {
		h, w := f.SpatialShapes[li][0], f.SpatialShapes[li][1]
		hw := h * w
		sd, pd := nn.Data(l.Source), nn.Data(l.PosEmbed)
		emb := le[li*D : (li+1)*D]
		for b := 0; b < B; b++ {
			off := b*S + f.LevelStart[li]
			// [D, hw] → [hw, D] in tiles of positions, whose D-wide rows
			// stay in cache while the channels fill them, over the cores.
			const tile = 64
			cpu.ParallelFor((hw+tile-1)/tile, func(lo, hi int) {
				for t := lo; t < hi; t++ {
					p0, p1 := t*tile, min(t*tile+tile, hw)
					for c := 0; c < D; c++ {
						sc := sd[(b*D+c)*hw+p0 : (b*D+c)*hw+p1]
						pc := pd[(b*D+c)*hw+p0 : (b*D+c)*hw+p1]
						e := emb[c]
						for q, v := range sc {
							src[(off+p0+q)*D+c] = v
							pos[(off+p0+q)*D+c] = pc[q] + e
						}
					}
				}
			})
			m := l.Mask[b*hw : (b+1)*hw]
			copy(mask[off:off+hw], m)
			// get_valid_ratio: real rows in the first column, real columns in the first row.
			var vh, vw int
			for y := 0; y < h; y++ {
				if m[y*w] != 0 {
					vh++
				}
			}
			for x := 0; x < w; x++ {
				if m[x] != 0 {
					vw++
				}
			}
			ratios[(b*len(levels)+li)*2] = float32(vw) / float32(w)
			ratios[(b*len(levels)+li)*2+1] = float32(vh) / float32(h)
		}
	}
	f.Source = nn.FromData(src, B, S, D)
	f.PosEmbed = nn.FromData(pos, B, S, D)
	f.Mask = mask
	f.ValidRatios = nn.FromData(ratios, B, len(levels), 2)
	return f, nil
}
