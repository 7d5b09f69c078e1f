// Package leak lets tests check that cancelled or finished calls leave no
// goroutines behind.
package leak

import (
	"runtime"
	"time"
)

// Settle waits until the goroutine count drops to at most base (workers of
// cancelled calls wind down) or two seconds pass, and returns the count.
func Settle(base int) int {
	n := runtime.NumGoroutine()
	for i := 0; i < 100 && n > base; i++ {
		time.Sleep(20 * time.Millisecond)
		n = runtime.NumGoroutine()
	}
	return n
}
