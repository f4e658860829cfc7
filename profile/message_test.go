package profile

import (
	"math/rand/v2"
	"testing"
)

// TestB64Scan checks the two-bytes-a-lookup scan against the byte
// classes on every length and every single bad byte position.
func TestB64Scan(t *testing.T) {
	one := func(b []byte) byte {
		var acc byte
		for _, c := range b {
			switch b64class[c] {
			case 0:
				acc |= 2
			case 3:
				acc |= 1
			}
		}
		return acc
	}
	rng := rand.New(rand.NewPCG(1, 2))
	alphabet := "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/="
	for n := 0; n < 40; n++ {
		b := make([]byte, n)
		for i := range b {
			b[i] = alphabet[rng.IntN(len(alphabet))]
		}
		if got := b64scan(b64pair(), b); got != 0 {
			t.Fatalf("%q: %d", b, got)
		}
		for i := 0; i < n; i++ {
			for _, c := range []byte{0, ' ', '\t', '!', '\xff', '-', '\r'} {
				bad := append([]byte(nil), b...)
				bad[i] = c
				if got, want := b64scan(b64pair(), bad), one(bad); got != want {
					t.Fatalf("%q: %d, want %d", bad, got, want)
				}
			}
		}
	}
}
