package bench

import (
	"slices"
	"testing"

	"github.com/gsam-go/gsam/cpu"
	"github.com/gsam-go/gsam/nn"
)

// TestShapes checks the derived model shapes the benchmarks (and
// torch_kernels.py, which hard-codes the same names) rely on.
func TestShapes(t *testing.T) {
	if gdinoS != 22223 {
		t.Errorf("S = %d, want 22223", gdinoS)
	}
	if got := levelStarts(gdinoLevels); !slices.Equal(got, []int{0, 16700, 20900, 21950}) {
		t.Errorf("level starts %v", got)
	}
	if swinWindows != 1392 || swinHp != 203 || swinWp != 336 {
		t.Errorf("Swin windows %d (%d×%d), want 1392 (203×336)", swinWindows, swinHp, swinWp)
	}
	m := swinShiftedMask()
	if s := nn.Shape(m); !slices.Equal(s, []int{1392, 3, 49, 49}) {
		t.Fatalf("Swin mask shape %v", s)
	}
	// The first window is not cut by the shift; the last one is cut both ways.
	d := nn.Data(m)
	const N = 49
	for i, v := range d[:3*N*N] {
		if v < -50 {
			t.Fatalf("first window masked at %d", i)
		}
	}
	last := d[(1391*3)*N*N : (1391*3+1)*N*N]
	if last[0*N+48] > -50 || last[0*N+1] < -50 {
		t.Errorf("last window: token 0 vs 48 %v, vs 1 %v", last[48], last[1])
	}
	if s := nn.Shape(subSentenceMask()); !slices.Equal(s, []int{1, 1, 256, 256}) {
		t.Errorf("BERT mask shape %v", s)
	}
	c := referenceCentres(rng(1), gdinoS, true)
	for i, v := range c {
		if v <= 0 || v >= 1 {
			t.Fatalf("centre %d = %v", i, v)
		}
	}
	if c[2*16700] != 0.5/84 || c[2*16700+1] != 0.5/50 {
		t.Errorf("first position of level 1 at (%v, %v)", c[2*16700], c[2*16700+1])
	}
}

// TestKernelInfo logs the SGEMM micro-kernel in use (compare.sh prints it
// with the machine line: go test -run TestKernelInfo -v ./bench/).
func TestKernelInfo(t *testing.T) {
	t.Logf("SGEMM kernel: %s", cpu.GemmKernel())
}
