//go:build !race

package g726

// raceEnabled shortens the long comparisons under the race detector.
const raceEnabled = false
