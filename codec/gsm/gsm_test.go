package gsm

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"testing/iotest"

	"github.com/vpim-milter/vpim-milter/internal/audiotest"
)

func run(t testing.TB, name string, args ...string) []byte {
	t.Helper()
	out, err := exec.Command(name, args...).Output()
	if err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			t.Fatalf("%s %q: %v\n%s", name, args, err, ee.Stderr)
		}
		t.Fatalf("%s %q: %v", name, args, err)
	}
	return out
}

func readFile(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// wavData returns the data chunk of a RIFF/WAVE file (minimal parser for
// the files sox writes in these tests).
func wavData(t testing.TB, b []byte) []byte {
	t.Helper()
	if len(b) < 12 || string(b[:4]) != "RIFF" || string(b[8:12]) != "WAVE" {
		t.Fatal("not a RIFF/WAVE file")
	}
	for p := 12; p+8 <= len(b); {
		size := int(binary.LittleEndian.Uint32(b[p+4:]))
		if string(b[p:p+4]) == "data" {
			return b[p+8 : min(p+8+size, len(b))]
		}
		p += 8 + size + size&1
	}
	t.Fatal("no data chunk")
	return nil
}

// corpus makes the project's own test speech with espeak-ng and sox:
// 8 kHz mono PCM16LE (raw), its raw .gsm (sox -t gsm, identical to toast) and
// a WAV49 file (sox -e gsm-full-rate). Loud and clipped variants stress the
// saturating arithmetic.
type corpus struct {
	name     string
	pcm      []byte // source samples
	raw      []byte // raw .gsm frames
	wav49    []byte // WAV49 data chunk (may carry sox's pad byte)
	rawDec   []byte // libgsm decode of raw (toast -d)
	wav49Dec []byte // libgsm decode of wav49 (sox)
}

func makeCorpus(t *testing.T) []corpus {
	t.Helper()
	audiotest.Tools(t, "espeak-ng", "sox", "toast")
	dir := t.TempDir()
	a, b, ab := filepath.Join(dir, "a.wav"), filepath.Join(dir, "b.wav"), filepath.Join(dir, "ab.wav")
	run(t, "espeak-ng", "-v", "en-us", "-s", "150", "-w", a,
		"The quick brown fox jumps over the lazy dog. Please call me back, my number is five five five, one two three four.")
	run(t, "espeak-ng", "-v", "en-gb+f3", "-s", "140", "-p", "70", "-w", b,
		"This is a voice mail message for the accounts department. Thank you, goodbye.")
	run(t, "sox", a, b, "-r", "22050", ab, "pad", "0", "0.3")
	var out []corpus
	for _, v := range []struct {
		name string
		fx   []string
	}{
		{"speech", []string{"rate", "-v", "norm", "-3"}},
		{"loud", []string{"rate", "-v", "gain", "-n", "12"}}, // clipped: saturation paths
		{"quiet", []string{"rate", "-v", "norm", "-40"}},
	} {
		s16 := filepath.Join(dir, v.name+".s16")
		gsmf := filepath.Join(dir, v.name+".gsm")
		w49 := filepath.Join(dir, v.name+".wav")
		run(t, "sox", append([]string{ab, "-r", "8000", "-c", "1", "-b", "16", "-e", "signed-integer", "-t", "raw", s16}, v.fx...)...)
		run(t, "sox", "-t", "raw", "-r", "8000", "-c", "1", "-b", "16", "-e", "signed-integer", s16, "-t", "gsm", gsmf)
		run(t, "sox", "-t", "raw", "-r", "8000", "-c", "1", "-b", "16", "-e", "signed-integer", s16, "-t", "wav", "-e", "gsm-full-rate", w49)
		c := corpus{name: v.name, pcm: readFile(t, s16), raw: readFile(t, gsmf), wav49: wavData(t, readFile(t, w49))}
		c.rawDec = run(t, "toast", "-d", "-c", "-l", gsmf)
		c.wav49Dec = run(t, "sox", w49, "-t", "raw", "-e", "signed-integer", "-b", "16", "-")
		out = append(out, c)
	}
	return out
}

// identical counts equal 16-bit samples.
func identical(a, b []byte) (same, total int) {
	total = max(len(a), len(b)) / 2
	for i := 0; i+1 < min(len(a), len(b)); i += 2 {
		if a[i] == b[i] && a[i+1] == b[i+1] {
			same++
		}
	}
	return same, total
}

// TestDecodeMatchesLibgsm: decoding is sample-identical to libgsm (toast for
// raw .gsm, sox for WAV49) on the project's own speech.
func TestDecodeMatchesLibgsm(t *testing.T) {
	for _, c := range makeCorpus(t) {
		for _, tc := range []struct {
			wav49   bool
			in, ref []byte
		}{{false, c.raw, c.rawDec}, {true, c.wav49, c.wav49Dec}} {
			got, err := io.ReadAll(NewDecoder(bytes.NewReader(tc.in), tc.wav49))
			if err != nil {
				t.Fatalf("%s wav49=%v: %v", c.name, tc.wav49, err)
			}
			same, total := identical(got, tc.ref)
			t.Logf("%s wav49=%v: %d of %d samples identical", c.name, tc.wav49, same, total)
			if same != total || len(got) != len(tc.ref) {
				t.Errorf("%s wav49=%v: %d of %d samples identical (%d vs %d bytes)", c.name, tc.wav49, same, total, len(got), len(tc.ref))
			}
		}
	}
}

// TestEncodeMatchesLibgsm: encoding is bit-exact with libgsm (sox/toast).
func TestEncodeMatchesLibgsm(t *testing.T) {
	for _, c := range makeCorpus(t) {
		for _, tc := range []struct {
			wav49 bool
			ref   []byte
		}{{false, c.raw}, {true, c.wav49}} {
			var buf bytes.Buffer
			enc := NewEncoder(&buf, tc.wav49)
			if _, err := enc.Write(c.pcm); err != nil {
				t.Fatal(err)
			}
			if err := enc.Close(); err != nil {
				t.Fatal(err)
			}
			ref := tc.ref
			if tc.wav49 && len(ref)%BlockSize == 1 {
				ref = ref[:len(ref)-1] // sox's RIFF pad byte
			}
			if !bytes.Equal(buf.Bytes(), ref) {
				t.Errorf("%s wav49=%v: bitstream differs from libgsm (%d vs %d bytes, first difference at %d)",
					c.name, tc.wav49, buf.Len(), len(ref), firstDiff(buf.Bytes(), ref))
			}
		}
	}
	if testing.Short() {
		return
	}
	// toast itself, for the raw format.
	dir := t.TempDir()
	c := makeCorpus(t)[0]
	in := filepath.Join(dir, "in.s16")
	if err := os.WriteFile(in, c.pcm, 0o644); err != nil {
		t.Fatal(err)
	}
	if toast := run(t, "toast", "-c", "-l", in); !bytes.Equal(toast, c.raw) {
		t.Errorf("toast and sox disagree (%d vs %d bytes)", len(toast), len(c.raw))
	}
}

func firstDiff(a, b []byte) int {
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			return i
		}
	}
	return min(len(a), len(b))
}

