package codec

import (
	"fmt"
	"io"

	"github.com/vpim-milter/vpim-milter/codec/au"
	"github.com/vpim-milter/vpim-milter/codec/g711"
	"github.com/vpim-milter/vpim-milter/codec/g726"
	"github.com/vpim-milter/vpim-milter/codec/gsm"
	"github.com/vpim-milter/vpim-milter/codec/mp3"
	"github.com/vpim-milter/vpim-milter/codec/resample"
	"github.com/vpim-milter/vpim-milter/codec/wav"
)

// NewWriter returns a writer that takes 8 kHz mono PCM16LE and writes it
// to dst in format to. samples is the total number of samples that will
// be written; the WAV formats need it for their header (ErrNeedLength
// when it is -1), AU writes the "unknown size" marker 0xFFFFFFFF for -1.
// MP3 (NewMP3Writer with default options) uses the count for its Info
// frame. When samples is given, writing more returns ErrTooManySamples and
// Close pads a shorter stream with silence, so the header never lies. Close
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
	case MP3:
		e, err := NewMP3Writer(dst, samples, MP3Options{})
		if err != nil {
			return nil, err
		}
		enc = e
	case WAVG726:
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

// MP3Options tunes the MP3 writer; the zero value is the default, 24
// kbit/s at 16 kHz.
type MP3Options struct {
	// Bitrate in kbit/s, constant: 16 to 64 in steps of 8 (from 32 at
	// 32 kHz and up). 0 means 24.
	Bitrate int
	// SampleRate of the MP3 stream; the 8 kHz PCM is up-sampled to it.
	// 0 means 16000, the lowest rate of MPEG-2, which every decoder
	// plays; 8000 writes MPEG-2.5 without resampling (not every player
	// takes it).
	SampleRate int
}

// NewMP3Writer is NewWriter for MP3 with options. The stream is mono
// constant-bit-rate Layer III with an Info frame whose gapless fields
// make decoders return exactly samples samples (or, with -1, what was
// written plus less than a frame); nothing above 3.8 kHz is coded, since
// the input is telephone audio.
func NewMP3Writer(dst io.Writer, samples int64, o MP3Options) (io.WriteCloser, error) {
	if samples < -1 {
		return nil, fmt.Errorf("codec: negative sample count %d", samples)
	}
	if o.SampleRate == 0 {
		o.SampleRate = mp3.DefaultSampleRate
	}
	if o.SampleRate < Rate {
		return nil, fmt.Errorf("%w: MP3 at %d Hz", ErrUnsupported, o.SampleRate)
	}
	n := samples
	if n > 0 {
		n = (samples*int64(o.SampleRate) + Rate - 1) / Rate
	}
	enc, err := mp3.NewWriter(dst, n, mp3.Options{SampleRate: o.SampleRate, Bitrate: o.Bitrate, Lowpass: min(mp3VoiceBand, o.SampleRate/2)})
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrUnsupported, err)
	}
	if o.SampleRate == Rate {
		return enc, nil
	}
	up, err := resample.NewUpWriter(enc, o.SampleRate)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrUnsupported, err)
	}
	return &chainCloser{WriteCloser: up, next: enc}, nil
}

// mp3VoiceBand is the MP3 writer's lowpass in Hz: the 8 kHz input has
// nothing above 4 kHz, and the up-sampler is 6 dB down at 3.8 kHz.
const mp3VoiceBand = 3800

// chainCloser closes its writer, then the next one it feeds.
type chainCloser struct {
	io.WriteCloser
	next io.Closer
}

func (c *chainCloser) Close() error {
	if err := c.WriteCloser.Close(); err != nil {
		return err
	}
	return c.next.Close()
}
