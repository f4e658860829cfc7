package wav

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// Format tags (wFormatTag) this project knows (RFC 2361 Appendix A and
// Microsoft mmreg.h).
const (
	TagPCM        uint16 = 0x0001 // WAVE_FORMAT_PCM
	TagFloat      uint16 = 0x0003 // WAVE_FORMAT_IEEE_FLOAT
	TagALaw       uint16 = 0x0006 // WAVE_FORMAT_ALAW
	TagULaw       uint16 = 0x0007 // WAVE_FORMAT_MULAW
	TagGSM610     uint16 = 0x0031 // WAVE_FORMAT_GSM610 (WAV49)
	TagG726       uint16 = 0x0045 // WAVE_FORMAT_G726_ADPCM as written by ffmpeg
	TagG726ADPCM  uint16 = 0x0064 // WAVE_FORMAT_G726_ADPCM (RFC 2361)
	TagExtensible uint16 = 0xFFFE // WAVE_FORMAT_EXTENSIBLE: real tag in the sub-format GUID
)

// Limits that reject nonsense headers before any sample is read.
const (
	MaxChannels   = 64
	MaxSampleRate = 768000
)

var (
	// ErrNotWAV means the stream does not start with RIFF....WAVE.
	ErrNotWAV = errors.New("wav: not a RIFF/WAVE stream")
	// ErrNoFmt means no usable fmt chunk was found before the data.
	ErrNoFmt = errors.New("wav: missing fmt chunk")
	// ErrNoData means the stream ended before a data chunk.
	ErrNoData = errors.New("wav: missing data chunk")
	// ErrBadFormat means the fmt chunk holds impossible values.
	ErrBadFormat = errors.New("wav: invalid fmt chunk")
	// ErrTruncated means the header ended in the middle of a chunk.
	ErrTruncated = errors.New("wav: truncated header")
	// ErrDataBeforeFmt means the data chunk precedes fmt in a stream
	// that cannot seek.
	ErrDataBeforeFmt = errors.New("wav: data chunk before fmt chunk in a non-seekable stream")
)

// Header describes a WAVE stream.
type Header struct {
	Tag           uint16 // format tag; for WAVE_FORMAT_EXTENSIBLE the sub-format tag
	Channels      int
	SampleRate    int
	ByteRate      int
	BlockAlign    int
	BitsPerSample int
	// DataSize is the length of the data chunk in bytes, or -1 when the
	// header gives no usable length (0 or 0xFFFFFFFF, as streaming
	// writers emit); the data then runs to the end of the stream.
	DataSize int64
	// FactSamples is the sample count per channel from the fact chunk,
	// or -1 when there is none.
	FactSamples int64
	// SamplesPerBlock is taken from the extra fmt bytes of GSM 6.10
	// (320 for WAV49), 0 otherwise.
	SamplesPerBlock int
}

// unknownSize is the RIFF convention for "size not known".
const unknownSize = 0xFFFFFFFF

// ReadHeader reads a RIFF/WAVE header from r and leaves r positioned at
// the first byte of the data chunk. If the data chunk comes before the
// fmt chunk, r must be an io.Seeker.
func ReadHeader(r io.Reader) (Header, error) {
	h := Header{DataSize: -1, FactSamples: -1}
	var riff [12]byte
	if _, err := io.ReadFull(r, riff[:]); err != nil {
		return h, fmt.Errorf("%w: %w", ErrNotWAV, err)
	}
	if string(riff[0:4]) != "RIFF" && string(riff[0:4]) != "RIFX" || string(riff[8:12]) != "WAVE" {
		return h, ErrNotWAV
	}
	if string(riff[0:4]) == "RIFX" {
		return h, fmt.Errorf("%w: big-endian RIFX is not supported", ErrBadFormat)
	}
	haveFmt := false
	dataPos := int64(-1) // offset of data when seen before fmt
	dataSize := int64(-1)
	pos := int64(12)
	var ch [8]byte
	for {
		if _, err := io.ReadFull(r, ch[:]); err != nil {
			if dataPos >= 0 {
				return h, ErrNoFmt
			}
			if haveFmt {
				return h, ErrNoData
			}
			return h, ErrNoFmt
		}
		pos += 8
		id := string(ch[0:4])
		size := int64(binary.LittleEndian.Uint32(ch[4:8]))
		switch id {
		case "fmt ":
			if err := readFmt(r, size, &h); err != nil {
				return h, err
			}
			haveFmt = true
			pos += size
			if size&1 == 1 {
				if err := skip(r, 1); err != nil {
					return h, err
				}
				pos++
			}
			if dataPos >= 0 {
				s := r.(io.Seeker) // checked when dataPos was set
				if _, err := s.Seek(dataPos, io.SeekStart); err != nil {
					return h, fmt.Errorf("wav: seek to data: %w", err)
				}
				setData(&h, dataSize)
				return h, validate(h)
			}
			continue
		case "data":
			if haveFmt {
				setData(&h, size)
				return h, validate(h)
			}
			s, ok := r.(io.Seeker)
			if !ok {
				return h, ErrDataBeforeFmt
			}
			if size == 0 || size == unknownSize {
				return h, ErrDataBeforeFmt
			}
			dataPos, dataSize = pos, size
			if _, err := s.Seek(size+size&1, io.SeekCurrent); err != nil {
				return h, fmt.Errorf("wav: seek past data: %w", err)
			}
			pos += size + size&1
			continue
		case "fact":
			if size >= 4 {
				var b [4]byte
				if _, err := io.ReadFull(r, b[:]); err != nil {
					return h, ErrTruncated
				}
				h.FactSamples = int64(binary.LittleEndian.Uint32(b[:]))
				if err := skip(r, size-4+size&1); err != nil {
					return h, err
				}
				pos += size + size&1
				continue
			}
		}
		if err := skip(r, size+size&1); err != nil {
			return h, err
		}
		pos += size + size&1
	}
}

