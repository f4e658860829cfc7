package g711

import (
	"bytes"
	"io"
	"testing"
)

// FuzzG711Decode checks that decoding then re-encoding is the identity on
// codes (apart from the two µ-law zeros) and that the stream decoder
// agrees with the per-sample function.
func FuzzG711Decode(f *testing.F) {
	f.Add([]byte{0x00, 0x7F, 0x80, 0xFF}, true)
	f.Add([]byte{0x55, 0xD5, 0x2A, 0xAA}, false)
	f.Fuzz(func(t *testing.T, b []byte, mu bool) {
		l := ALaw
		if mu {
			l = ULaw
		}
		out, err := io.ReadAll(NewDecoder(bytes.NewReader(b), l))
		if err != nil || len(out) != 2*len(b) {
			t.Fatalf("decoded %d bytes from %d: %v", len(out), len(b), err)
		}
		for i, c := range b {
			v := int16(uint16(out[2*i]) | uint16(out[2*i+1])<<8)
			if v != l.Decode(c) {
				t.Fatalf("stream and table disagree at %d", i)
			}
			if back := l.Encode(v); back != c && !(l == ULaw && c == 0x7F && back == 0xFF) {
				t.Fatalf("%v code %#02x → %d → %#02x", l, c, v, back)
			}
		}
	})
}
