//go:build race

package groundingdino

// raceEnabled: the race detector changes what allocates, so allocation
// checks do not apply.
const raceEnabled = true
