package resample

import (
	"bytes"
	"encoding/binary"
	"math"
	"testing"
)

// TestUpWriter: a 1 kHz tone up-sampled to 16 and 22.05 kHz has exactly
// ceil(n·rate/8000) samples, is aligned (no delay) and clean, and the
// result does not depend on how the input is split into writes.
func TestUpWriter(t *testing.T) {
	for _, rate := range []int{16000, 22050, 24000, 48000} {
		for _, n := range []int{0, 1, 7, 2047, 2048, 2049, 8000} {
			in := make([]byte, 2*n)
			for i := 0; i < n; i++ {
				v := 10000 * math.Sin(2*math.Pi*1000*float64(i)/8000)
				binary.LittleEndian.PutUint16(in[2*i:], uint16(int16(math.Round(v))))
			}
			var whole, odd bytes.Buffer
			w, err := NewUpWriter(&whole, rate)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := w.Write(in); err != nil {
				t.Fatal(err)
			}
			if err := w.Close(); err != nil {
				t.Fatal(err)
			}
			w2, _ := NewUpWriter(&odd, rate)
			for p := in; len(p) > 0; {
				k := min(len(p), 3)
				if _, err := w2.Write(p[:k]); err != nil {
					t.Fatal(err)
				}
				p = p[k:]
			}
			w2.Close()
			want := (n*rate + 7999) / 8000
			if whole.Len() != 2*want {
				t.Fatalf("%d Hz, %d samples: %d output samples, want %d", rate, n, whole.Len()/2, want)
			}
			if !bytes.Equal(whole.Bytes(), odd.Bytes()) {
				t.Fatalf("%d Hz, %d samples: 3-byte writes differ", rate, n)
			}
			if n < 8000 {
				continue
			}
			var sig, noise float64
			out := whole.Bytes()
			for i := rate / 10; i < want-rate/10; i++ {
				got := float64(int16(binary.LittleEndian.Uint16(out[2*i:])))
				ref := 10000 * math.Sin(2*math.Pi*1000*float64(i)/float64(rate))
				sig += ref * ref
				noise += (got - ref) * (got - ref)
			}
			if snr := 10 * math.Log10(sig/noise); snr < 70 {
				t.Errorf("%d Hz: SNR %.1f dB against the ideal tone, want >= 70", rate, snr)
			}
		}
	}
	if _, err := NewUpWriter(nil, 8000); err == nil {
		t.Error("8000 Hz accepted")
	}
}