// TestRoundTrip checks sizes and that encode/decode of a tone keeps it.
func TestRoundTrip(t *testing.T) {
	tests := []struct {
		samples  int
		wav49    bool
		wantSize int
	}{
		{0, false, 0},
		{1, false, FrameSize},
		{160, false, FrameSize},
		{161, false, 2 * FrameSize},
		{160, true, BlockSize},
		{320, true, BlockSize},
		{321, true, 2 * BlockSize},
		{8000, true, 25 * BlockSize},
	}
	for _, tc := range tests {
		pcm := make([]byte, 2*tc.samples)
		for i := 0; i < tc.samples; i++ {
			binary.LittleEndian.PutUint16(pcm[2*i:], uint16(int16((i%40-20)*500)))
		}
		var buf bytes.Buffer
		enc := NewEncoder(&buf, tc.wav49)
		// Odd-sized writes exercise the split-sample path.
		for p := 0; p < len(pcm); p += 7 {
			if _, err := enc.Write(pcm[p:min(p+7, len(pcm))]); err != nil {
				t.Fatal(err)
			}
		}
		if err := enc.Close(); err != nil {
			t.Fatal(err)
		}
		if buf.Len() != tc.wantSize {
			t.Errorf("%d samples wav49=%v: %d bytes, want %d", tc.samples, tc.wav49, buf.Len(), tc.wantSize)
		}
		dec, err := io.ReadAll(NewDecoder(&buf, tc.wav49))
		if err != nil {
			t.Fatal(err)
		}
		wantPCM := tc.wantSize / FrameSize * FrameSamples * 2
		if tc.wav49 {
			wantPCM = tc.wantSize / BlockSize * BlockSamples * 2
		}
		if len(dec) != wantPCM {
			t.Errorf("%d samples wav49=%v: decoded %d bytes, want %d", tc.samples, tc.wav49, len(dec), wantPCM)
		}
	}
}

