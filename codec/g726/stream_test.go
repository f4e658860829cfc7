package g726

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"testing"
	"testing/iotest"
)

func testPCM(n int) []byte {
	b := make([]byte, 2*n)
	for i := 0; i < n; i++ {
		v := 9000*math.Sin(float64(i)*0.21) + 2000*math.Sin(float64(i)*1.3)
		binary.LittleEndian.PutUint16(b[2*i:], uint16(int16(v)))
	}
	return b
}

// codesOf encodes pcm one code per byte (unpacked) for reference.
func codesOf(t *testing.T, pcm []byte, r Rate) []uint8 {
	t.Helper()
	s, err := NewState(r)
	if err != nil {
		t.Fatal(err)
	}
	c := make([]uint8, len(pcm)/2)
	for i := range c {
		c[i] = s.EncodeLinear(int16(binary.LittleEndian.Uint16(pcm[2*i:])))
	}
	return c
}

// TestPacking checks the bit order of both packings against codes packed
// by hand (RFC 3802 §4: first code word in the least significant bits).
func TestPacking(t *testing.T) {
	pcm := testPCM(80)
	for _, r := range []Rate{Rate16, Rate24, Rate32, Rate40} {
		codes := codesOf(t, pcm, r)
		nb := r.Bits()
		var lsb, msb []byte
		var acc, accM uint64
		n := 0
		for _, c := range codes {
			acc |= uint64(c) << n
			accM = accM<<nb | uint64(c)
			n += nb
			for n >= 8 {
				lsb = append(lsb, byte(acc))
				acc >>= 8
				msb = append(msb, byte(accM>>(n-8)))
				n -= 8
				accM &= 1<<n - 1
			}
		}
		for _, tc := range []struct {
			p    Packing
			want []byte
		}{{PackRFC3551, lsb}, {PackAAL2, msb}} {
			got := goEncode(t, pcm, r, tc.p)
			if !bytes.Equal(got, tc.want) {
				t.Errorf("rate %d %s: packed % x, want % x", r, tc.p, got[:8], tc.want[:8])
			}
			if len(got) != len(codes)*nb/8 {
				t.Errorf("rate %d: %d octets for %d codes", r, len(got), len(codes))
			}
		}
	}
	// First code in the low nibble for audio/32KADPCM: pin the first octet.
	got := goEncode(t, testPCM(2), Rate32, PackRFC3551)
	c := codesOf(t, testPCM(2), Rate32)
	if got[0] != c[1]<<4|c[0] {
		t.Fatalf("RFC 3802 octet %#02x, codes %x %x", got[0], c[0], c[1])
	}
}

// TestEncoderSplitWrites feeds input split at every offset.
func TestEncoderSplitWrites(t *testing.T) {
	pcm := testPCM(301)
	for _, r := range []Rate{Rate24, Rate40} {
		want := goEncode(t, pcm, r, PackRFC3551)
		for split := 0; split <= len(pcm); split++ {
			var out bytes.Buffer
			e, _ := NewEncoder(&out, r, PackRFC3551)
			e.Write(pcm[:split])
			e.Write(pcm[split:])
			e.Close()
			if !bytes.Equal(out.Bytes(), want) {
				t.Fatalf("rate %d split %d differs", r, split)
			}
		}
	}
}

