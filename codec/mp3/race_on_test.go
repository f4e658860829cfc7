//go:build race

package mp3

// raceEnabled shortens the longest loops under the race detector, which
// slows the codec about tenfold.
const raceEnabled = true