// TestTruncated: complete frames are returned, then ErrTruncated; a single
// trailing byte after WAV49 blocks (the RIFF pad) is ignored; a bad raw
// signature gives ErrMagic.
func TestTruncated(t *testing.T) {
	var raw, w49 bytes.Buffer
	for _, x := range []struct {
		buf   *bytes.Buffer
		wav49 bool
	}{{&raw, false}, {&w49, true}} {
		enc := NewEncoder(x.buf, x.wav49)
		if _, err := enc.Write(make([]byte, 2*640)); err != nil {
			t.Fatal(err)
		}
		enc.Close()
	}
	badMagic := bytes.Clone(raw.Bytes())
	badMagic[FrameSize] = 0x00
	tests := []struct {
		name    string
		in      []byte
		wav49   bool
		wantPCM int
		wantErr error
	}{
		{"raw whole", raw.Bytes(), false, 4 * 320, nil},
		{"raw short", raw.Bytes()[:3*FrameSize+10], false, 3 * 320, ErrTruncated},
		{"raw one byte", raw.Bytes()[:1], false, 0, ErrTruncated},
		{"raw bad magic", badMagic, false, 320, ErrMagic},
		{"wav49 whole", w49.Bytes(), true, 2 * 640, nil},
		{"wav49 pad byte", append(bytes.Clone(w49.Bytes()), 0), true, 2 * 640, nil},
		{"wav49 short", w49.Bytes()[:BlockSize+40], true, 640, ErrTruncated},
		{"empty", nil, true, 0, nil},
	}
	for _, tc := range tests {
		got, err := io.ReadAll(NewDecoder(bytes.NewReader(tc.in), tc.wav49))
		if len(got) != tc.wantPCM {
			t.Errorf("%s: %d bytes, want %d", tc.name, len(got), tc.wantPCM)
		}
		if !errors.Is(err, tc.wantErr) && !(tc.wantErr == nil && err == nil) {
			t.Errorf("%s: error %v, want %v", tc.name, err, tc.wantErr)
		}
	}
}