// TestDecoderReaders runs the decoder through the iotest readers.
func TestDecoderReaders(t *testing.T) {
	for _, p := range []Packing{PackRFC3551, PackAAL2} {
		enc := goEncode(t, testPCM(4000), Rate24, p)
		d, _ := NewDecoder(bytes.NewReader(enc), Rate24, p)
		want, err := io.ReadAll(d)
		if err != nil {
			t.Fatal(err)
		}
		if len(want) != 2*4000 {
			t.Fatalf("decoded %d bytes", len(want))
		}
		for name, wrap := range map[string]func(io.Reader) io.Reader{
			"onebyte": iotest.OneByteReader,
			"half":    iotest.HalfReader,
			"dataerr": iotest.DataErrReader,
		} {
			d, _ := NewDecoder(wrap(bytes.NewReader(enc)), Rate24, p)
			got, err := io.ReadAll(iotest.OneByteReader(d))
			if err != nil || !bytes.Equal(got, want) {
				t.Fatalf("%s/%s: err %v, equal %v", p, name, err, bytes.Equal(got, want))
			}
		}
		d, _ = NewDecoder(bytes.NewReader(enc), Rate24, p)
		if err := iotest.TestReader(d, want); err != nil {
			t.Fatal(err)
		}
	}
	boom := errors.New("boom")
	d, _ := NewDecoder(iotest.ErrReader(boom), Rate32, PackRFC3551)
	if _, err := io.ReadAll(d); !errors.Is(err, boom) {
		t.Fatalf("error not passed on: %v", err)
	}
}

// TestDecoderClamps checks that outputs beyond 16 bits saturate instead
// of wrapping: ADDB's sum, shifted to 16 bits, is clamped.
func TestDecoderClamps(t *testing.T) {
	s, _ := NewState(Rate40)
	shadow, _ := NewState(Rate40)
	clamped := 0
	for i := 0; i < 40; i++ {
		v := int(s.DecodeLinear(0x0F)) // largest positive 40 kbit/s code
		_, full, _, _ := shadow.decode(0x0F)
		if full<<2 > 32767 {
			clamped++
			if v != 32767 {
				t.Fatalf("sample %d: sum %d gives %d, want 32767", i, full<<2, v)
			}
		} else if v != full<<2 {
			t.Fatalf("sample %d: %d, want %d", i, v, full<<2)
		}
	}
	if clamped == 0 {
		t.Fatal("no sample exceeded the 16-bit range; the test does not exercise clamping")
	}
}

func TestBadRate(t *testing.T) {
	if _, err := NewState(Rate(33)); !errors.Is(err, ErrBadRate) {
		t.Fatalf("rate 33: %v", err)
	}
	if _, err := NewEncoder(io.Discard, 0, PackRFC3551); !errors.Is(err, ErrBadRate) {
		t.Fatalf("rate 0: %v", err)
	}
}

func ExampleNewEncoder() {
	var out bytes.Buffer
	e, _ := NewEncoder(&out, Rate32, PackRFC3551) // audio/32KADPCM
	e.Write(make([]byte, 2*8))                    // 8 samples of silence
	e.Close()
	fmt.Printf("%d octets: % x\n", out.Len(), out.Bytes())
	// Output: 4 octets: ff ff ff ff
}

func BenchmarkG726Encode(b *testing.B) {
	pcm := testPCM(8000)
	e, _ := NewEncoder(io.Discard, Rate32, PackRFC3551)
	b.SetBytes(int64(len(pcm)))
	for b.Loop() {
		e.Write(pcm)
	}
}

func BenchmarkG726Decode(b *testing.B) {
	enc := make([]byte, 4000)
	for i := range enc {
		enc[i] = byte(i * 13)
	}
	out := make([]byte, 16000)
	b.SetBytes(int64(len(out)))
	for b.Loop() {
		d, _ := NewDecoder(bytes.NewReader(enc), Rate32, PackRFC3551)
		io.ReadFull(d, out)
	}
}

// TestNoAllocs checks that Write and Read do not allocate per call.
func TestNoAllocs(t *testing.T) {
	pcm := testPCM(1000)
	e, _ := NewEncoder(io.Discard, Rate40, PackAAL2)
	if n := testing.AllocsPerRun(100, func() { e.Write(pcm) }); n != 0 {
		t.Errorf("Encoder.Write: %.1f allocations per call", n)
	}
	src := bytes.NewReader(make([]byte, 1000))
	d, _ := NewDecoder(src, Rate32, PackRFC3551)
	buf := make([]byte, 2000)
	if n := testing.AllocsPerRun(100, func() { src.Seek(0, io.SeekStart); io.ReadFull(d, buf) }); n != 0 {
		t.Errorf("Decoder.Read: %.1f allocations per call", n)
	}
}
