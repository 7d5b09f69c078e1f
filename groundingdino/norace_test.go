//go:build !race

package groundingdino

const raceEnabled = false
