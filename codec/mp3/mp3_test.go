package mp3

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/vpim-milter/vpim-milter/internal/audiotest"
)

// pcm converts interleaved PCM16LE to per-channel float slices.
func pcm(b []byte, channels int) [][]float64 {
	n := len(b) / (2 * channels)
	x := make([][]float64, channels)
	for c := range x {
		x[c] = make([]float64, n)
		for i := range x[c] {
			x[c][i] = float64(int16(binary.LittleEndian.Uint16(b[2*(i*channels+c):])))
		}
	}
	return x
}

// TestAlignment encodes the project's own speech with lame and ffmpeg and
// checks that the decoded MP3 lines up with the source sample for sample
// and has the same length.
func TestAlignment(t *testing.T) {
	audiotest.Tools(t, "espeak-ng", "sox", "lame", "ffmpeg")
	dir := t.TempDir()
	speech := filepath.Join(dir, "speech.wav")
	audiotest.Run(t, "espeak-ng", "-v", "en-us", "-s", "150", "-w", speech,
		"Please call me back at your earliest convenience, my number is five five five, one two three four.")
	tests := []struct {
		name     string
		rate, ch int
		encode   func(in, out string) // encoder command
		minSNR   float64
		wantErr  error // the stream is not decodable
	}{
		{"lame-44k-stereo", 44100, 2, func(in, out string) { audiotest.Run(t, "lame", "--quiet", "-b", "128", in, out) }, 20, nil},
		{"lame-22k-mono", 22050, 1, func(in, out string) { audiotest.Run(t, "lame", "--quiet", "-b", "64", "-m", "m", in, out) }, 20, nil},
		{"lame-8k-mono", 8000, 1, func(in, out string) { audiotest.Run(t, "lame", "--quiet", "-b", "32", "-m", "m", in, out) }, 15, nil}, // MPEG-2.5
		{"ffmpeg-48k-stereo", 48000, 2, func(in, out string) {
			audiotest.Run(t, "ffmpeg", "-nostdin", "-hide_banner", "-loglevel", "error", "-y", "-i", in, "-c:a", "libmp3lame", "-b:a", "128k", out)
		}, 20, nil},
		{"lame-vbr-44k-stereo", 44100, 2, func(in, out string) { audiotest.Run(t, "lame", "--quiet", "-V", "2", in, out) }, 20, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			src := filepath.Join(dir, tc.name+".wav")
			raw := filepath.Join(dir, tc.name+".raw")
			mp3 := filepath.Join(dir, tc.name+".mp3")
			// Stereo sources get a 10 ms shifted right channel so a channel swap shows.
			if tc.ch == 2 {
				audiotest.Run(t, "sox", speech, "-r", strconv.Itoa(tc.rate), "-c", "2", "-b", "16", src, "rate", "-v", "remix", "1", "1", "delay", "0", "0.01", "norm", "-3")
			} else {
				audiotest.Run(t, "sox", speech, "-r", strconv.Itoa(tc.rate), "-c", "1", "-b", "16", src, "rate", "-v", "norm", "-3")
			}
			audiotest.Run(t, "sox", src, "-t", "raw", raw)
			tc.encode(src, mp3)
			f, err := os.Open(mp3)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			r, rate, ch, err := NewReader(f)
			if tc.wantErr != nil {
				if !errors.Is(err, tc.wantErr) {
					t.Fatalf("error %v, want %v", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if rate != tc.rate || ch != tc.ch {
				t.Fatalf("rate %d, channels %d; want %d, %d", rate, ch, tc.rate, tc.ch)
			}
			got, err := io.ReadAll(r)
			if err != nil {
				t.Fatal(err)
			}
			want, err := os.ReadFile(raw)
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(want) {
				t.Errorf("decoded %d bytes, source has %d", len(got), len(want))
			}
			a, b := pcm(want, ch), pcm(got, ch)
			for c := 0; c < ch; c++ {
				lag, snr := audiotest.Align(a[c], b[c], 22050, 2400)
				t.Logf("channel %d: lag %d samples, SNR %.2f dB", c, lag, snr)
				if lag != 0 {
					t.Errorf("channel %d: lag %d samples, want 0", c, lag)
				}
				if snr < tc.minSNR {
					t.Errorf("channel %d: SNR %.2f dB < %.0f dB", c, snr, tc.minSNR)
				}
			}
		})
	}
}

func TestParseFirstFrame(t *testing.T) {
	frame := func(b1, b3 byte, off int, tag string, flags uint32, frames uint32, enc string, dp [3]byte) []byte {
		b := make([]byte, 600)
		b[0], b[1], b[2], b[3] = 0xFF, b1, 0x90, b3
		copy(b[off:], tag)
		binary.BigEndian.PutUint32(b[off+4:], flags)
		p := off + 8
		if flags&1 != 0 {
			binary.BigEndian.PutUint32(b[p:], frames)
			p += 4
		}
		if flags&2 != 0 {
			p += 4
		}
		if flags&4 != 0 {
			p += 100
		}
		copy(b[p:], enc)
		copy(b[p+21:], dp[:])
		return b
	}
	tests := []struct {
		name string
		in   []byte
		want info
	}{
		{"not mpeg", []byte("RIFF...."), info{samplesPerFrame: 1152, frames: -1, encDelay: -1, encPadding: -1}},
		{"plain mpeg1 stereo", frame(0xFB, 0x00, 36, "", 0, 0, "", [3]byte{}), info{samplesPerFrame: 1152, frames: -1, encDelay: -1, encPadding: -1}},
		{"lame mpeg1 stereo", frame(0xFB, 0x00, 36, "Info", 7, 100, "LAME3.100", [3]byte{0x24, 0x02, 0x10}),
			info{samplesPerFrame: 1152, tagFrame: true, frames: 100, encDelay: 576, encPadding: 528}},
		{"xing mpeg2 mono", frame(0xF3, 0xC0, 13, "Xing", 1, 42, "LAME3.100", [3]byte{0x24, 0x00, 0x01}),
			info{mono: true, samplesPerFrame: 576, tagFrame: true, frames: 42, encDelay: 576, encPadding: 1}},
		{"xing without lame", frame(0xFB, 0xC0, 21, "Xing", 1, 9, "", [3]byte{}),
			info{mono: true, samplesPerFrame: 1152, tagFrame: true, frames: 9, encDelay: -1, encPadding: -1}},
		{"truncated", frame(0xFB, 0x00, 36, "Info", 7, 100, "LAME3.100", [3]byte{0x24, 0x02, 0x10})[:50],
			info{samplesPerFrame: 1152, tagFrame: true, frames: 100, encDelay: -1, encPadding: -1}},
	}
	for _, tc := range tests {
		if got := parseFirstFrame(tc.in); got != tc.want {
			t.Errorf("%s: got %+v, want %+v", tc.name, got, tc.want)
		}
	}
}

func TestNotMP3(t *testing.T) {
	tests := [][]byte{
		nil,
		[]byte("ID3\x04\x00\x00\x00\x00\x10\x00short"), // truncated tag
		[]byte("ID3\x00\x00\xff\xfb\x90De"),            // size not synchsafe: would skip ~530 MB
		bytes.Repeat([]byte{0}, 5000),
	}
	for i, in := range tests {
		r, _, _, err := NewReader(bytes.NewReader(in))
		if err == nil {
			_, err = io.ReadAll(r)
		}
		if err == nil {
			t.Errorf("case %d: no error", i)
		}
		if i < 3 && !errors.Is(err, ErrFormat) {
			t.Errorf("case %d: %v, want ErrFormat", i, err)
		}
	}
}

// TestCommitted decodes the committed LAME files: exact lengths, and the
// channels are not swapped (1000 Hz left, 1500 Hz right in tone44k.mp3).
func TestCommitted(t *testing.T) {
	tests := []struct {
		file           string
		rate, channels int
		frames         int
	}{
		{"testdata/tone16k.mp3", 16000, 1, 8000},
		{"testdata/tone44k.mp3", 44100, 2, 8820},
	}
	for _, tc := range tests {
		b, err := os.ReadFile(tc.file)
		if err != nil {
			t.Fatal(err)
		}
		r, rate, ch, err := NewReader(bytes.NewReader(b))
		if err != nil {
			t.Fatal(err)
		}
		pcmBytes, err := io.ReadAll(r)
		if err != nil {
			t.Fatal(err)
		}
		if rate != tc.rate || ch != tc.channels || len(pcmBytes) != 2*ch*tc.frames {
			t.Errorf("%s: %d Hz, %d ch, %d frames; want %d, %d, %d", tc.file, rate, ch, len(pcmBytes)/(2*ch), tc.rate, tc.channels, tc.frames)
		}
		if ch == 2 {
			x := pcm(pcmBytes, 2)
			for c, hz := range []float64{1000, 1500} {
				if z := zeroCrossings(x[c]) * tc.rate / (2 * tc.frames); math.Abs(float64(z)-hz) > 30 {
					t.Errorf("channel %d: about %d Hz, want %.0f", c, z, hz)
				}
			}
		}
	}
}

func zeroCrossings(x []float64) int {
	n := 0
	for i := 1; i < len(x); i++ {
		if (x[i-1] < 0) != (x[i] < 0) {
			n++
		}
	}
	return n
}

// TestMatchesFFmpeg compares our decode with ffmpeg's (which also applies
// the LAME gapless tag): same length, lag 0 and a high SNR show that this package
// decodes correctly and that both trim identically.
func TestMatchesFFmpeg(t *testing.T) {
	audiotest.Tools(t, "ffmpeg")
	out, err := exec.Command("ffmpeg", "-nostdin", "-hide_banner", "-loglevel", "error",
		"-i", "testdata/tone44k.mp3", "-f", "s16le", "-").Output()
	if err != nil {
		t.Fatal(err)
	}
	f, err := os.Open("testdata/tone44k.mp3")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r, _, ch, err := NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(r)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(out) {
		t.Errorf("%d bytes, ffmpeg %d", len(got), len(out))
	}
	a, b := pcm(out, ch), pcm(got, ch)
	for c := 0; c < ch; c++ {
		lag, snr := audiotest.Align(a[c], b[c], 22050, 1200)
		t.Logf("channel %d vs ffmpeg: lag %d, SNR %.1f dB", c, lag, snr)
		if lag != 0 || snr < 50 {
			t.Errorf("channel %d vs ffmpeg: lag %d, SNR %.1f dB; want 0 and >= 50 dB", c, lag, snr)
		}
	}
}
