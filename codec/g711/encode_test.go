package g711

import (
	"encoding/binary"
	"fmt"
	"testing"
)

// TestEncodeBulk checks the bulk encoder (SIMD on amd64 unless built with
// -tags purego) against the scalar reference encoders on every 16-bit
// input, at every alignment and tail length of a short buffer.
func TestEncodeBulk(t *testing.T) {
	pcm := make([]byte, 2*65536)
	for i := range 65536 {
		binary.LittleEndian.PutUint16(pcm[2*i:], uint16(i))
	}
	for _, tc := range []struct {
		law Law
		ref func(int) byte
	}{{ULaw, ulawEncode}, {ALaw, alawEncode}} {
		t.Run(tc.law.String(), func(t *testing.T) {
			out := make([]byte, 65536)
			encode(out, pcm, tc.law, tc.law.encTable())
			for i, c := range out {
				if want := tc.ref(int(int16(uint16(i)))); c != want {
					t.Fatalf("encode(%d) = %#02x, want %#02x", int16(uint16(i)), c, want)
				}
			}
			// Offsets 0..17 and lengths 0..40: the SIMD/table boundary.
			for off := 0; off < 18; off++ {
				for n := 0; n <= 40; n++ {
					in := pcm[2*(30000+off) : 2*(30000+off+n)]
					got := make([]byte, n+1)
					got[n] = 0xEE // sentinel: nothing written past n
					encode(got[:n], in, tc.law, tc.law.encTable())
					for i := range n {
						s := int16(binary.LittleEndian.Uint16(in[2*i:]))
						if want := tc.ref(int(s)); got[i] != want {
							t.Fatalf("off %d n %d: sample %d (%d) = %#02x, want %#02x", off, n, i, s, got[i], want)
						}
					}
					if got[n] != 0xEE {
						t.Fatalf("off %d n %d: wrote past the end", off, n)
					}
				}
			}
		})
	}
}

func BenchmarkEncode(b *testing.B) {
	pcm := make([]byte, 2*4096)
	for i := range 4096 {
		binary.LittleEndian.PutUint16(pcm[2*i:], uint16(int16(i*7919))) // spread over the range
	}
	out := make([]byte, 4096)
	for _, l := range []Law{ULaw, ALaw} {
		b.Run(fmt.Sprintf("%s/bulk", l), func(b *testing.B) {
			b.SetBytes(int64(len(pcm)))
			tab := l.encTable()
			for b.Loop() {
				encode(out, pcm, l, tab)
			}
		})
		b.Run(fmt.Sprintf("%s/table", l), func(b *testing.B) {
			b.SetBytes(int64(len(pcm)))
			tab := l.encTable()
			for b.Loop() {
				encodeTable(out, pcm, tab)
			}
		})
	}
}
