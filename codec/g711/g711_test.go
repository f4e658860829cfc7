package g711

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"
	"testing/iotest"

	"github.com/vpim-milter/vpim-milter/internal/shareddata"
)

// readWords reads an STL file of 16-bit little-endian words.
func readWords(t *testing.T, path string) []uint16 {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	w := make([]uint16, len(b)/2)
	for i := range w {
		w[i] = binary.LittleEndian.Uint16(b[2*i:])
	}
	return w
}

// TestSTLSweep checks all 65536 linear inputs against the ITU-T STL G.711
// sweep (encode, decode, and encode+decode) for both laws.
func TestSTLSweep(t *testing.T) {
	dir := shareddata.Path(t, "vectors/itu-stl/g711")
	src := readWords(t, filepath.Join(dir, "sweep.src"))
	if len(src) != 65536 {
		t.Fatalf("sweep.src has %d words, want 65536", len(src))
	}
	for _, tc := range []struct {
		law              Law
		enc, dec, encdec string
	}{
		{ULaw, "sweep-r.u", "sweep-r.u-u", "sweep-r.reu"},
		{ALaw, "sweep-r.a", "sweep-r.a-a", "sweep-r.rea"},
	} {
		t.Run(tc.law.String(), func(t *testing.T) {
			enc := readWords(t, filepath.Join(dir, tc.enc))
			dec := readWords(t, filepath.Join(dir, tc.dec))
			ed := readWords(t, filepath.Join(dir, tc.encdec))
			bad := 0
			for i, s := range src {
				c := tc.law.Encode(int16(s))
				if uint16(c) != enc[i] {
					if bad < 5 {
						t.Errorf("encode %d: got %#02x want %#02x", int16(s), c, enc[i])
					}
					bad++
				}
				if got := uint16(tc.law.Decode(byte(enc[i]))); got != dec[i] {
					if bad < 5 {
						t.Errorf("decode %#02x: got %d want %d", enc[i], int16(got), int16(dec[i]))
					}
					bad++
				}
				if got := uint16(tc.law.Decode(c)); got != ed[i] {
					if bad < 5 {
						t.Errorf("enc+dec %d: got %d want %d", int16(s), int16(got), int16(ed[i]))
					}
					bad++
				}
			}
			if bad != 0 {
				t.Fatalf("%d mismatches against the STL sweep", bad)
			}
			// The same sweep through the streaming Encoder (the bulk path:
			// SIMD blocks on amd64, the table elsewhere and for tails).
			pcm := make([]byte, 2*len(src))
			for i, s := range src {
				binary.LittleEndian.PutUint16(pcm[2*i:], s)
			}
			var out bytes.Buffer
			e := NewEncoder(&out, tc.law)
			if _, err := e.Write(pcm[:2*1001+1]); err != nil { // odd split: carry and tails
				t.Fatal(err)
			}
			if _, err := e.Write(pcm[2*1001+1:]); err != nil {
				t.Fatal(err)
			}
			for i, c := range out.Bytes() {
				if uint16(c) != enc[i] {
					t.Fatalf("stream encode %d (#%d): got %#02x want %#02x", int16(src[i]), i, c, enc[i])
				}
			}
			if out.Len() != len(src) {
				t.Fatalf("stream encoded %d codes, want %d", out.Len(), len(src))
			}
		})
	}
}

// TestKnownCodes pins a few values independent of the vectors.
func TestKnownCodes(t *testing.T) {
	for _, tc := range []struct {
		law  Law
		in   int16
		code byte
		out  int16
	}{
		{ULaw, 0, 0xFF, 0},
		{ULaw, -1, 0x7F, 0},
		{ULaw, 32767, 0x80, 32124},
		{ULaw, -32768, 0x00, -32124},
		{ULaw, 1000, 0xCE, 988},
		{ALaw, 0, 0xD5, 8},
		{ALaw, -1, 0x55, -8},
		{ALaw, 32767, 0xAA, 32256},
		{ALaw, -32768, 0x2A, -32256},
	} {
		if c := tc.law.Encode(tc.in); c != tc.code {
			t.Errorf("%v encode %d = %#02x, want %#02x", tc.law, tc.in, c, tc.code)
		}
		if o := tc.law.Decode(tc.code); o != tc.out {
			t.Errorf("%v decode %#02x = %d, want %d", tc.law, tc.code, o, tc.out)
		}
	}
}

func pcmRamp(n int) []byte {
	b := make([]byte, 2*n)
	for i := 0; i < n; i++ {
		binary.LittleEndian.PutUint16(b[2*i:], uint16(int16(i*37-20000)))
	}
	return b
}

