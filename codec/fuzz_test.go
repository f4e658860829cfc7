package codec

import (
	"bytes"
	"errors"
	"io"
	"testing"
)

func FuzzSniff(f *testing.F) {
	f.Add([]byte("RIFF\x24\x00\x00\x00WAVEfmt \x10\x00\x00\x00\x01\x00\x01\x00\x40\x1f\x00\x00\x80\x3e\x00\x00\x02\x00\x10\x00"))
	f.Add([]byte(".snd\x00\x00\x00\x18\xff\xff\xff\xff\x00\x00\x00\x01\x00\x00\x1f\x40\x00\x00\x00\x01"))
	f.Add([]byte("ID3\x04\x00\x00\x00\x00\x00\x00"))
	f.Add([]byte{0xFF, 0xFB, 0x90, 0x64, 0x00})
	f.Add([]byte{0xFF, 0xFF, 0xFF, 0xFF})
	f.Fuzz(func(t *testing.T, b []byte) {
		got := Sniff(b)
		if got != "" {
			if _, err := ParseFormat(string(got)); err != nil {
				t.Fatalf("Sniff returned unknown format %q", got)
			}
		}
		// Only the first SniffLen bytes matter.
		if len(b) > SniffLen && Sniff(b[:SniffLen]) != got {
			t.Fatalf("Sniff looked beyond %d bytes", SniffLen)
		}
	})
}

// FuzzReader decodes arbitrary bytes in every readable format: no panic,
// and output bounded by the input size (no allocation or output driven by
// claimed sizes).
func FuzzReader(f *testing.F) {
	var wavU bytes.Buffer
	w, _ := NewWriter(&wavU, WAVULaw, 3)
	w.Write([]byte{1, 2, 3, 4, 5, 6})
	w.Close()
	f.Add(wavU.Bytes(), uint8(0))
	f.Add([]byte(".snd\x00\x00\x00\x18\xff\xff\xff\xff\x00\x00\x00\x17\x00\x00\x1f\x40\x00\x00\x00\x01\x12\x34"), uint8(1))
	f.Add([]byte{0x12, 0x34, 0x56}, uint8(2))
	f.Fuzz(func(t *testing.T, b []byte, which uint8) {
		fs := Formats()
		from := Format("")
		if int(which) < len(fs) {
			from = fs[which]
		}
		r, err := NewReader(bytes.NewReader(b), from)
		if err != nil {
			return
		}
		n, err := io.Copy(io.Discard, io.LimitReader(r, 1<<24))
		if err != nil {
			var ce *CorruptInputError
			if !errors.As(err, &ce) && !errors.Is(err, ErrUnsupported) {
				t.Fatalf("error %v is not a CorruptInputError", err)
			}
		}
		// Worst case: 2-bit G.726 gives 8 output bytes per input byte;
		// 8-bit PCM upsampled is handled by the resampler (bounded ratio).
		if n > 16*int64(len(b))+1024 {
			t.Fatalf("%d bytes of output from %d bytes of %s input", n, len(b), r.Format())
		}
	})
}
