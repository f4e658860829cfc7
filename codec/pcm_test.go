package codec

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"math"
	"testing"
	"testing/iotest"

	"github.com/vpim-milter/vpim-milter/codec/au"
	"github.com/vpim-milter/vpim-milter/codec/wav"
)

// makeWAV builds a WAV with an arbitrary fmt and data (and a LIST chunk
// in front of fmt, to exercise chunk skipping).
func makeWAV(tag uint16, ch, rate, bits, align int, data []byte) []byte {
	le := binary.LittleEndian
	b := []byte("RIFF\x00\x00\x00\x00WAVELIST\x03\x00\x00\x00abc\x00fmt \x10\x00\x00\x00")
	b = le.AppendUint16(b, tag)
	b = le.AppendUint16(b, uint16(ch))
	b = le.AppendUint32(b, uint32(rate))
	b = le.AppendUint32(b, uint32(rate*align))
	b = le.AppendUint16(b, uint16(align))
	b = le.AppendUint16(b, uint16(bits))
	b = append(b, "data"...)
	b = le.AppendUint32(b, uint32(len(data)))
	b = append(b, data...)
	if len(data)%2 == 1 {
		b = append(b, 0)
	}
	le.PutUint32(b[4:], uint32(len(b)-8))
	return b
}

func makeAU(enc uint32, ch int, data []byte) []byte {
	var buf bytes.Buffer
	au.WriteHeader(&buf, enc, 8000, ch, uint32(len(data)))
	buf.Write(data)
	return buf.Bytes()
}

func f32le(v ...float32) []byte {
	var b []byte
	for _, x := range v {
		b = binary.LittleEndian.AppendUint32(b, math.Float32bits(x))
	}
	return b
}

func f64be(v ...float64) []byte {
	var b []byte
	for _, x := range v {
		b = binary.BigEndian.AppendUint64(b, math.Float64bits(x))
	}
	return b
}

// TestDecodeSampleFormats checks exact output for every linear sample
// format of WAV and AU, G.711 in both containers and the stereo downmix.
func TestDecodeSampleFormats(t *testing.T) {
	for _, tc := range []struct {
		name string
		in   []byte
		want []int16
	}{
		{"wav u8", makeWAV(wav.TagPCM, 1, 8000, 8, 1, []byte{0x80, 0xFF, 0x00}), []int16{0, 127 << 8, -32768}},
		{"wav s16", makeWAV(wav.TagPCM, 1, 8000, 16, 2, []byte{0x34, 0x12, 0xFF, 0xFF}), []int16{0x1234, -1}},
		{"wav s24", makeWAV(wav.TagPCM, 1, 8000, 24, 3, []byte{0xAA, 0x34, 0x12, 0x00, 0x00, 0x80}), []int16{0x1234, -32768}},
		{"wav s32", makeWAV(wav.TagPCM, 1, 8000, 32, 4, []byte{0, 0xAA, 0x34, 0x12}), []int16{0x1234}},
		{"wav f32", makeWAV(wav.TagFloat, 1, 8000, 32, 4, f32le(0.5, -1, 2, -0.25)), []int16{16384, -32768, 32767, -8192}},
		{"wav stereo downmix", makeWAV(wav.TagPCM, 2, 8000, 16, 4, []byte{100, 0, 200, 0, 0xFF, 0x7F, 0xFF, 0x7F}), []int16{150, 32767}},
		{"wav u-law", makeWAV(wav.TagULaw, 1, 8000, 8, 1, []byte{0xFF, 0xCE, 0x80}), []int16{0, 988, 32124}},
		{"wav a-law", makeWAV(wav.TagALaw, 1, 8000, 8, 1, []byte{0xD5, 0xAA}), []int16{8, 32256}},
		{"au s8", makeAU(au.EncPCM8, 1, []byte{0x7F, 0x80}), []int16{127 << 8, -32768}},
		{"au s16be", makeAU(au.EncPCM16, 1, []byte{0x12, 0x34}), []int16{0x1234}},
		{"au s24be", makeAU(au.EncPCM24, 1, []byte{0x12, 0x34, 0x56}), []int16{0x1234}},
		{"au s32be", makeAU(au.EncPCM32, 1, []byte{0x12, 0x34, 0x56, 0x78}), []int16{0x1234}},
		{"au f64be", makeAU(au.EncDouble, 1, f64be(0.5, math.NaN())), []int16{16384, 0}},
		{"au a-law stereo", makeAU(au.EncALaw, 2, []byte{0xD5, 0x55}), []int16{0}},
		{"au u-law, data size shorter than file", append(makeAU(au.EncULaw, 1, []byte{0xCE}), 0xFF, 0xFF), []int16{988}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, err := NewReader(iotest.OneByteReader(bytes.NewReader(tc.in)), "")
			if err != nil {
				t.Fatal(err)
			}
			out, err := io.ReadAll(r)
			if err != nil {
				t.Fatal(err)
			}
			got := samplesOf(out)
			if len(got) != len(tc.want) {
				t.Fatalf("got %v, want %v", got, tc.want)
			}
			for i := range got {
				if got[i] != tc.want[i] {
					t.Fatalf("got %v, want %v", got, tc.want)
				}
			}
		})
	}
}

// TestDecodeErrors checks clear, typed errors for broken input.
func TestDecodeErrors(t *testing.T) {
	for _, tc := range []struct {
		name string
		in   []byte
		from Format
		want error
	}{
		{"wav zero channels", makeWAV(wav.TagPCM, 0, 8000, 16, 2, nil), "", wav.ErrBadFormat},
		{"wav 1 GHz", makeWAV(wav.TagPCM, 1, 1e9, 16, 2, nil), "", wav.ErrBadFormat},
		{"wav unknown tag", makeWAV(0x0011, 1, 8000, 4, 256, nil), "", ErrUnsupported},
		{"wav truncated", makeWAV(wav.TagPCM, 1, 8000, 16, 2, nil)[:40], WAVPCM16, wav.ErrTruncated},
		{"au bad offset", []byte(".snd\x00\x00\x00\x04\x00\x00\x00\x00\x00\x00\x00\x01\x00\x00\x1f\x40\x00\x00\x00\x01"), "", au.ErrBadHeader},
		{"au unknown encoding", makeAU(99, 1, nil), "", ErrUnsupported},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := NewReader(bytes.NewReader(tc.in), tc.from)
			if tc.want == nil {
				if err != nil && !errors.Is(err, ErrUnsupported) {
					t.Fatalf("unexpected error %v", err)
				}
				return
			}
			if !errors.Is(err, tc.want) {
				t.Fatalf("error %v, want %v", err, tc.want)
			}
			var ce *CorruptInputError
			if !errors.Is(tc.want, ErrUnsupported) && !errors.As(err, &ce) {
				t.Fatalf("error %v is not a *CorruptInputError", err)
			}
		})
	}
}
