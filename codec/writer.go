package codec

import (
	"fmt"
	"io"

	"github.com/vpim-milter/vpim-milter/codec/au"
	"github.com/vpim-milter/vpim-milter/codec/g711"
	"github.com/vpim-milter/vpim-milter/codec/g726"
	"github.com/vpim-milter/vpim-milter/codec/gsm"
	"github.com/vpim-milter/vpim-milter/codec/wav"
)

// NewWriter returns a writer that takes 8 kHz mono PCM16LE and writes it
// to dst in format to. samples is the total number of samples that will
// be written; the WAV formats need it for their header (ErrNeedLength
// when it is -1), AU writes the "unknown size" marker 0xFFFFFFFF for -1.
// When samples is given, writing more returns ErrTooManySamples and Close
// pads a shorter stream with silence, so the header never lies. Close
// flushes partial code groups; it does not close dst.
func NewWriter(dst io.Writer, to Format, samples int64) (io.WriteCloser, error) {
	if samples < -1 {
		return nil, fmt.Errorf("codec: negative sample count %d", samples)
	}
	var enc io.WriteCloser
	switch to {
	case Basic:
		enc = g711.NewEncoder(dst, g711.ULaw)
	case PCM16:
		enc = nopCloser{dst}
	case ADPCM32, G726_16, G726_24, G726_32, G726_40:
		e, err := g726.NewEncoder(dst, to.g726Rate(), g726.PackRFC3551)
		if err != nil {
			return nil, err
		}
		enc = e
	case GSM:
		enc = gsm.NewEncoder(dst, false)
	case AU:
		size := au.UnknownSize
		if samples >= 0 {
			if samples >= int64(au.UnknownSize) {
				return nil, fmt.Errorf("codec: %d samples do not fit an .au header", samples)
			}
			size = uint32(samples)
		}
		if err := au.WriteHeader(dst, au.EncULaw, Rate, 1, size); err != nil {
			return nil, err
		}
		enc = g711.NewEncoder(dst, g711.ULaw)
	case WAVULaw, WAVALaw, WAVPCM16, WAVGSM:
		if samples < 0 {
			return nil, fmt.Errorf("%w: %s", ErrNeedLength, to)
		}
		var tag uint16
		var size int64
		switch to {
		case WAVULaw:
			tag, size = wav.TagULaw, samples
		case WAVALaw:
			tag, size = wav.TagALaw, samples
		case WAVPCM16:
			tag, size = wav.TagPCM, 2*samples
		case WAVGSM:
			tag, size = wav.TagGSM610, (samples+319)/320*65
		}
		if to == WAVGSM {
			enc = gsm.NewEncoder(dst, true)
		}
		if err := wav.WriteHeader(dst, tag, 1, Rate, size, samples); err != nil {
			return nil, err
		}
		switch to {
		case WAVULaw:
			enc = g711.NewEncoder(dst, g711.ULaw)
		case WAVALaw:
			enc = g711.NewEncoder(dst, g711.ALaw)
		case WAVPCM16:
			enc = nopCloser{dst}
		}
		if size&1 == 1 {
			// RIFF chunks are padded to an even length.
			enc = &padCloser{WriteCloser: enc, dst: dst}
		}
	case WAVG726, MP3:
		return nil, fmt.Errorf("%w: writing %s", ErrUnsupported, to)
	default:
		return nil, fmt.Errorf("%w: %q", ErrUnknownFormat, string(to))
	}
	if samples < 0 {
		return enc, nil
	}
	return &countWriter{w: enc, left: 2 * samples}, nil
}

type nopCloser struct{ io.Writer }

func (nopCloser) Close() error { return nil }

// padCloser writes the RIFF pad byte after the data chunk on Close.
type padCloser struct {
	io.WriteCloser
	dst io.Writer
}

func (p *padCloser) Close() error {
	if err := p.WriteCloser.Close(); err != nil {
		return err
	}
	if _, err := p.dst.Write([]byte{0}); err != nil {
		return fmt.Errorf("codec: %w", err)
	}
	return nil
}

// countWriter enforces the declared length: it refuses extra samples and
// pads missing ones with silence on Close.
type countWriter struct {
	w      io.WriteCloser
	left   int64 // PCM bytes still expected
	closed bool
	zero   [512]byte
}

func (c *countWriter) Write(p []byte) (int, error) {
	if int64(len(p)) > c.left {
		n, err := c.w.Write(p[:c.left])
		c.left -= int64(n)
		if err != nil {
			return n, err
		}
		return n, ErrTooManySamples
	}
	n, err := c.w.Write(p)
	c.left -= int64(n)
	return n, err
}

func (c *countWriter) Close() error {
	if c.closed {
		return nil
	}
	c.closed = true
	for c.left > 0 {
		n := int64(len(c.zero))
		if n > c.left {
			n = c.left
		}
		if _, err := c.w.Write(c.zero[:n]); err != nil {
			return err
		}
		c.left -= n
	}
	return c.w.Close()
}
