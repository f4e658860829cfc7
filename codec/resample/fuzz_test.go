package resample

import (
	"bytes"
	"io"
	"testing"
)

var fuzzRates = []int{8000, 11025, 16000, 22050, 24000, 32000, 44100, 48000, 12345}

// FuzzResample: any bytes at any supported rate and channel count give
// exactly ceil(frames·8000/rate) samples and never panic.
func FuzzResample(f *testing.F) {
	f.Add([]byte{1, 2, 3, 4, 5}, uint8(6), uint8(2))
	f.Add(bytes.Repeat([]byte{0xFF, 0x7F, 0x00, 0x80}, 300), uint8(7), uint8(1))
	f.Fuzz(func(t *testing.T, in []byte, rateIdx, ch uint8) {
		rate := fuzzRates[int(rateIdx)%len(fuzzRates)]
		channels := int(ch)%MaxChannels + 1
		r, err := NewReader(bytes.NewReader(in), rate, channels)
		if err != nil {
			t.Fatal(err)
		}
		out, err := io.ReadAll(r)
		if err != nil {
			t.Fatal(err)
		}
		frames := int64(len(in) / (2 * channels))
		want := 2 * ((frames*8000 + int64(rate) - 1) / int64(rate))
		if rate == 8000 && channels == 1 {
			want = int64(len(in)) // passthrough
		}
		if int64(len(out)) != want {
			t.Fatalf("%d Hz x%d, %d frames: %d bytes, want %d", rate, channels, frames, len(out), want)
		}
	})
}
