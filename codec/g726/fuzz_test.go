package g726

import (
	"bytes"
	"io"
	"testing"
)

// FuzzG726Decode decodes arbitrary codes at every rate and packing: no
// panic, exactly the expected number of samples.
func FuzzG726Decode(f *testing.F) {
	f.Add([]byte{0x00, 0xFF, 0x0F, 0xF0}, uint8(2))
	f.Add([]byte{0x77, 0x77, 0x77, 0x77, 0x77}, uint8(7))
	f.Fuzz(func(t *testing.T, b []byte, sel uint8) {
		r := []Rate{Rate16, Rate24, Rate32, Rate40}[sel%4]
		p := Packing(sel / 4 % 2)
		d, err := NewDecoder(bytes.NewReader(b), r, p)
		if err != nil {
			t.Fatal(err)
		}
		out, err := io.ReadAll(d)
		if err != nil {
			t.Fatal(err)
		}
		if want := len(b) * 8 / r.Bits() * 2; len(out) != want {
			t.Fatalf("%d bytes out of %d codes bytes at %d kbit/s, want %d", len(out), len(b), r, want)
		}
		s, _ := NewState(r)
		for _, c := range b {
			s.DecodeULaw(c)
			s.DecodeALaw(c)
		}
	})
}
