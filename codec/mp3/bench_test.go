package mp3

import (
	"bytes"
	"io"
	"testing"
)

// BenchmarkEncode encodes 10 s of noise at 16 kHz, 24 kbit/s.
func BenchmarkEncode(b *testing.B) {
	pcm := noise(160000, 1)
	b.SetBytes(int64(len(pcm)))
	for i := 0; i < b.N; i++ {
		w, _ := NewWriter(io.Discard, int64(len(pcm)/2), Options{})
		w.Write(pcm)
		w.Close()
	}
}

// BenchmarkDecode decodes the output of BenchmarkEncode's input.
func BenchmarkDecode(b *testing.B) {
	pcm := noise(160000, 1)
	mp3 := encode(b, pcm, int64(len(pcm)/2), Options{}, 0)
	b.SetBytes(int64(len(pcm)))
	for i := 0; i < b.N; i++ {
		r, _, _, _ := NewReader(bytes.NewReader(mp3))
		io.Copy(io.Discard, r)
	}
}

// BenchmarkWorstFrames decodes 16 KiB of the shortest frames there are
// (MPEG-2, 8 kbit/s, 24 kHz, stereo: 24 bytes, 576 samples each), the
// most work per input byte a hostile stream can ask for.
func BenchmarkWorstFrames(b *testing.B) {
	fr := make([]byte, 24)
	fr[0], fr[1], fr[2], fr[3] = 0xFF, 0xF3, 0x14, 0x00
	in := bytes.Repeat(fr, 16<<10/24)
	for i := 0; i < b.N; i++ {
		r, _, _, err := NewReader(bytes.NewReader(in))
		if err == nil {
			io.Copy(io.Discard, r)
		}
	}
}
