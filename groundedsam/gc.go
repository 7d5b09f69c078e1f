package groundedsam

import (
	"os"
	"runtime/debug"
)

// GCPercent is the GOGC that TuneGC sets.
const GCPercent = 25

// TuneGC lowers the garbage collector's growth target to GCPercent (from
// Go's default 100) unless the GOGC or GOMEMLIMIT environment variable is
// set, in which case the user's setting stands. It reports whether it
// changed anything. Programs that hold the models call it once, before
// loading them (gsam bench does).
//
// Why: the heap may grow to (1 + GOGC/100) × the live heap before a
// collection, and the live heap is dominated by the weights (690 MB for
// grounding-dino-tiny, 1 GB with sam-vit-base), so GOGC=100 lets as much
// garbage as the models' size pile up: grounding-dino-tiny at 800×1333
// peaked at ~1.8 GB RSS of which ~0.7 GB was uncollected garbage. The
// weights are pointer-free float32 slices, which the collector does not
// scan, so a cycle costs a few milliseconds whatever their size and
// collecting four times as often costs no measurable CPU. Measured with
// gsam bench --model gdino --runs 3 (2 cores, loaded machine): GOGC 100 /
// 50 / 25 gave peak RSS 1809 / 1395 / 1219 MiB with user CPU 38.6 / 38.2 /
// 38.3 s (freed memory is reused instead of faulting in fresh pages).
// A fixed memory limit would need to know the input size; a relative
// GOGC scales with the models and the image and cannot thrash.
func TuneGC() bool {
	if os.Getenv("GOGC") != "" || os.Getenv("GOMEMLIMIT") != "" {
		return false
	}
	debug.SetGCPercent(GCPercent)
	return true
}