// TestEncoderSplitWrites feeds the encoder input split at every offset.
func TestEncoderSplitWrites(t *testing.T) {
	pcm := pcmRamp(1000)
	want := make([]byte, 1000)
	for i := range want {
		want[i] = EncodeULaw(int16(binary.LittleEndian.Uint16(pcm[2*i:])))
	}
	for split := 0; split <= len(pcm); split += 7 {
		var buf bytes.Buffer
		e := NewEncoder(&buf, ULaw)
		if _, err := e.Write(pcm[:split]); err != nil {
			t.Fatal(err)
		}
		if _, err := e.Write(pcm[split:]); err != nil {
			t.Fatal(err)
		}
		if err := e.Close(); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(buf.Bytes(), want) {
			t.Fatalf("split %d: output differs", split)
		}
	}
	e := NewEncoder(io.Discard, ULaw)
	e.Close()
	if _, err := e.Write([]byte{1, 2}); !errors.Is(err, ErrClosed) {
		t.Fatalf("write after close: %v", err)
	}
}

// TestDecoderReaders runs the decoder through the testing/iotest readers.
func TestDecoderReaders(t *testing.T) {
	codes := make([]byte, 5000)
	for i := range codes {
		codes[i] = byte(i * 7)
	}
	want := make([]byte, 2*len(codes))
	for i, c := range codes {
		binary.LittleEndian.PutUint16(want[2*i:], uint16(DecodeALaw(c)))
	}
	for name, mk := range map[string]func(io.Reader) io.Reader{
		"plain":   func(r io.Reader) io.Reader { return r },
		"onebyte": iotest.OneByteReader,
		"half":    iotest.HalfReader,
		"dataerr": iotest.DataErrReader,
	} {
		t.Run(name, func(t *testing.T) {
			got, err := io.ReadAll(iotest.OneByteReader(NewDecoder(mk(bytes.NewReader(codes)), ALaw)))
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, want) {
				t.Fatalf("decoded %d bytes, differs from expected %d", len(got), len(want))
			}
		})
	}
	if err := iotest.TestReader(NewDecoder(bytes.NewReader(codes), ALaw), want); err != nil {
		t.Fatal(err)
	}
}

func TestDecoderError(t *testing.T) {
	boom := errors.New("boom")
	_, err := io.ReadAll(NewDecoder(iotest.ErrReader(boom), ULaw))
	if !errors.Is(err, boom) {
		t.Fatalf("got %v, want wrapped boom", err)
	}
}

func BenchmarkULawEncode(b *testing.B) {
	pcm := pcmRamp(8000)
	e := NewEncoder(io.Discard, ULaw)
	b.SetBytes(int64(len(pcm)))
	for b.Loop() {
		e.Write(pcm)
	}
}

func BenchmarkULawDecode(b *testing.B) {
	codes := make([]byte, 8000)
	out := make([]byte, 16000)
	b.SetBytes(int64(len(out)))
	for b.Loop() {
		d := NewDecoder(bytes.NewReader(codes), ULaw)
		io.ReadFull(d, out)
	}
}

// TestNoAllocs checks that Write and Read do not allocate per call.
func TestNoAllocs(t *testing.T) {
	pcm := pcmRamp(1000)
	e := NewEncoder(io.Discard, ALaw)
	if n := testing.AllocsPerRun(100, func() { e.Write(pcm) }); n != 0 {
		t.Errorf("Encoder.Write: %.1f allocations per call", n)
	}
	src := bytes.NewReader(make([]byte, 1000))
	d := NewDecoder(src, ULaw)
	buf := make([]byte, 2000)
	if n := testing.AllocsPerRun(100, func() { src.Seek(0, io.SeekStart); io.ReadFull(d, buf) }); n != 0 {
		t.Errorf("Decoder.Read: %.1f allocations per call", n)
	}
}

// TestEncodeTables checks that the 14-bit encoding tables give the code
// of the full 16-bit encoder for every sample (the two dropped bits never
// matter).
func TestEncodeTables(t *testing.T) {
	for v := -32768; v <= 32767; v++ {
		if got, want := EncodeULaw(int16(v)), ulawEncode(v); got != want {
			t.Fatalf("EncodeULaw(%d) = %#02x, want %#02x", v, got, want)
		}
		if got, want := EncodeALaw(int16(v)), alawEncode(v); got != want {
			t.Fatalf("EncodeALaw(%d) = %#02x, want %#02x", v, got, want)
		}
	}
}
