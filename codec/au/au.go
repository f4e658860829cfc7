package au

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// Magic is the first four bytes of a Sun audio file.
const Magic = ".snd"

// Encodings (audio_filehdr(4) AUDIO_FILE_ENCODING_*).
const (
	EncULaw    uint32 = 1  // 8-bit ISDN µ-law (G.711)
	EncPCM8    uint32 = 2  // 8-bit linear
	EncPCM16   uint32 = 3  // 16-bit linear, big-endian
	EncPCM24   uint32 = 4  // 24-bit linear, big-endian
	EncPCM32   uint32 = 5  // 32-bit linear, big-endian
	EncFloat   uint32 = 6  // 32-bit IEEE float, big-endian
	EncDouble  uint32 = 7  // 64-bit IEEE float, big-endian
	EncG721    uint32 = 23 // 4-bit G.721 ADPCM (G.726-32), first code in the low nibble
	EncALaw    uint32 = 27 // 8-bit ISDN A-law (G.711)
	HeaderSize        = 24 // minimum header length
)

// UnknownSize is the data size value meaning "until end of file".
const UnknownSize uint32 = 0xFFFFFFFF

// Limits that reject nonsense headers.
const (
	MaxChannels   = 64
	MaxSampleRate = 768000
	// MaxDataOffset bounds the annotation that ReadHeader skips.
	MaxDataOffset = 1 << 20
)

var (
	// ErrNotAU means the stream does not start with ".snd".
	ErrNotAU = errors.New("au: not a Sun audio stream")
	// ErrBadHeader means the header holds impossible values.
	ErrBadHeader = errors.New("au: invalid header")
	// ErrTruncated means the stream ended inside the header.
	ErrTruncated = errors.New("au: truncated header")
)

// Header is a Sun audio file header.
type Header struct {
	DataOffset uint32 // offset of the sample data, >= 24
	DataSize   uint32 // bytes of sample data, or UnknownSize
	Encoding   uint32
	SampleRate int
	Channels   int
}

// ReadHeader reads a header from r and leaves r at the first data byte.
func ReadHeader(r io.Reader) (Header, error) {
	var b [HeaderSize]byte
	var h Header
	if _, err := io.ReadFull(r, b[:]); err != nil {
		if string(b[:4]) == Magic {
			return h, ErrTruncated
		}
		return h, fmt.Errorf("%w: %w", ErrNotAU, err)
	}
	if string(b[:4]) != Magic {
		return h, ErrNotAU
	}
	be := binary.BigEndian
	h.DataOffset = be.Uint32(b[4:])
	h.DataSize = be.Uint32(b[8:])
	h.Encoding = be.Uint32(b[12:])
	rate := be.Uint32(b[16:])
	ch := be.Uint32(b[20:])
	switch {
	case h.DataOffset < HeaderSize || h.DataOffset > MaxDataOffset:
		return h, fmt.Errorf("%w: data offset %d", ErrBadHeader, h.DataOffset)
	case rate == 0 || rate > MaxSampleRate:
		return h, fmt.Errorf("%w: sample rate %d Hz", ErrBadHeader, rate)
	case ch == 0 || ch > MaxChannels:
		return h, fmt.Errorf("%w: %d channels", ErrBadHeader, ch)
	}
	h.SampleRate, h.Channels = int(rate), int(ch)
	if n := int64(h.DataOffset) - HeaderSize; n > 0 {
		m, err := io.CopyN(io.Discard, r, n)
		if m < n {
			if err == nil || err == io.EOF {
				return h, ErrTruncated
			}
			return h, fmt.Errorf("au: %w", err)
		}
	}
	return h, nil
}

// WriteHeader writes a 24-byte header (no annotation) for mono or
// multi-channel data of the given encoding; dataSize may be UnknownSize.
func WriteHeader(w io.Writer, enc uint32, rate, channels int, dataSize uint32) error {
	if rate <= 0 || rate > MaxSampleRate || channels <= 0 || channels > MaxChannels {
		return fmt.Errorf("%w: %d channels at %d Hz", ErrBadHeader, channels, rate)
	}
	var b [HeaderSize]byte
	be := binary.BigEndian
	copy(b[:], Magic)
	be.PutUint32(b[4:], HeaderSize)
	be.PutUint32(b[8:], dataSize)
	be.PutUint32(b[12:], enc)
	be.PutUint32(b[16:], uint32(rate))
	be.PutUint32(b[20:], uint32(channels))
	if _, err := w.Write(b[:]); err != nil {
		return fmt.Errorf("au: %w", err)
	}
	return nil
}
