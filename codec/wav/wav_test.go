package wav

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"testing"
)

// chunk builds a RIFF chunk with a claimed size (which may lie) and body.
func chunk(id string, size uint32, body []byte) []byte {
	b := []byte(id)
	b = binary.LittleEndian.AppendUint32(b, size)
	return append(b, body...)
}

func fmtBody(tag uint16, ch uint16, rate uint32, align, bits uint16, extra ...byte) []byte {
	b := binary.LittleEndian.AppendUint16(nil, tag)
	b = binary.LittleEndian.AppendUint16(b, ch)
	b = binary.LittleEndian.AppendUint32(b, rate)
	b = binary.LittleEndian.AppendUint32(b, rate*uint32(align))
	b = binary.LittleEndian.AppendUint16(b, align)
	b = binary.LittleEndian.AppendUint16(b, bits)
	return append(b, extra...)
}

func fmtChunk(body []byte) []byte { return chunk("fmt ", uint32(len(body)), body) }

func riff(chunks ...[]byte) []byte {
	b := []byte("RIFF\x00\x00\x00\x00WAVE")
	for _, c := range chunks {
		b = append(b, c...)
	}
	binary.LittleEndian.PutUint32(b[4:], uint32(len(b)-8))
	return b
}

var (
	pcm16  = fmtBody(TagPCM, 1, 8000, 2, 16)
	ulaw18 = fmtBody(TagULaw, 1, 8000, 1, 8, 0, 0)
	data4  = chunk("data", 4, []byte{1, 2, 3, 4})
)

// nonSeeker hides Seek so the streaming path is tested.
type nonSeeker struct{ io.Reader }

