package resample

import (
	"bytes"
	"encoding/binary"
	"math"
	"math/cmplx"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/vpim-milter/vpim-milter/internal/audiotest"
)

// speech makes the project's own test speech with espeak-ng: a 22.05 kHz
// mono WAV of two voices (the same recipe as recipes/audio/make_signals.sh).
func speech(t testing.TB, dir string) string {
	t.Helper()
	audiotest.Tools(t, "espeak-ng", "sox")
	a, b, ab := filepath.Join(dir, "a.wav"), filepath.Join(dir, "b.wav"), filepath.Join(dir, "ab.wav")
	audiotest.Run(t, "espeak-ng", "-v", "en-us", "-s", "150", "-w", a,
		"The quick brown fox jumps over the lazy dog. Please call me back at your earliest convenience, my number is five five five, one two three four.")
	audiotest.Run(t, "espeak-ng", "-v", "en-gb+f3", "-s", "140", "-p", "70", "-w", b,
		"This is a voice mail message for the accounts department. We need to reschedule Thursday's meeting to Friday at three thirty.")
	audiotest.Run(t, "sox", a, b, "-r", "22050", ab, "pad", "0", "0.3")
	return ab
}

// pcm converts 16-bit samples from little-endian bytes.
func pcm(b []byte) []float64 {
	x := make([]float64, len(b)/2)
	for i := range x {
		x[i] = float64(int16(binary.LittleEndian.Uint16(b[2*i:])))
	}
	return x
}

// fft is an in-place iterative radix-2 FFT; len(x) must be a power of two.
func fft(x []complex128, inverse bool) {
	n := len(x)
	for i, j := 1, 0; i < n; i++ {
		bit := n >> 1
		for ; j&bit != 0; bit >>= 1 {
			j ^= bit
		}
		j ^= bit
		if i < j {
			x[i], x[j] = x[j], x[i]
		}
	}
	for size := 2; size <= n; size <<= 1 {
		ang := -2 * math.Pi / float64(size)
		if inverse {
			ang = -ang
		}
		wn := cmplx.Rect(1, ang)
		for start := 0; start < n; start += size {
			w := complex(1, 0)
			for k := 0; k < size/2; k++ {
				u, v := x[start+k], x[start+k+size/2]*w
				x[start+k], x[start+k+size/2] = u+v, u-v
				w *= wn
			}
		}
	}
	if inverse {
		for i := range x {
			x[i] /= complex(float64(n), 0)
		}
	}
}

// lowpass removes everything above hz from an 8 kHz signal (FFT brick wall,
// like recipes/audio/snr.py --band).
func lowpass(x []float64, hz float64) []float64 {
	n := 1
	for n < len(x) {
		n <<= 1
	}
	c := make([]complex128, n)
	for i, v := range x {
		c[i] = complex(v, 0)
	}
	fft(c, false)
	for k := range c {
		f := float64(min(k, n-k)) * 8000 / float64(n)
		if f > hz {
			c[k] = 0
		}
	}
	fft(c, true)
	y := make([]float64, len(x))
	for i := range y {
		y[i] = real(c[i])
	}
	return y
}

// TestAgainstSox compares our output with "sox ... remix - rate -v 8000" on
// the project's own speech at every supported kind of input rate.
// Acceptance (issue 4): >= 50 dB in the 0..3400 Hz band, >= 30 dB full band.
func TestAgainstSox(t *testing.T) {
	dir := t.TempDir()
	src := speech(t, dir)
	tests := []struct {
		rate, channels int
	}{
		{44100, 2}, {48000, 2}, {32000, 1}, {22050, 1}, {16000, 1}, {11025, 1}, {8000, 2}, {44100, 6},
	}
	for _, tc := range tests {
		t.Run(filepathName(tc.rate, tc.channels), func(t *testing.T) {
			in := filepath.Join(dir, filepathName(tc.rate, tc.channels)+".wav")
			ref := filepath.Join(dir, filepathName(tc.rate, tc.channels)+".ref.raw")
			raw := filepath.Join(dir, filepathName(tc.rate, tc.channels)+".raw")
			audiotest.Run(t, "sox", src, "-r", itoa(tc.rate), "-c", itoa(tc.channels), "-b", "16", in, "rate", "-v", "norm", "-3")
			audiotest.Run(t, "sox", in, "-t", "raw", raw)
			audiotest.Run(t, "sox", "-D", in, "-t", "raw", "-e", "signed", "-b", "16", ref, "remix", "-", "rate", "-v", "8000")
			inBytes, err := os.ReadFile(raw)
			if err != nil {
				t.Fatal(err)
			}
			refBytes, err := os.ReadFile(ref)
			if err != nil {
				t.Fatal(err)
			}
			r, err := NewReader(bytes.NewReader(inBytes), tc.rate, tc.channels)
			if err != nil {
				t.Fatal(err)
			}
			var got bytes.Buffer
			if _, err := got.ReadFrom(r); err != nil {
				t.Fatal(err)
			}
			frames := int64(len(inBytes) / (2 * tc.channels))
			wantLen := 2 * ((frames*8000 + int64(tc.rate) - 1) / int64(tc.rate))
			if int64(got.Len()) != wantLen {
				t.Errorf("output %d bytes, want %d", got.Len(), wantLen)
			}
			a, b := pcm(refBytes), pcm(got.Bytes())
			lag, full := compareSox(a, b)
			_, band := compareSox(lowpass(a, 3400), lowpass(b, 3400))
			t.Logf("%d Hz x%d: lag %d, full band %.2f dB, 0..3400 Hz %.2f dB", tc.rate, tc.channels, lag, full, band)
			if lag != 0 {
				t.Errorf("lag %d samples vs sox, want 0 (output must be time-aligned)", lag)
			}
			if band < 50 {
				t.Errorf("in-band SNR %.2f dB < 50 dB", band)
			}
			if full < 30 {
				t.Errorf("full-band SNR %.2f dB < 30 dB", full)
			}
		})
	}
}

func itoa(n int) string { return strconv.Itoa(n) }

func filepathName(rate, ch int) string { return itoa(rate) + "x" + itoa(ch) }

// compareSox lines deg up with ref within ±8 samples over their common
// length and returns the lag and the SNR in dB (audiotest.Align).
func compareSox(ref, deg []float64) (lag int, snr float64) {
	return audiotest.Align(ref[:min(len(ref), len(deg))], deg, 0, 8)
}
