package cpu

import (
	"fmt"
	"runtime"
	"sort"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gsam-go/gsam/internal/leak"
)

// idleHelperCount is how many helpers wait for work now.
func idleHelperCount() int {
	idleHelpers.Lock()
	defer idleHelpers.Unlock()
	return len(idleHelpers.list)
}

// waitFor polls cond for up to 5 s.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for end := time.Now().Add(5 * time.Second); !cond(); {
		if time.Now().After(end) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(100 * time.Microsecond)
	}
}

// TestSpawnRunsEachFunctionOnce spawns from several goroutines at once, in
// bursts separated by gaps shorter and longer than the spin wait, so that work
// goes to waiting helpers, to new ones and to helpers on their way out.
func TestSpawnRunsEachFunctionOnce(t *testing.T) {
	const wait = 200 * time.Microsecond
	defer SetSpinWait(SetSpinWait(wait))
	waitFor(t, "earlier tests' helpers to leave", func() bool { return idleHelperCount() == 0 })
	base := runtime.NumGoroutine()
	const spawners, rounds = 4, 300
	ran := make([]atomic.Int32, spawners*rounds)
	var wg sync.WaitGroup
	for s := 0; s < spawners; s++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for r := 0; r < rounds; r++ {
				i := s*rounds + r
				spawn(func() { ran[i].Add(1) })
				switch r % 3 {
				case 1:
					time.Sleep(50 * time.Microsecond)
				case 2:
					time.Sleep(wait + wait/2)
				}
			}
		}()
	}
	wg.Wait()
	waitFor(t, "every spawned function", func() bool {
		for i := range ran {
			if ran[i].Load() == 0 {
				return false
			}
		}
		return true
	})
	for i := range ran {
		if n := ran[i].Load(); n != 1 {
			t.Fatalf("function %d ran %d times", i, n)
		}
	}
	// The helpers leave once the spin wait passes without work.
	if n := leak.Settle(base); n > base {
		t.Errorf("%d goroutines after the helpers' wait, want at most %d", n, base)
	}
	if n := idleHelperCount(); n != 0 {
		t.Errorf("%d helpers still listed as waiting", n)
	}
}

// TestSpawnReusesWaitingHelper checks the point of the helpers: a function
// spawned while a helper waits runs on that helper, not a new goroutine.
func TestSpawnReusesWaitingHelper(t *testing.T) {
	defer SetSpinWait(SetSpinWait(10 * time.Second)) // waits for work until the test is done
	waitFor(t, "earlier tests' helpers to leave", func() bool { return idleHelperCount() == 0 })
	done := make(chan struct{}, 2)
	spawn(func() { done <- struct{}{} })
	<-done
	waitFor(t, "the helper to wait for work", func() bool { return idleHelperCount() == 1 })
	n := runtime.NumGoroutine()
	spawn(func() { done <- struct{}{} })
	<-done
	if got := runtime.NumGoroutine(); got != n {
		t.Errorf("%d goroutines after handing work to a waiting helper, want %d", got, n)
	}
	// Let it go: with a short spin wait again it leaves after its
	// next (empty) function.
	SetSpinWait(time.Millisecond)
	waitFor(t, "the helper to wait again", func() bool { return idleHelperCount() == 1 })
	spawn(func() {})
	waitFor(t, "the helper to leave", func() bool { return idleHelperCount() == 0 })
}

// TestSpawnWithoutSpinWait: a spin wait of 0 starts a goroutine per function
// and keeps none.
func TestSpawnWithoutSpinWait(t *testing.T) {
	defer SetSpinWait(SetSpinWait(0))
	var ran atomic.Int32
	for i := 0; i < 100; i++ {
		spawn(func() { ran.Add(1) })
	}
	waitFor(t, "100 functions", func() bool { return ran.Load() == 100 })
	if n := idleHelperCount(); n != 0 {
		t.Errorf("%d helpers waiting with no spin wait", n)
	}
}

// BenchmarkSpawnStart reports how long a spawned function takes to start
// on another core after the caller ran alone for a gap (as between two
// parallel regions), with helpers waiting (the default spin wait) and
// without.
func BenchmarkSpawnStart(b *testing.B) {
	if runtime.GOMAXPROCS(0) < 2 {
		b.Skip("needs two cores")
	}
	def := SetSpinWait(0)
	SetSpinWait(def)
	for _, spin := range []time.Duration{0, def} {
		for _, gap := range []time.Duration{20 * time.Microsecond, 200 * time.Microsecond} {
			b.Run(fmt.Sprintf("spin=%v/gap=%v", spin, gap), func(b *testing.B) {
				defer SetSpinWait(SetSpinWait(spin))
				lat := make([]time.Duration, b.N)
				var started atomic.Int64
				for i := range lat {
					for t := time.Now(); time.Since(t) < gap; {
					}
					started.Store(0)
					t0 := time.Now()
					spawn(func() { started.Store(int64(time.Since(t0)) + 1) })
					for started.Load() == 0 {
					}
					lat[i] = time.Duration(started.Load() - 1)
				}
				sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
				b.ReportMetric(float64(lat[len(lat)/2])/1e3, "p50-µs")
				b.ReportMetric(float64(lat[len(lat)*9/10])/1e3, "p90-µs")
			})
		}
	}
}
