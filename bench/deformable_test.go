package bench

import (
	"math/rand/v2"
	"testing"

	"github.com/gsam-go/gsam/cpu"
	"github.com/gsam-go/gsam/enhancer"
	"github.com/gsam-go/gsam/nn"
	"github.com/gsam-go/gsam/weights"
)

// The flattened multi-scale maps of Grounding DINO tiny at 800×1333: Swin-T
// stages 2–4 (strides 8, 16, 32) and the extra stride-2 convolution, S =
// 16700+4200+1050+273 = 22223 positions. The encoder's queries are these
// positions; the decoder has 900.
var gdinoLevels = [][2]int{{100, 167}, {50, 84}, {25, 42}, {13, 21}}

const (
	gdinoS       = 100*167 + 50*84 + 25*42 + 13*21
	gdinoQueries = 900
	deformHeads  = 8
	deformPoints = 4
	deformD      = 32 // d_model 256 / 8 heads
	dModel       = 256
)

func levelStarts(shapes [][2]int) []int {
	starts := make([]int, len(shapes))
	for l := 1; l < len(shapes); l++ {
		starts[l] = starts[l-1] + shapes[l-1][0]*shapes[l-1][1]
	}
	return starts
}

// referenceCentres returns one (x, y) centre in [0, 1] per query: in the
// encoder each query's own pixel centre, in the decoder random points (box
// centres). That locality decides the cache behaviour of the sampling.
func referenceCentres(r *rand.Rand, Q int, encoder bool) []float32 {
	c := make([]float32, 2*Q)
	starts := levelStarts(gdinoLevels)
	for q := 0; q < Q; q++ {
		if encoder {
			l := len(starts) - 1
			for q < starts[l] {
				l--
			}
			hw, k := gdinoLevels[l], q-starts[l]
			c[2*q] = (float32(k%hw[1]) + 0.5) / float32(hw[1])
			c[2*q+1] = (float32(k/hw[1]) + 0.5) / float32(hw[0])
		} else {
			c[2*q], c[2*q+1] = r.Float32(), r.Float32()
		}
	}
	return c
}

// deformSamples is the number of bilinear samples per call; each reads four
// corner rows of D floats and does 4·D multiply-adds plus the weighting.
func deformSamples(Q int) float64 {
	return float64(Q) * deformHeads * float64(len(gdinoLevels)) * deformPoints
}

func deformKernelFLOPs(Q int) float64 { return deformSamples(Q) * 4 * deformD * 2 }

func deformKernelBytes(Q int) float64 { return deformSamples(Q) * (4*deformD*4 + 12) }

// BenchmarkMSDeformAttn times the fused sampling kernel cpu.MSDeformAttn
// alone (value [1, S, 8, 32], 4 levels × 4 points), with sampling locations
// a few pixels around each query's reference point and softmaxed weights.
// GFLOP/s counts 4 corners × D multiply-adds per sample; GB/s the corner
// rows, locations and weights read.
func BenchmarkMSDeformAttn(b *testing.B) {
	for _, c := range []struct {
		name    string
		Q       int
		encoder bool
	}{
		{"encoder_Q22223", gdinoS, true},
		{"decoder_Q900", gdinoQueries, false},
	} {
		b.Run(c.name, func(b *testing.B) {
			const H, P, D = deformHeads, deformPoints, deformD
			L := len(gdinoLevels)
			r := rng(2)
			value := randSlice(r, gdinoS*H*D, 1)
			centres := referenceCentres(r, c.Q, c.encoder)
			locs := make([]float32, c.Q*H*L*P*2)
			for q := 0; q < c.Q; q++ {
				for h := 0; h < H; h++ {
					for l := 0; l < L; l++ {
						for p := 0; p < P; p++ {
							i := ((q*H+h)*L+l)*P + p
							locs[2*i] = centres[2*q] + (r.Float32()*8-4)/float32(gdinoLevels[l][1])
							locs[2*i+1] = centres[2*q+1] + (r.Float32()*8-4)/float32(gdinoLevels[l][0])
						}
					}
				}
			}
			w := randSlice(r, c.Q*H*L*P, 1)
			nn.SoftmaxRows(w, L*P)
			out := make([]float32, c.Q*H*D)
			starts := levelStarts(gdinoLevels)
			for b.Loop() {
				cpu.MSDeformAttn(out, value, gdinoLevels, starts, locs, w, 1, gdinoS, H, D, c.Q, L, P)
			}
			report(b, deformKernelFLOPs(c.Q), deformKernelBytes(c.Q))
		})
	}
}

// BenchmarkDeformAttnModule times the whole
// enhancer.MultiscaleDeformableAttention (value, offset, weight and output
// projections, softmax, sampling) with random weights: the encoder's
// self-attention over the 22223 positions (reference points = pixel
// centres) and the decoder's cross-attention of 900 queries (reference
// boxes). GFLOP/s counts the projections plus the sampling.
func BenchmarkDeformAttnModule(b *testing.B) {
	for _, c := range []struct {
		name    string
		Q       int
		encoder bool
	}{
		{"encoder_Q22223", gdinoS, true},
		{"decoder_Q900", gdinoQueries, false},
	} {
		b.Run(c.name, func(b *testing.B) {
			L := len(gdinoLevels)
			m := enhancer.NewMultiscaleDeformableAttention(dModel, deformHeads, L, deformPoints)
			weights.Randomize(&m, 5)
			r := rng(5)
			hidden := randTensor(r, 1, 1, c.Q, dModel)
			pos := randTensor(r, 1, 1, c.Q, dModel)
			memory := hidden
			if !c.encoder {
				memory = randTensor(r, 1, 1, gdinoS, dModel)
			}
			centres := referenceCentres(r, c.Q, c.encoder)
			coords := 2
			if !c.encoder {
				coords = 4
			}
			ref := make([]float32, c.Q*L*coords)
			for q := 0; q < c.Q; q++ {
				for l := 0; l < L; l++ {
					o := ref[(q*L+l)*coords:]
					o[0], o[1] = centres[2*q], centres[2*q+1]
					if coords == 4 {
						o[2], o[3] = 0.05+0.3*r.Float32(), 0.05+0.3*r.Float32()
					}
				}
			}
			refT := nn.FromData(ref, 1, c.Q, L, coords)
			starts := levelStarts(gdinoLevels)
			for b.Loop() {
				m.Forward(hidden, pos, memory, nil, refT, gdinoLevels, starts)
			}
			HLP := float64(deformHeads * L * deformPoints)
			proj := 2 * dModel * (float64(gdinoS)*dModel + float64(c.Q)*(3*HLP+dModel))
			report(b, proj+deformKernelFLOPs(c.Q), 0)
		})
	}
}