func setData(h *Header, size int64) {
	if size == 0 || size == unknownSize {
		h.DataSize = -1
		return
	}
	h.DataSize = size
}

// skip discards n bytes without buffering them all.
func skip(r io.Reader, n int64) error {
	if n == 0 {
		return nil
	}
	if s, ok := r.(io.Seeker); ok {
		// Seeking past the end is legal; the next read then reports EOF.
		if _, err := s.Seek(n, io.SeekCurrent); err == nil {
			return nil
		}
	}
	m, err := io.CopyN(io.Discard, r, n)
	if m < n {
		if err == nil || err == io.EOF {
			return ErrTruncated
		}
		return fmt.Errorf("wav: %w", err)
	}
	return nil
}

// readFmt parses a fmt chunk of the given size (WAVEFORMATEX).
func readFmt(r io.Reader, size int64, h *Header) error {
	if size < 14 {
		return fmt.Errorf("%w: fmt chunk of %d bytes", ErrBadFormat, size)
	}
	var b [40]byte
	n := size
	if n > int64(len(b)) {
		n = int64(len(b))
	}
	if _, err := io.ReadFull(r, b[:n]); err != nil {
		return ErrTruncated
	}
	le := binary.LittleEndian
	h.Tag = le.Uint16(b[0:])
	h.Channels = int(le.Uint16(b[2:]))
	h.SampleRate = int(le.Uint32(b[4:]))
	h.ByteRate = int(le.Uint32(b[8:]))
	h.BlockAlign = int(le.Uint16(b[12:]))
	if n >= 16 {
		h.BitsPerSample = int(le.Uint16(b[14:]))
	}
	if n >= 18 {
		cb := int(le.Uint16(b[16:]))
		if h.Tag == TagGSM610 && cb >= 2 && n >= 20 {
			h.SamplesPerBlock = int(le.Uint16(b[18:]))
		}
		// WAVEFORMATEXTENSIBLE: cbSize 22, sub-format GUID at offset 24.
		if h.Tag == TagExtensible && cb >= 22 && n >= 26 {
			h.Tag = le.Uint16(b[24:])
		}
	}
	return skip(r, size-n)
}

