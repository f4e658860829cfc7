package gsm

import (
	"bytes"
	"errors"
	"io"
	"testing"
)

// FuzzGSMDecode: arbitrary bytes in raw or WAV49 framing never panic, give
// whole frames of output, and fail only with ErrTruncated or ErrMagic.
func FuzzGSMDecode(f *testing.F) {
	f.Add([]byte{0xD0}, false)
	f.Add(bytes.Repeat([]byte{0xDA}, 2*FrameSize), false)
	f.Add(bytes.Repeat([]byte{0xFF}, BlockSize+1), true)
	f.Fuzz(func(t *testing.T, in []byte, wav49 bool) {
		out, err := io.ReadAll(NewDecoder(bytes.NewReader(in), wav49))
		if err != nil && !errors.Is(err, ErrTruncated) && !errors.Is(err, ErrMagic) {
			t.Fatalf("unexpected error %v", err)
		}
		unit, size := 2*FrameSamples, FrameSize
		if wav49 {
			unit, size = 2*BlockSamples, BlockSize
		}
		if len(out)%unit != 0 || len(out)/unit > len(in)/size {
			t.Fatalf("%d output bytes from %d input bytes", len(out), len(in))
		}
		if err == nil && !wav49 && len(out)/unit != len(in)/size {
			t.Fatalf("%d frames decoded from %d bytes without error", len(out)/unit, len(in))
		}
	})
}
