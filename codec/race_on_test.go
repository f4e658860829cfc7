//go:build race

package codec

// raceEnabled shortens the long comparisons under the race detector,
// which slows the codecs about tenfold.
const raceEnabled = true
