//go:build !race

package codec

// raceEnabled shortens the long comparisons under the race detector.
const raceEnabled = false