// validate rejects headers whose values cannot describe real audio.
func validate(h Header) error {
	switch {
	case h.Channels <= 0 || h.Channels > MaxChannels:
		return fmt.Errorf("%w: %d channels", ErrBadFormat, h.Channels)
	case h.SampleRate <= 0 || h.SampleRate > MaxSampleRate:
		return fmt.Errorf("%w: sample rate %d Hz", ErrBadFormat, h.SampleRate)
	case h.BlockAlign <= 0:
		return fmt.Errorf("%w: block align %d", ErrBadFormat, h.BlockAlign)
	}
	switch h.Tag {
	case TagPCM:
		switch h.BitsPerSample {
		case 8, 16, 24, 32:
		default:
			return fmt.Errorf("%w: %d-bit PCM", ErrBadFormat, h.BitsPerSample)
		}
		if h.BlockAlign != h.Channels*h.BitsPerSample/8 {
			return fmt.Errorf("%w: block align %d for %d channels of %d bits", ErrBadFormat, h.BlockAlign, h.Channels, h.BitsPerSample)
		}
	case TagFloat:
		if h.BitsPerSample != 32 && h.BitsPerSample != 64 {
			return fmt.Errorf("%w: %d-bit float", ErrBadFormat, h.BitsPerSample)
		}
		if h.BlockAlign != h.Channels*h.BitsPerSample/8 {
			return fmt.Errorf("%w: block align %d for %d channels of %d bits", ErrBadFormat, h.BlockAlign, h.Channels, h.BitsPerSample)
		}
	case TagALaw, TagULaw:
		if h.BlockAlign != h.Channels {
			return fmt.Errorf("%w: block align %d for %d channels of G.711", ErrBadFormat, h.BlockAlign, h.Channels)
		}
	case TagG726, TagG726ADPCM:
		if h.BitsPerSample < 2 || h.BitsPerSample > 5 {
			return fmt.Errorf("%w: G.726 with %d bits per sample", ErrBadFormat, h.BitsPerSample)
		}
	case TagGSM610:
		if h.BlockAlign != 65 {
			return fmt.Errorf("%w: GSM 6.10 block align %d, want 65", ErrBadFormat, h.BlockAlign)
		}
	}
	return nil
}

// WriteHeader writes a canonical header for data of dataSize bytes (known
// up front, so the writer never seeks). Supported tags are TagPCM (16 bit),
// TagULaw and TagALaw (8 bit) and TagGSM610 (WAV49, 65-byte blocks of 320
// samples); channels must be 1 or more. samples is the per-channel sample
// count for the fact chunk written for non-PCM tags. The caller writes
// the dataSize bytes of data, then one zero pad byte when dataSize is odd
// (RIFF chunks have even length; the RIFF size written here counts it).
func WriteHeader(w io.Writer, tag uint16, channels, rate int, dataSize, samples int64) error {
	var bits, align, cb, extra int
	switch tag {
	case TagPCM:
		bits, align = 16, 2*channels
	case TagULaw, TagALaw:
		bits, align, cb = 8, channels, 0
		extra = 2
	case TagGSM610:
		bits, align, cb = 0, 65, 2
		extra = 4
	default:
		return fmt.Errorf("%w: cannot write tag %#04x", ErrBadFormat, tag)
	}
	if channels <= 0 || channels > MaxChannels || rate <= 0 || rate > MaxSampleRate {
		return fmt.Errorf("%w: %d channels at %d Hz", ErrBadFormat, channels, rate)
	}
	fmtSize := 16 + extra
	hasFact := tag != TagPCM
	headerLen := 12 + 8 + fmtSize + 8
	if hasFact {
		headerLen += 12
	}
	riffSize := int64(headerLen-8) + dataSize + dataSize&1
	if dataSize < 0 || riffSize > 0xFFFFFFFF-1 {
		return fmt.Errorf("%w: data size %d does not fit RIFF", ErrBadFormat, dataSize)
	}
	byteRate := rate * align
	if tag == TagGSM610 {
		byteRate = rate * 65 / 320
	}
	var b [60]byte
	le := binary.LittleEndian
	copy(b[0:], "RIFF")
	le.PutUint32(b[4:], uint32(riffSize))
	copy(b[8:], "WAVEfmt ")
	le.PutUint32(b[16:], uint32(fmtSize))
	le.PutUint16(b[20:], tag)
	le.PutUint16(b[22:], uint16(channels))
	le.PutUint32(b[24:], uint32(rate))
	le.PutUint32(b[28:], uint32(byteRate))
	le.PutUint16(b[32:], uint16(align))
	le.PutUint16(b[34:], uint16(bits))
	o := 36
	if extra > 0 {
		le.PutUint16(b[o:], uint16(cb))
		o += 2
		if tag == TagGSM610 {
			le.PutUint16(b[o:], 320)
			o += 2
		}
	}
	if hasFact {
		copy(b[o:], "fact")
		le.PutUint32(b[o+4:], 4)
		le.PutUint32(b[o+8:], uint32(samples))
		o += 12
	}
	copy(b[o:], "data")
	le.PutUint32(b[o+4:], uint32(dataSize))
	o += 8
	if _, err := w.Write(b[:o]); err != nil {
		return fmt.Errorf("wav: %w", err)
	}
	return nil
}
