package groundingdino

import (
	"context"
	"runtime"
	"testing"

	"github.com/gsam-go/gsam/internal/fixture"
	"github.com/gsam-go/gsam/nn"
)

// TestForwardSteadyStateAllocation checks that a warm forward pass reuses
// the buffers the stages keep between calls (Swin's tokens and blocks, the
// encoder's scratch, the GEMM packing): grounding-dino-tiny at full size
// (zero weights: only the sizes matter) on a 320×480 image must allocate
// at most 65 % as much on its second call as on its first (0.52 today;
// before the buffers were kept, both calls allocated the same). What still
// allocates is the stage outputs and the 900-query decoder's tensors.
func TestForwardSteadyStateAllocation(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector changes what allocates")
	}
	cfg, err := ParseConfig(fixture.ReadManifest(t, "grounding-dino-tiny").Config)
	if err != nil {
		t.Fatal(err)
	}
	m, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	px := nn.New(1, 3, 320, 480)
	for i, d := 0, nn.Data(px); i < len(d); i++ {
		d[i] = float32(i%255)/128 - 1
	}
	ids := []int64{101, 1037, 4937, 1012, 1037, 6556, 2491, 1012, 102}
	in := Inputs{PixelValues: px, T: len(ids), InputIDs: ids, TokenTypeIDs: make([]int64, len(ids)), AttentionMask: []int64{1, 1, 1, 1, 1, 1, 1, 1, 1}}
	forward := func() uint64 {
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		if _, err := m.Forward(context.Background(), in, nil, nil); err != nil {
			t.Fatal(err)
		}
		runtime.ReadMemStats(&after)
		return after.TotalAlloc - before.TotalAlloc
	}
	cold := forward()
	warm := forward()
	for range 2 {
		warm = min(warm, forward())
	}
	t.Logf("first forward allocated %.1f MB, warm %.1f MB", float64(cold)/1e6, float64(warm)/1e6)
	if warm*100 > cold*65 {
		t.Errorf("warm forward allocated %d bytes, first %d: want at most 65 %%", warm, cold)
	}
}
