package leak

import (
	"runtime"
	"testing"
	"time"
)

func TestSettle(t *testing.T) {
	base := runtime.NumGoroutine()
	done := make(chan struct{})
	go func() { time.Sleep(50 * time.Millisecond); close(done) }()
	if n := Settle(base); n > base {
		t.Errorf("%d goroutines after settling, want %d", n, base)
	}
	<-done
	stuck := make(chan struct{})
	go func() { <-stuck }()
	if n := Settle(base); n != base+1 {
		t.Errorf("a blocked goroutine: Settle returned %d, want %d", n, base+1)
	}
	close(stuck)
}
