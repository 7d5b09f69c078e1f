//go:build race

package cpu

// gemmRaceEnabled: sync.Pool drops items at random under the race detector.
const gemmRaceEnabled = true
