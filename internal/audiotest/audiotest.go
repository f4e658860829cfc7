// Package audiotest is what the codec packages' tests share: finding the
// external reference tools (sox, espeak-ng, cc, lame, ffmpeg, toast),
// running them, and the project's own test speech. Only tests import it.
package audiotest

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// Tool returns the path of the external tool name, from Debian package
// pkg. A missing tool skips the test, or fails it under CI=true, where
// every tool is required (tools/test-deps.sh installs them).
func Tool(t testing.TB, name, pkg string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s is required under CI=true (apt-get install %s)", name, pkg)
		}
		t.Skipf("%s not installed (apt-get install %s)", name, pkg)
	}
	return p
}

// Tools is Tool for several tools named as their packages are.
func Tools(t testing.TB, names ...string) {
	t.Helper()
	for _, n := range names {
		Tool(t, n, n)
	}
}

// Run executes a command and fails the test with its output on error.
func Run(t testing.TB, name string, args ...string) {
	t.Helper()
	if out, err := exec.Command(name, args...).CombinedOutput(); err != nil {
		t.Fatalf("%s %q: %v\n%s", name, args, err, out)
	}
}

// SpeechText is what the test speech says.
const SpeechText = "The quick brown fox jumps over the lazy dog. Please call me back at your earliest convenience, " +
	"my number is five five five, one two three four. This is a voice mail message for the accounts department. " +
	"We need to reschedule Thursday's meeting to Friday at three thirty in the afternoon. Thank you, goodbye."

// Speech generates seconds of 8 kHz mono PCM16LE speech with espeak-ng and
// sox: two voices, as recipes/audio/make_signals.sh, but without dither so
// the signal is the same on every run, repeated to length.
func Speech(t testing.TB, seconds int) []byte {
	t.Helper()
	espeak := Tool(t, "espeak-ng", "espeak-ng")
	sox := Tool(t, "sox", "sox")
	dir := t.TempDir()
	a, b := filepath.Join(dir, "a.wav"), filepath.Join(dir, "b.wav")
	Run(t, espeak, "-v", "en-us", "-s", "150", "-w", a, SpeechText)
	Run(t, espeak, "-v", "en-gb+f3", "-s", "140", "-p", "70", "-w", b, SpeechText)
	seg := filepath.Join(dir, "seg.raw")
	Run(t, sox, "-D", a, b, "-r", "8000", "-c", "1", "-b", "16", "-e", "signed-integer", "-t", "raw", seg, "rate", "-v", "pad", "0", "0.3", "norm", "-3")
	one, err := os.ReadFile(seg)
	if err != nil {
		t.Fatal(err)
	}
	want := seconds * 8000 * 2
	out := make([]byte, 0, want)
	for len(out) < want {
		out = append(out, one[:min(len(one), want-len(out))]...)
	}
	return out
}
