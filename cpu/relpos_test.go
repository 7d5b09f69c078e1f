package cpu

import (
	"math/rand/v2"
	"testing"
)

func TestAddRelPosRows(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for _, g := range [][3]int{{1, 1, 8}, {3, 14, 14}, {5, 64, 64}, {2, 3, 16}, {4, 7, 5}} {
		rows, wh, ww := g[0], g[1], g[2]
		L := wh * ww
		s := make([]float32, rows*L)
		rh := make([]float32, rows*wh)
		rw := make([]float32, rows*ww)
		for _, v := range [][]float32{s, rh, rw} {
			for i := range v {
				v[i] = float32(r.NormFloat64())
			}
		}
		want := append([]float32(nil), s...)
		for i := 0; i < rows; i++ {
			addRelPosRowGo(want[i*L:(i+1)*L], rh[i*wh:(i+1)*wh], rw[i*ww:(i+1)*ww])
		}
		AddRelPosRows(s, rh, rw, rows, wh, ww)
		for i := range s {
			if s[i] != want[i] {
				t.Fatalf("%v: element %d = %v, want %v", g, i, s[i], want[i])
			}
		}
	}
}

// BenchmarkAddRelPosRows is one head's block of 64 query rows of global
// attention on SAM ViT-B's 64×64 grid.
func BenchmarkAddRelPosRows(b *testing.B) {
	rows, wh, ww := 64, 64, 64
	s := make([]float32, rows*wh*ww)
	rh := make([]float32, rows*wh)
	rw := make([]float32, rows*ww)
	b.Run("asm", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			AddRelPosRows(s, rh, rw, rows, wh, ww)
		}
	})
	b.Run("go", func(b *testing.B) {
		L := wh * ww
		for i := 0; i < b.N; i++ {
			for r := 0; r < rows; r++ {
				addRelPosRowGo(s[r*L:(r+1)*L], rh[r*wh:(r+1)*wh], rw[r*ww:(r+1)*ww])
			}
		}
	})
}