// TestReaders feeds the decoder through odd readers; output must not change.
func TestReaders(t *testing.T) {
	var buf bytes.Buffer
	enc := NewEncoder(&buf, true)
	pcm := make([]byte, 2*8000)
	for i := range pcm {
		pcm[i] = byte(i * 7)
	}
	enc.Write(pcm)
	enc.Close()
	want, err := io.ReadAll(NewDecoder(bytes.NewReader(buf.Bytes()), true))
	if err != nil {
		t.Fatal(err)
	}
	for name, r := range map[string]io.Reader{
		"one-byte": iotest.OneByteReader(bytes.NewReader(buf.Bytes())),
		"half":     iotest.HalfReader(bytes.NewReader(buf.Bytes())),
		"data-err": iotest.DataErrReader(bytes.NewReader(buf.Bytes())),
	} {
		got, err := io.ReadAll(NewDecoder(r, true))
		if err != nil || !bytes.Equal(got, want) {
			t.Errorf("%s: err %v, %d bytes, equal %v", name, err, len(got), bytes.Equal(got, want))
		}
	}
	if err := iotest.TestReader(NewDecoder(bytes.NewReader(buf.Bytes()), true), want); err != nil {
		t.Error(err)
	}
	boom := errors.New("boom")
	if _, err := io.ReadAll(NewDecoder(iotest.ErrReader(boom), false)); !errors.Is(err, boom) {
		t.Errorf("error %v, want boom", err)
	}
}

// TestNoAllocs: Read and Write do not allocate.
func TestNoAllocs(t *testing.T) {
	var frames bytes.Buffer
	enc := NewEncoder(&frames, false)
	enc.Write(make([]byte, 2*160*200))
	enc.Close()
	d := NewDecoder(bytes.NewReader(frames.Bytes()), false)
	buf := make([]byte, 100)
	if a := testing.AllocsPerRun(100, func() { d.Read(buf) }); a != 0 {
		t.Errorf("decoder: %.1f allocations per Read", a)
	}
	e := NewEncoder(io.Discard, true)
	in := make([]byte, 1000)
	if a := testing.AllocsPerRun(100, func() { e.Write(in) }); a != 0 {
		t.Errorf("encoder: %.1f allocations per Write", a)
	}
}

// BenchmarkGSMDecode decodes 10 s of WAV49.
func BenchmarkGSMDecode(b *testing.B) {
	var buf bytes.Buffer
	enc := NewEncoder(&buf, true)
	pcm := make([]byte, 2*80000)
	for i := 0; i < len(pcm)/2; i++ {
		binary.LittleEndian.PutUint16(pcm[2*i:], uint16(int16((i*37)%4000-2000)))
	}
	enc.Write(pcm)
	enc.Close()
	b.SetBytes(int64(len(pcm)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := io.Copy(io.Discard, NewDecoder(bytes.NewReader(buf.Bytes()), true)); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkGSMEncode encodes 10 s to WAV49.
func BenchmarkGSMEncode(b *testing.B) {
	pcm := make([]byte, 2*80000)
	for i := 0; i < len(pcm)/2; i++ {
		binary.LittleEndian.PutUint16(pcm[2*i:], uint16(int16((i*37)%4000-2000)))
	}
	b.SetBytes(int64(len(pcm)))
	b.ReportAllocs()
	for b.Loop() {
		enc := NewEncoder(io.Discard, true)
		enc.Write(pcm)
		enc.Close()
	}
}

// TestRandomFramesMatchLibgsm decodes pseudo-random raw frames (every
// parameter value, including out-of-range LTP lags) with toast and with us.
func TestRandomFramesMatchLibgsm(t *testing.T) {
	audiotest.Tools(t, "toast")
	const frames = 3000
	in := make([]byte, frames*FrameSize)
	x := uint32(12345)
	for i := range in {
		x = x*1664525 + 1013904223
		in[i] = byte(x >> 24)
	}
	for f := 0; f < frames; f++ {
		in[f*FrameSize] = magic<<4 | in[f*FrameSize]&0x0F
	}
	name := filepath.Join(t.TempDir(), "random.gsm")
	if err := os.WriteFile(name, in, 0o644); err != nil {
		t.Fatal(err)
	}
	ref := run(t, "toast", "-d", "-c", "-l", name)
	got, err := io.ReadAll(NewDecoder(bytes.NewReader(in), false))
	if err != nil {
		t.Fatal(err)
	}
	if same, total := identical(got, ref); same != total || len(got) != len(ref) {
		t.Errorf("%d of %d samples identical (%d vs %d bytes)", same, total, len(got), len(ref))
	}
}
