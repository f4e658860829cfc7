package au

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"testing"
)

func hdr(off, size, enc, rate, ch uint32, extra ...byte) []byte {
	b := []byte(Magic)
	for _, v := range []uint32{off, size, enc, rate, ch} {
		b = binary.BigEndian.AppendUint32(b, v)
	}
	return append(b, extra...)
}

func TestReadHeader(t *testing.T) {
	for _, tc := range []struct {
		name    string
		in      []byte
		want    Header
		rest    string
		wantErr error
	}{
		{name: "plain", in: hdr(24, 3, EncULaw, 8000, 1, 'a', 'b', 'c'),
			want: Header{DataOffset: 24, DataSize: 3, Encoding: EncULaw, SampleRate: 8000, Channels: 1}, rest: "abc"},
		{name: "annotation", in: hdr(32, UnknownSize, EncPCM16, 44100, 2, []byte("SoX\x00\x00\x00\x00\x00xy")...),
			want: Header{DataOffset: 32, DataSize: UnknownSize, Encoding: EncPCM16, SampleRate: 44100, Channels: 2}, rest: "xy"},
		{name: "not au", in: []byte("RIFF...."), wantErr: ErrNotAU},
		{name: "empty", in: nil, wantErr: ErrNotAU},
		{name: "short", in: hdr(24, 3, EncULaw, 8000, 1)[:10], wantErr: ErrTruncated},
		{name: "offset too small", in: hdr(8, 3, EncULaw, 8000, 1), wantErr: ErrBadHeader},
		{name: "offset 2^31", in: hdr(1<<31, 3, EncULaw, 8000, 1), wantErr: ErrBadHeader},
		{name: "offset beyond end", in: hdr(1000, 3, EncULaw, 8000, 1), wantErr: ErrTruncated},
		{name: "zero channels", in: hdr(24, 3, EncULaw, 8000, 0), wantErr: ErrBadHeader},
		{name: "1 GHz", in: hdr(24, 3, EncULaw, 1e9, 1), wantErr: ErrBadHeader},
		{name: "zero rate", in: hdr(24, 3, EncULaw, 0, 1), wantErr: ErrBadHeader},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := bytes.NewReader(tc.in)
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
				t.Fatalf("got %+v want %+v", h, tc.want)
			}
			rest, _ := io.ReadAll(r)
			if string(rest) != tc.rest {
				t.Fatalf("rest %q", rest)
			}
		})
	}
}

func TestWriteHeader(t *testing.T) {
	var buf bytes.Buffer
	if err := WriteHeader(&buf, EncULaw, 8000, 1, 16000); err != nil {
		t.Fatal(err)
	}
	want := hdr(24, 16000, EncULaw, 8000, 1)
	if !bytes.Equal(buf.Bytes(), want) {
		t.Fatalf("% x\n% x", buf.Bytes(), want)
	}
	if err := WriteHeader(io.Discard, EncULaw, 0, 1, 0); !errors.Is(err, ErrBadHeader) {
		t.Fatalf("rate 0: %v", err)
	}
}

func FuzzAU(f *testing.F) {
	f.Add(hdr(24, 3, EncULaw, 8000, 1, 1, 2, 3))
	f.Add(hdr(40, UnknownSize, EncG721, 8000, 1))
	f.Add(hdr(1<<31, 3, EncALaw, 8000, 1))
	f.Fuzz(func(t *testing.T, b []byte) {
		h, err := ReadHeader(bytes.NewReader(b))
		if err != nil {
			return
		}
		if h.DataOffset < HeaderSize || h.DataOffset > MaxDataOffset || h.Channels <= 0 || h.SampleRate <= 0 || h.SampleRate > MaxSampleRate {
			t.Fatalf("accepted %+v", h)
		}
	})
}

func ExampleReadHeader() {
	var buf bytes.Buffer
	WriteHeader(&buf, EncULaw, 8000, 1, 2)
	buf.Write([]byte{0xFF, 0xFF})
	h, err := ReadHeader(&buf)
	fmt.Println(err, h.Encoding == EncULaw, h.SampleRate, h.DataSize, buf.Len())
	// Output: <nil> true 8000 2 2
}