func TestReadHeader(t *testing.T) {
	gsmFmt := fmtBody(TagGSM610, 1, 8000, 65, 0, 2, 0, 0x40, 0x01)
	ext := fmtBody(TagExtensible, 2, 44100, 4, 16, 22, 0, 16, 0, 3, 0, 0, 0,
		0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x10, 0x00, 0x80, 0x00, 0x00, 0xAA, 0x00, 0x38, 0x9B, 0x71)
	for _, tc := range []struct {
		name    string
		in      []byte
		seek    bool
		want    Header
		rest    string // bytes left at data start (prefix)
		wantErr error
	}{
		{name: "canonical", in: riff(fmtChunk(pcm16), data4),
			want: Header{Tag: TagPCM, Channels: 1, SampleRate: 8000, ByteRate: 16000, BlockAlign: 2, BitsPerSample: 16, DataSize: 4, FactSamples: -1}, rest: "\x01\x02"},
		{name: "fact and LIST before fmt", in: riff(chunk("LIST", 5, []byte("abcde\x00")), chunk("fact", 4, []byte{9, 0, 0, 0}), fmtChunk(ulaw18), data4),
			want: Header{Tag: TagULaw, Channels: 1, SampleRate: 8000, ByteRate: 8000, BlockAlign: 1, BitsPerSample: 8, DataSize: 4, FactSamples: 9}, rest: "\x01"},
		{name: "odd fmt with pad", in: riff(chunk("fmt ", 17, append(fmtBody(TagALaw, 1, 8000, 1, 8, 0), 0)), data4),
			want: Header{Tag: TagALaw, Channels: 1, SampleRate: 8000, ByteRate: 8000, BlockAlign: 1, BitsPerSample: 8, DataSize: 4, FactSamples: -1}, rest: "\x01"},
		{name: "gsm wav49", in: riff(fmtChunk(gsmFmt), chunk("fact", 4, []byte{0x40, 1, 0, 0}), data4),
			want: Header{Tag: TagGSM610, Channels: 1, SampleRate: 8000, ByteRate: 520000, BlockAlign: 65, DataSize: 4, FactSamples: 320, SamplesPerBlock: 320}},
		{name: "extensible pcm", in: riff(fmtChunk(ext), data4),
			want: Header{Tag: TagPCM, Channels: 2, SampleRate: 44100, ByteRate: 176400, BlockAlign: 4, BitsPerSample: 16, DataSize: 4, FactSamples: -1}, rest: "\x01\x02\x03\x04"},
		{name: "streaming size", in: riff(fmtChunk(pcm16), chunk("data", 0xFFFFFFFF, []byte{1, 2})),
			want: Header{Tag: TagPCM, Channels: 1, SampleRate: 8000, ByteRate: 16000, BlockAlign: 2, BitsPerSample: 16, DataSize: -1, FactSamples: -1}},
		{name: "data before fmt, seekable", seek: true, in: riff(data4, fmtChunk(pcm16)),
			want: Header{Tag: TagPCM, Channels: 1, SampleRate: 8000, ByteRate: 16000, BlockAlign: 2, BitsPerSample: 16, DataSize: 4, FactSamples: -1}, rest: "\x01\x02\x03\x04"},
		{name: "data before fmt, stream", in: riff(data4, fmtChunk(pcm16)), wantErr: ErrDataBeforeFmt},
		{name: "not riff", in: []byte("RIFX\x00\x00\x00\x00WAVE"), wantErr: ErrBadFormat},
		{name: "not wave", in: []byte("RIFF\x00\x00\x00\x00AVI "), wantErr: ErrNotWAV},
		{name: "empty", in: nil, wantErr: ErrNotWAV},
		{name: "no fmt", in: riff(data4), wantErr: ErrDataBeforeFmt},
		{name: "no data", in: riff(fmtChunk(pcm16)), wantErr: ErrNoData},
		{name: "zero channels", in: riff(fmtChunk(fmtBody(TagPCM, 0, 8000, 2, 16)), data4), wantErr: ErrBadFormat},
		{name: "1 GHz", in: riff(fmtChunk(fmtBody(TagPCM, 1, 1e9, 2, 16)), data4), wantErr: ErrBadFormat},
		{name: "zero rate", in: riff(fmtChunk(fmtBody(TagPCM, 1, 0, 2, 16)), data4), wantErr: ErrBadFormat},
		{name: "bad block align", in: riff(fmtChunk(fmtBody(TagPCM, 2, 8000, 2, 16)), data4), wantErr: ErrBadFormat},
		{name: "12-bit pcm", in: riff(fmtChunk(fmtBody(TagPCM, 1, 8000, 2, 12)), data4), wantErr: ErrBadFormat},
		{name: "short fmt", in: riff(chunk("fmt ", 10, make([]byte, 10)), data4), wantErr: ErrBadFormat},
		{name: "fmt size 2^31", in: riff(chunk("fmt ", 1<<31, pcm16), data4), wantErr: ErrTruncated},
		{name: "fmt size 2^32-1", in: riff(chunk("fmt ", 0xFFFFFFFF, pcm16)), wantErr: ErrTruncated},
		{name: "LIST size 2^31", in: riff(chunk("LIST", 1<<31, []byte("xx")), fmtChunk(pcm16), data4), wantErr: ErrTruncated},
		{name: "truncated fmt", in: riff(fmtChunk(pcm16))[:30], wantErr: ErrTruncated},
		{name: "truncated fact", in: riff(chunk("fact", 4, []byte{1})), wantErr: ErrTruncated},
		{name: "data size 2^31 (lie)", in: riff(fmtChunk(pcm16), chunk("data", 1<<31, []byte{1, 2})),
			want: Header{Tag: TagPCM, Channels: 1, SampleRate: 8000, ByteRate: 16000, BlockAlign: 2, BitsPerSample: 16, DataSize: 1 << 31, FactSamples: -1}},
		{name: "g726 5 bits", in: riff(fmtChunk(fmtBody(TagG726, 1, 8000, 1, 5, 0, 0)), data4),
			want: Header{Tag: TagG726, Channels: 1, SampleRate: 8000, ByteRate: 8000, BlockAlign: 1, BitsPerSample: 5, DataSize: 4, FactSamples: -1}},
		{name: "g726 8 bits", in: riff(fmtChunk(fmtBody(TagG726ADPCM, 1, 8000, 1, 8, 0, 0)), data4), wantErr: ErrBadFormat},
		{name: "gsm bad align", in: riff(fmtChunk(fmtBody(TagGSM610, 1, 8000, 33, 0)), data4), wantErr: ErrBadFormat},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var r io.Reader = nonSeeker{bytes.NewReader(tc.in)}
			if tc.seek {
				r = bytes.NewReader(tc.in)
			}
			h, err := ReadHeader(r)
			if tc.wantErr != nil {
				if !errors.Is(err, tc.wantErr) {
					t.Fatalf("error %v, want %v", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if h != tc.want {
				t.Fatalf("header\n got %+v\nwant %+v", h, tc.want)
			}
			rest := make([]byte, len(tc.rest))
			io.ReadFull(r, rest)
			if string(rest) != tc.rest {
				t.Fatalf("data starts % x, want % x", rest, tc.rest)
			}
		})
	}
}

// TestNoAllocFromClaimedSize checks that a header claiming 4 GiB chunks
// does not make ReadHeader allocate in proportion.
func TestNoAllocFromClaimedSize(t *testing.T) {
	in := riff(chunk("LIST", 0xFFFFFFF0, []byte("xx")))
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	for i := 0; i < 10; i++ {
		ReadHeader(nonSeeker{bytes.NewReader(in)})
	}
	runtime.ReadMemStats(&after)
	if d := after.TotalAlloc - before.TotalAlloc; d > 1<<20 {
		t.Fatalf("allocated %d bytes for 10 lying headers", d)
	}
}

// TestWriteHeaderGolden compares written headers with golden files.
func TestWriteHeaderGolden(t *testing.T) {
	for _, tc := range []struct {
		name          string
		tag           uint16
		size, samples int64
	}{
		{"ulaw", TagULaw, 8001, 8001},
		{"alaw", TagALaw, 16000, 16000},
		{"pcm16", TagPCM, 32000, 16000},
		{"gsm", TagGSM610, 650, 3200},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var buf bytes.Buffer
			if err := WriteHeader(&buf, tc.tag, 1, 8000, tc.size, tc.samples); err != nil {
				t.Fatal(err)
			}
			golden := filepath.Join("testdata", tc.name+".header.golden")
			if os.Getenv("UPDATE_GOLDEN") == "1" {
				os.WriteFile(golden, buf.Bytes(), 0o644)
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(buf.Bytes(), want) {
				t.Fatalf("header differs from %s:\n% x\n% x", golden, buf.Bytes(), want)
			}
			// And it must read back.
			h, err := ReadHeader(bytes.NewReader(append(buf.Bytes(), make([]byte, tc.size)...)))
			if err != nil {
				t.Fatal(err)
			}
			if h.Tag != tc.tag || h.DataSize != tc.size || h.SampleRate != 8000 || h.Channels != 1 {
				t.Fatalf("read back %+v", h)
			}
			if tc.tag != TagPCM && h.FactSamples != tc.samples {
				t.Fatalf("fact %d, want %d", h.FactSamples, tc.samples)
			}
		})
	}
	if err := WriteHeader(io.Discard, TagFloat, 1, 8000, 4, 1); !errors.Is(err, ErrBadFormat) {
		t.Fatalf("float: %v", err)
	}
	if err := WriteHeader(io.Discard, TagPCM, 1, 8000, 1<<32, 1); !errors.Is(err, ErrBadFormat) {
		t.Fatalf("4 GiB: %v", err)
	}
}

func FuzzWAVHeader(f *testing.F) {
	f.Add(riff(fmtChunk(pcm16), data4))
	f.Add(riff(chunk("fact", 4, []byte{9, 0, 0, 0}), fmtChunk(ulaw18), data4))
	f.Add(riff(data4, fmtChunk(pcm16)))
	f.Add(riff(chunk("fmt ", 1<<31, pcm16)))
	f.Fuzz(func(t *testing.T, b []byte) {
		for _, r := range []io.Reader{bytes.NewReader(b), nonSeeker{bytes.NewReader(b)}} {
			h, err := ReadHeader(r)
			if err != nil {
				continue
			}
			if h.Channels <= 0 || h.Channels > MaxChannels || h.SampleRate <= 0 || h.SampleRate > MaxSampleRate || h.BlockAlign <= 0 {
				t.Fatalf("accepted invalid header %+v", h)
			}
		}
	})
}
