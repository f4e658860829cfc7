package mp3

import (
	"bytes"
	"io"
	"testing"
)

// FuzzMP3: arbitrary bytes never panic or hang. Work is capped: inputs over
// 16 KiB are skipped and at most 8 MiB of PCM is read.
func FuzzMP3(f *testing.F) {
	f.Add([]byte("ID3\x03\x00\x00\x00\x00\x00\x00\xff\xfb\x90\x00"))
	f.Add([]byte{0xFF, 0xFB, 0x90, 0x00})
	f.Fuzz(func(t *testing.T, in []byte) {
		if len(in) > 16<<10 {
			t.Skip("input over 16 KiB")
		}
		r, rate, ch, err := NewReader(bytes.NewReader(in))
		if err != nil {
			return
		}
		if ch != 1 && ch != 2 {
			t.Fatalf("channels %d", ch)
		}
		if rate < 8000 || rate > 48000 {
			t.Fatalf("rate %d", rate)
		}
		n, _ := io.Copy(io.Discard, io.LimitReader(r, 8<<20))
		if n%int64(2*ch) != 0 {
			t.Fatalf("%d bytes is not a whole number of frames", n)
		}
	})
}
