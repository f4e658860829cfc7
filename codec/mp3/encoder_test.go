package mp3

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/vpim-milter/vpim-milter/codec/resample"
	"github.com/vpim-milter/vpim-milter/internal/audiotest"
)

// allRates are every rate the Writer takes, with a bit rate each version
// allows.
var allRates = []struct{ rate, kbps int }{
	{8000, 16}, {11025, 16}, {12000, 24}, {16000, 24}, {22050, 32}, {24000, 40},
	{32000, 32}, {44100, 48}, {48000, 64},
}

// noise returns n samples of seeded random PCM16LE at about -12 dBFS with
// a slow envelope, so granules range from loud to near silence.
func noise(n int, seed uint64) []byte {
	rng := rand.New(rand.NewPCG(seed, 99))
	b := make([]byte, 2*n)
	for i := 0; i < n; i++ {
		env := 0.5 + 0.5*math.Sin(float64(i)/3000)
		v := rng.NormFloat64() * 8000 * env
		binary.LittleEndian.PutUint16(b[2*i:], uint16(int16(max(min(v, 32767), -32768))))
	}
	return b
}

// encode runs pcm through a Writer in writes of chunk bytes (all at once
// for chunk <= 0).
func encode(t testing.TB, pcm []byte, samples int64, o Options, chunk int) []byte {
	t.Helper()
	var out bytes.Buffer
	w, err := NewWriter(&out, samples, o)
	if err != nil {
		t.Fatal(err)
	}
	if chunk <= 0 {
		chunk = len(pcm) + 1
	}
	for p := pcm; len(p) > 0; {
		k := min(chunk, len(p))
		if _, err := w.Write(p[:k]); err != nil {
			t.Fatal(err)
		}
		p = p[k:]
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return out.Bytes()
}

// decode decodes with this package's Reader.
func decode(t testing.TB, b []byte) (pcm []byte, rate int) {
	t.Helper()
	r, rate, ch, err := NewReader(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	if ch != 1 {
		t.Fatalf("%d channels", ch)
	}
	pcm, err = io.ReadAll(r)
	if err != nil {
		t.Fatal(err)
	}
	return pcm, rate
}

// snr is the SNR of deg against ref in dB (no alignment: the Writer's
// output is aligned by construction).
func snr(ref, deg []byte) float64 {
	var s, n float64
	for i := 0; i+1 < len(ref) && i+1 < len(deg); i += 2 {
		a := float64(int16(binary.LittleEndian.Uint16(ref[i:])))
		b := float64(int16(binary.LittleEndian.Uint16(deg[i:])))
		s += a * a
		n += (a - b) * (a - b)
	}
	return 10 * math.Log10(s/math.Max(n, 1e-9))
}

// TestWriterExactLength: at every rate and for lengths around the frame
// and granule boundaries (0 and 1 sample included), the decoded stream
// has exactly the samples written and resembles them.
func TestWriterExactLength(t *testing.T) {
	for _, rc := range allRates {
		for _, n := range []int{0, 1, 2, 575, 576, 577, 1151, 1152, 1153, 1681, 9000} {
			pcm := noise(n, uint64(n))
			mp3 := encode(t, pcm, int64(n), Options{SampleRate: rc.rate, Bitrate: rc.kbps, Lowpass: rc.rate / 2}, 0)
			got, rate := decode(t, mp3)
			if rate != rc.rate || len(got) != len(pcm) {
				t.Fatalf("%d Hz, %d samples: decoded %d samples at %d Hz", rc.rate, n, len(got)/2, rate)
			}
			if n == 9000 {
				if s := snr(pcm, got); s < 1.5 {
					t.Errorf("%d Hz %d kbit/s: SNR %.1f dB on noise, want >= 1.5", rc.rate, rc.kbps, s)
				}
			}
		}
	}
}

// memSeeker is an in-memory io.WriteSeeker.
type memSeeker struct {
	b   []byte
	off int
}

func (m *memSeeker) Write(p []byte) (int, error) {
	if need := m.off + len(p); need > len(m.b) {
		m.b = append(m.b, make([]byte, need-len(m.b))...)
	}
	copy(m.b[m.off:], p)
	m.off += len(p)
	return len(p), nil
}

func (m *memSeeker) Seek(off int64, whence int) (int64, error) {
	switch whence {
	case io.SeekStart:
		m.off = int(off)
	case io.SeekCurrent:
		m.off += int(off)
	case io.SeekEnd:
		m.off = len(m.b) + int(off)
	}
	return int64(m.off), nil
}

// TestWriterUnknownLength: without a sample count a seekable destination
// gets the Info frame rewritten (exact length again, and the same bytes
// as with the count); a plain one gets the delay trimmed but not the
// padding.
func TestWriterUnknownLength(t *testing.T) {
	for _, n := range []int{0, 1, 1000, 5000} {
		pcm := noise(n, 7)
		known := encode(t, pcm, int64(n), Options{}, 0)
		ms := &memSeeker{}
		ms.Write([]byte("prefix")) // the Info frame need not be at offset 0
		w, err := NewWriter(ms, -1, Options{})
		if err != nil {
			t.Fatal(err)
		}
		w.Write(pcm)
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(ms.b[6:], known) {
			t.Errorf("%d samples: seekable output differs from the known-length output", n)
		}
		plain := encode(t, pcm, -1, Options{}, 0)
		got, _ := decode(t, plain)
		// The padding stays: less than a frame, or what the minimum
		// stream length adds.
		extra := len(got)/2 - n
		if want := int(w.framesFor(int64(n)))*576 - EncoderDelay - DecoderDelay - n; extra != want || (n > 1000 && extra >= 576) {
			t.Errorf("%d samples, unknown length: decoded %d extra samples, want %d", n, extra, want)
		}
		if !bytes.Equal(got[:2*n], mustDecodeKnown(t, known)) {
			t.Errorf("%d samples: unknown-length audio differs from known-length audio", n)
		}
	}
}

func mustDecodeKnown(t *testing.T, b []byte) []byte {
	got, _ := decode(t, b)
	return got
}

// TestWriterChunking: the output does not depend on how the PCM is split:
// every split point of a short input, single bytes, and iotest's readers.
func TestWriterChunking(t *testing.T) {
	pcm := noise(1400, 3)
	want := encode(t, pcm, 1400, Options{}, 0)
	step := 1
	if raceEnabled {
		step = 7 // odd and even offsets still
	}
	for k := 0; k <= len(pcm); k += step {
		var out bytes.Buffer
		w, _ := NewWriter(&out, 1400, Options{})
		if _, err := w.Write(pcm[:k]); err != nil {
			t.Fatal(err)
		}
		if _, err := w.Write(pcm[k:]); err != nil {
			t.Fatal(err)
		}
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(out.Bytes(), want) {
			t.Fatalf("split at byte %d: output differs", k)
		}
	}
	for _, chunk := range []int{1, 3, 577, 1153} {
		if got := encode(t, pcm, 1400, Options{}, chunk); !bytes.Equal(got, want) {
			t.Errorf("%d-byte writes: output differs", chunk)
		}
	}
	for name, r := range map[string]io.Reader{
		"OneByteReader": iotest.OneByteReader(bytes.NewReader(pcm)),
		"HalfReader":    iotest.HalfReader(bytes.NewReader(pcm)),
		"DataErrReader": iotest.DataErrReader(bytes.NewReader(pcm)),
	} {
		var out bytes.Buffer
		w, _ := NewWriter(&out, 1400, Options{})
		if _, err := io.Copy(w, r); err != nil {
			t.Fatal(err)
		}
		w.Close()
		if !bytes.Equal(out.Bytes(), want) {
			t.Errorf("io.Copy from %s: output differs", name)
		}
	}
}

// TestWriterLimits: parameter errors, too many samples, silence padding
// of a short stream, write after close.
func TestWriterLimits(t *testing.T) {
	for _, o := range []Options{
		{SampleRate: 44000}, {Bitrate: 8}, {Bitrate: 72}, {SampleRate: 44100, Bitrate: 24},
		{Bitrate: 20}, {Lowpass: 9000}, {Lowpass: -1},
	} {
		if _, err := NewWriter(io.Discard, -1, o); !errors.Is(err, ErrParam) {
			t.Errorf("%+v: %v, want ErrParam", o, err)
		}
	}
	if _, err := NewWriter(io.Discard, -2, Options{}); !errors.Is(err, ErrParam) {
		t.Errorf("samples -2: %v", err)
	}
	var out bytes.Buffer
	w, _ := NewWriter(&out, 10, Options{})
	if n, err := w.Write(make([]byte, 24)); n != 20 || !errors.Is(err, ErrTooManySamples) {
		t.Errorf("24 bytes into 10 samples: %d, %v", n, err)
	}
	w.Close()
	if _, err := w.Write([]byte{0, 0}); err == nil {
		t.Error("write after Close accepted")
	}
	// Declared 1000, written 10: padded with silence to 1000.
	out.Reset()
	w, _ = NewWriter(&out, 1000, Options{})
	w.Write(noise(10, 1))
	w.Close()
	if got, _ := decode(t, out.Bytes()); len(got) != 2000 {
		t.Errorf("short stream: %d samples, want 1000", len(got)/2)
	}
}

// TestWriterConformance parses every frame of the output: valid headers
// of one format, CBR lengths with the padding bits of §2.4.3.1, side
// information within the reservoir limits, and an Info frame whose counts,
// delay, padding and CRC are right.
func TestWriterConformance(t *testing.T) {
	for _, rc := range allRates {
		n := 20000
		pcm := noise(n, 11)
		b := encode(t, pcm, int64(n), Options{SampleRate: rc.rate, Bitrate: rc.kbps}, 0)
		first, ok := parseHeader(b)
		if !ok {
			t.Fatalf("%d Hz: no header", rc.rate)
		}
		inf := parseFirstFrame(b[:first.size])
		spf := 576 * first.v.granules()
		frames := int64(max((n+EncoderDelay+DecoderDelay+spf-1)/spf, 3456/spf))
		if !inf.tagFrame || inf.frames != frames || inf.encDelay != EncoderDelay || inf.encPadding != int(frames)*spf-EncoderDelay-n {
			t.Errorf("%d Hz: Info %+v, want %d frames, delay %d", rc.rate, inf, frames, EncoderDelay)
		}
		tagAt := 4 + first.sideLen() + 16
		if got := binary.BigEndian.Uint32(b[4+first.sideLen()+12:]); int(got) != len(b) {
			t.Errorf("%d Hz: Xing bytes %d, stream has %d", rc.rate, got, len(b))
		}
		if crc := crc16(b[:tagAt+34]); binary.BigEndian.Uint16(b[tagAt+34:]) != crc {
			t.Errorf("%d Hz: LAME tag CRC %#04x, want %#04x", rc.rate, binary.BigEndian.Uint16(b[tagAt+34:]), crc)
		}
		off := first.size
		count := int64(0)
		acc := 0
		num := spf / 8 * rc.kbps * 1000
		resv := 0
		maxMDB := 511
		if first.v.lsf() {
			maxMDB = 255
		}
		for off < len(b) {
			h, ok := parseHeader(b[off:])
			if !ok || h.v != first.v || h.srIndex != first.srIndex || h.channels != 1 || h.crc || bitrates[btoi(h.v.lsf())][h.brIndex] != rc.kbps {
				t.Fatalf("%d Hz: frame %d at %d: bad header % x", rc.rate, count, off, b[off:off+4])
			}
			acc += num % rc.rate
			pad := 0
			if acc >= rc.rate {
				acc -= rc.rate
				pad = 1
			}
			if h.pad != pad || h.size != num/rc.rate+pad {
				t.Fatalf("%d Hz: frame %d: padding %d size %d, want %d %d", rc.rate, count, h.pad, h.size, pad, num/rc.rate+pad)
			}
			s := parseSide(&h, b[off+4:])
			if s.mainDataBegin > resv || s.mainDataBegin > maxMDB {
				t.Fatalf("%d Hz: frame %d: main_data_begin %d, reservoir %d", rc.rate, count, s.mainDataBegin, resv)
			}
			bits := 0
			for g := 0; g < h.v.granules(); g++ {
				c := s.gr[0][0]
				if g == 1 {
					c = s.gr[1][0]
				}
				if c.winSwitch || c.bigValues > 288 || c.region0+c.region1+2 > 22 {
					t.Fatalf("%d Hz: frame %d: side info %+v", rc.rate, count, c)
				}
				bits += c.part23
			}
			slot := h.size - 4 - h.sideLen()
			if bits > 8*(s.mainDataBegin+slot) {
				t.Fatalf("%d Hz: frame %d: %d bits, %d available", rc.rate, count, bits, 8*(s.mainDataBegin+slot))
			}
			resv = min(s.mainDataBegin+slot-(bits+7)/8, maxMDB)
			off += h.size
			count++
		}
		if off != len(b) || count != frames {
			t.Errorf("%d Hz: %d frames in %d bytes, want %d frames", rc.rate, count, off, frames)
		}
	}
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

// speech16k returns seconds of the project's speech at 16 kHz (8 kHz
// espeak-ng speech through the up-sampler the codec package uses).
func speech16k(t testing.TB, seconds int) []byte {
	t.Helper()
	var out bytes.Buffer
	up, err := resample.NewUpWriter(&out, 16000)
	if err != nil {
		t.Fatal(err)
	}
	up.Write(audiotest.Speech(t, seconds))
	up.Close()
	return out.Bytes()
}

// TestWriterSpeechSNR: SNR floors on speech at 16 kHz, per bit rate,
// with the voice-band lowpass the codec package uses. The floors are
// a few dB under the measured values (recorded in the test log).
func TestWriterSpeechSNR(t *testing.T) {
	pcm := speech16k(t, 20)
	for _, tc := range []struct {
		kbps  int
		floor float64
	}{{16, 16}, {24, 22}, {32, 27}, {64, 36}} {
		b := encode(t, pcm, int64(len(pcm)/2), Options{Bitrate: tc.kbps, Lowpass: 3800}, 0)
		got, _ := decode(t, b)
		s := snr(pcm, got)
		t.Logf("%d kbit/s: %d bytes, SNR %.2f dB", tc.kbps, len(b), s)
		if s < tc.floor {
			t.Errorf("%d kbit/s: SNR %.2f dB < %.0f dB", tc.kbps, s, tc.floor)
		}
	}
}

// TestExternalDecoders: ffmpeg and mpg123 decode the Writer's output
// without a warning, to exactly the samples written, and to the same
// audio as this package's decoder.
func TestExternalDecoders(t *testing.T) {
	audiotest.Tools(t, "ffmpeg", "mpg123")
	dir := t.TempDir()
	for _, rc := range allRates {
		for _, n := range []int{0, 1, 4000, 30000} {
			pcm := noise(n, uint64(n)+5)
			b := encode(t, pcm, int64(n), Options{SampleRate: rc.rate, Bitrate: rc.kbps}, 0)
			file := filepath.Join(dir, "x.mp3")
			if err := os.WriteFile(file, b, 0o644); err != nil {
				t.Fatal(err)
			}
			own, _ := decode(t, b)
			for _, dec := range []struct {
				name string
				args []string
			}{
				{"ffmpeg", append(ffmpegFormat(len(b)), "-i", file, "-f", "s16le", "-")},
				{"mpg123", []string{"-q", "-s", file}},
			} {
				cmd := exec.Command(dec.name, dec.args...)
				var stderr bytes.Buffer
				cmd.Stderr = &stderr
				out, err := cmd.Output()
				msg := strings.TrimSpace(stderr.String())
				if n == 0 && strings.HasPrefix(msg, "Output file is empty") {
					msg = "" // ffmpeg on its own (empty) output
				}
				if err != nil || msg != "" {
					t.Fatalf("%s, %d Hz, %d samples: %v: %s", dec.name, rc.rate, n, err, stderr.String())
				}
				if len(out) != 2*n {
					t.Errorf("%s, %d Hz: decoded %d samples, wrote %d", dec.name, rc.rate, len(out)/2, n)
					continue
				}
				if s := snr(own, out); n > 1 && s < 60 {
					t.Errorf("%s, %d Hz, %d samples: %.1f dB from this package's decode, want >= 60", dec.name, rc.rate, n, s)
				}
			}
		}
	}
}

// ffmpegFormat returns ffmpeg's input options: streams of a few frames
// are named as MP3, since ffmpeg's probe wants more frames in a row than
// they have before it trusts the format (it warns "detected only with
// low score"), whoever made them.
func ffmpegFormat(size int) []string {
	args := []string{"-nostdin", "-hide_banner", "-loglevel", "warning"}
	if size < 2048 {
		args = append(args, "-f", "mp3")
	}
	return args
}
