package mp3

import (
	"bytes"
	"io"
	"os"
	"strings"
	"testing"
)

// FuzzDecoder: arbitrary bytes never panic (the Reader's recover would
// report one as an error naming a panic, which fails here), never hang,
// and produce bounded output: at most 200 bytes of PCM per input byte
// (the shortest frame, 24 bytes, decodes to 576 stereo samples). Inputs
// over 16 KiB are skipped.
func FuzzDecoder(f *testing.F) {
	f.Add([]byte("ID3\x03\x00\x00\x00\x00\x00\x00\xff\xfb\x90\x00"))
	f.Add([]byte{0xFF, 0xFB, 0x90, 0x00})
	for _, name := range []string{"testdata/tone16k.mp3", "testdata/tone44k.mp3"} {
		if b, err := os.ReadFile(name); err == nil {
			f.Add(b)
		}
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		if len(in) > 16<<10 {
			t.Skip("input over 16 KiB")
		}
		r, rate, ch, err := NewReader(bytes.NewReader(in))
		if err != nil {
			if strings.Contains(err.Error(), "panic") {
				t.Fatal(err)
			}
			return
		}
		if ch != 1 && ch != 2 {
			t.Fatalf("channels %d", ch)
		}
		if rate < 8000 || rate > 48000 {
			t.Fatalf("rate %d", rate)
		}
		n, err := io.Copy(io.Discard, r)
		if err != nil && strings.Contains(err.Error(), "panic") {
			t.Fatal(err)
		}
		if n%int64(2*ch) != 0 {
			t.Fatalf("%d bytes is not a whole number of frames", n)
		}
		if n > 200*int64(len(in))+8192 {
			t.Fatalf("%d bytes of PCM from %d bytes of input", n, len(in))
		}
	})
}

// FuzzEncoder: any PCM, any length, written in any chunking, with any
// rate and bit rate, encodes without error or panic, and decodes to
// exactly the samples written (known length and seekable output) or with
// only the padding more (plain output). The first three bytes choose the
// options, the chunk sizes and the output mode.
func FuzzEncoder(f *testing.F) {
	f.Add([]byte{3, 7, 0}, []byte{})
	f.Add([]byte{0, 1, 1}, []byte{1, 2, 3})
	f.Add([]byte{8, 255, 2}, bytes.Repeat([]byte{0x7F, 0xFF, 0x00, 0x80}, 3000))
	f.Fuzz(func(t *testing.T, sel []byte, pcm []byte) {
		if len(pcm) > 64<<10 {
			t.Skip("over 64 KiB of PCM")
		}
		for len(sel) < 3 {
			sel = append(sel, 0)
		}
		rc := allRates[int(sel[0])%len(allRates)]
		o := Options{SampleRate: rc.rate, Bitrate: rc.kbps}
		if sel[0]&0x80 != 0 {
			o.Lowpass = rc.rate / 2
		}
		n := int64(len(pcm) / 2)
		mode := sel[2] % 3 // 0 known length, 1 unknown and seekable, 2 unknown
		if mode == 0 {
			pcm = pcm[:2*n] // a trailing half sample would be one too many
		}
		var out bytes.Buffer
		ms := &memSeeker{}
		var w *Writer
		var err error
		switch mode {
		case 0:
			w, err = NewWriter(&out, n, o)
		case 1:
			w, err = NewWriter(ms, -1, o)
		default:
			w, err = NewWriter(&out, -1, o)
		}
		if err != nil {
			t.Fatal(err)
		}
		// Chunk sizes cycle through 1..sel[1]+1, odd ones included.
		step := int(sel[1]) + 1
		for p, k := pcm, 1; len(p) > 0; k = k%step + 1 {
			c := min(k, len(p))
			if m, err := w.Write(p[:c]); err != nil || m != c {
				t.Fatalf("Write: %d, %v", m, err)
			}
			p = p[c:]
		}
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		stream := out.Bytes()
		if mode == 1 {
			stream = ms.b
		}
		got, rate := decode(t, stream)
		if rate != rc.rate {
			t.Fatalf("rate %d, want %d", rate, rc.rate)
		}
		want := 2 * n
		if mode == 2 {
			want = 2 * (w.framesFor(n)*int64(w.spf()) - EncoderDelay - DecoderDelay)
		}
		if int64(len(got)) != want {
			t.Fatalf("mode %d: decoded %d bytes, want %d", mode, len(got), want)
		}
	})
}
