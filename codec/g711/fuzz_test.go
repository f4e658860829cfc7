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

// FuzzG711Encode feeds arbitrary PCM, written in two pieces split at any
// byte (odd splits carry half a sample), through the streaming Encoder
// and checks every code against the scalar reference encoder.
func FuzzG711Encode(f *testing.F) {
	f.Add([]byte{0x00, 0x80, 0xFF, 0x7F, 0x01, 0x00}, uint16(3), true)
	f.Add(bytes.Repeat([]byte{0x34, 0x92}, 40), uint16(17), false)
	f.Fuzz(func(t *testing.T, pcm []byte, split uint16, mu bool) {
		l, ref := ALaw, alawEncode
		if mu {
			l, ref = ULaw, ulawEncode
		}
		cut := int(split) % (len(pcm) + 1)
		var out bytes.Buffer
		e := NewEncoder(&out, l)
		if _, err := e.Write(pcm[:cut]); err != nil {
			t.Fatal(err)
		}
		if _, err := e.Write(pcm[cut:]); err != nil {
			t.Fatal(err)
		}
		if out.Len() != len(pcm)/2 {
			t.Fatalf("%d codes from %d bytes", out.Len(), len(pcm))
		}
		for i, c := range out.Bytes() {
			s := int16(uint16(pcm[2*i]) | uint16(pcm[2*i+1])<<8)
			if want := ref(int(s)); c != want {
				t.Fatalf("sample %d (%d): %#02x, want %#02x", i, s, c, want)
			}
		}
	})
}
