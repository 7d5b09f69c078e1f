package decoder

import (
	"math"
	"math/rand/v2"
	"testing"
)

// TestSinePosEmbedDefinition checks sinePosEmbed against the reference's
// formula written out (sin of the even features, cos of the odd ones,
// dim_t = 10000^(2⌊i/2⌋/d), y before x), bit for bit, for even and odd
// feature counts.
func TestSinePosEmbedDefinition(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for _, feats := range []int{128, 7} {
		for _, n := range []int{2, 4} {
			rows := 33
			pos := make([]float32, rows*n)
			for i := range pos {
				pos[i] = r.Float32()
			}
			got := sinePosEmbed(pos, n, feats)
			for row := 0; row < rows; row++ {
				for c := 0; c < n; c++ {
					slot := c
					if c < 2 {
						slot = 1 - c
					}
					x := pos[row*n+c] * float32(2*math.Pi)
					for i := 0; i < feats; i++ {
						t32 := float32(math.Pow(10000, float64(float32(2*(i/2))/float32(feats))))
						v := float64(x / t32)
						want := float32(math.Cos(v))
						if i%2 == 0 {
							want = float32(math.Sin(v))
						}
						if g := got[(row*n+slot)*feats+i]; math.Float32bits(g) != math.Float32bits(want) {
							t.Fatalf("feats=%d n=%d row %d coord %d feature %d: %g, want %g", feats, n, row, c, i, g, want)
						}
					}
				}
			}
		}
	}
}
