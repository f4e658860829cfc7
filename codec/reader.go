package codec

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"

	"github.com/vpim-milter/vpim-milter/codec/au"
	"github.com/vpim-milter/vpim-milter/codec/g711"
	"github.com/vpim-milter/vpim-milter/codec/g726"
	"github.com/vpim-milter/vpim-milter/codec/gsm"
	"github.com/vpim-milter/vpim-milter/codec/mp3"
	"github.com/vpim-milter/vpim-milter/codec/resample"
	"github.com/vpim-milter/vpim-milter/codec/wav"
)

// gsmInBuf is the read size towards the input for the GSM decoder, which
// reads one 33- or 65-byte frame per call: one system call per 64 KiB
// instead of one per frame.
const gsmInBuf = 64 << 10

// Rate is the sample rate of the PCM that Reader produces and Writer takes.
const Rate = 8000

// Reader decodes audio to 8 kHz mono 16-bit little-endian PCM. It
// implements io.Reader.
type Reader struct {
	r        io.Reader
	format   Format
	rate     int
	channels int
	samples  int64 // known output length, or -1
}

// Format returns the input format actually decoded (after sniffing).
func (r *Reader) Format() Format { return r.format }

// InputRate returns the sample rate of the input before resampling.
func (r *Reader) InputRate() int { return r.rate }

// InputChannels returns the channel count of the input before downmixing.
func (r *Reader) InputChannels() int { return r.channels }

// Samples returns the number of samples the Reader will produce, when
// that is known without decoding: the input is a regular file (so its size
// is known and cannot lie), the format has a fixed bit rate and no
// resampling is needed. Otherwise it returns -1.
func (r *Reader) Samples() int64 { return r.samples }

// Read implements io.Reader. Errors other than io.EOF are wrapped in a
// *CorruptInputError or come from the underlying reader.
func (r *Reader) Read(p []byte) (int, error) { return r.r.Read(p) }

// NewReader returns a Reader decoding src in format from. With from == ""
// the format is sniffed from the first bytes. A container signature (WAV,
// .snd) found in the bytes wins over a raw format given in from, and an
// MP3 or another container wins over a container label, because mail
// labels lie (an audio/basic part may carry a .snd header, an audio/wav
// part may be MP3). The WAV formats all read any WAV the package supports,
// whatever the tag.
func NewReader(src io.Reader, from Format) (*Reader, error) {
	var head [SniffLen]byte
	n, err := io.ReadFull(src, head[:])
	if err != nil && err != io.ErrUnexpectedEOF && err != io.EOF {
		return nil, fmt.Errorf("codec: reading input: %w", err)
	}
	detected := Sniff(head[:n])
	// Rewind a seekable source (WAV data before fmt and the known-length
	// path need it); otherwise put the sniffed bytes back in front.
	rewound := false
	if s, ok := src.(io.Seeker); ok {
		_, err := s.Seek(int64(-n), io.SeekCurrent)
		rewound = err == nil
	}
	if !rewound {
		src = io.MultiReader(bytes.NewReader(bytes.Clone(head[:n])), src)
	}
	switch {
	case from == "":
		if detected == "" && n >= 12 && string(head[0:4]) == "RIFF" && string(head[8:12]) == "WAVE" {
			// A WAVE whose format tag we do not know: let the WAV
			// reader name the tag in its error.
			detected = WAVPCM16
		}
		if detected == "" {
			return nil, fmt.Errorf("%w: no known signature in the first %d bytes", ErrUnknownFormat, n)
		}
		from = detected
	case detected.isContainer() && !from.isContainer():
		from = detected
	case detected == AU && from.isWAV(), detected.isWAV() && from == AU,
		detected == MP3 && from.isContainer():
		from = detected
	}
	rd := &Reader{format: from, rate: Rate, channels: 1, samples: -1}
	if err := rd.build(src); err != nil {
		return nil, err
	}
	return rd, nil
}

func corrupt(f Format, err error) error { return &CorruptInputError{Format: f, Err: err} }

// build sets up the decoding chain for r.format.
func (rd *Reader) build(src io.Reader) error {
	var pcm io.Reader
	switch f := rd.format; f {
	case Basic:
		pcm = g711.NewDecoder(src, g711.ULaw)
		rd.setSamples(remaining(src), 1)
	case PCM16:
		pcm = src
		rd.setSamples(remaining(src), 2)
	case ADPCM32, G726_16, G726_24, G726_32, G726_40:
		d, err := g726.NewDecoder(src, f.g726Rate(), g726.PackRFC3551)
		if err != nil {
			return err
		}
		pcm = d
		if n := remaining(src); n >= 0 {
			rd.samples = n * 8 / int64(f.g726Rate().Bits())
		}
	case GSM:
		pcm = gsm.NewDecoder(bufio.NewReaderSize(src, gsmInBuf), false)
		if n := remaining(src); n >= 0 {
			rd.samples = n / 33 * 160
		}
	case MP3:
		d, rate, ch, err := mp3.NewReader(src)
		if err != nil {
			if errors.Is(err, ErrUnsupported) {
				return err
			}
			return corrupt(f, err)
		}
		pcm, rd.rate, rd.channels = d, rate, ch
	case AU:
		d, err := rd.auDecoder(src)
		if err != nil {
			return err
		}
		pcm = d
	case WAVULaw, WAVALaw, WAVPCM16, WAVG726, WAVGSM:
		d, err := rd.wavDecoder(src)
		if err != nil {
			return err
		}
		pcm = d
	default:
		return fmt.Errorf("%w: %q", ErrUnknownFormat, string(f))
	}
	switch {
	case rd.rate == Rate && rd.channels == 1:
	case rd.rate == Rate:
		pcm = newDownmixReader(pcm, rd.channels)
	default:
		rd.samples = -1 // the resampler decides the exact length
		r, err := resample.NewReader(pcm, rd.rate, rd.channels)
		if err != nil {
			return err
		}
		pcm = r
	}
	rd.r = &errReader{r: pcm, f: rd.format}
	return nil
}

// errReader wraps decode errors (not io.EOF) in a CorruptInputError.
type errReader struct {
	r io.Reader
	f Format
}

func (e *errReader) Read(p []byte) (int, error) {
	n, err := e.r.Read(p)
	if err != nil && err != io.EOF && !errors.Is(err, context.Canceled) && !errors.Is(err, context.DeadlineExceeded) {
		// The end of a context the source honours (a deadline) is not
		// corrupt input: it passes as it is.
		var ce *CorruptInputError
		if !errors.As(err, &ce) {
			err = corrupt(e.f, err)
		}
	}
	return n, err
}

func (f Format) g726Rate() g726.Rate {
	switch f {
	case G726_16:
		return g726.Rate16
	case G726_24:
		return g726.Rate24
	case G726_40:
		return g726.Rate40
	}
	return g726.Rate32
}

// auDecoder parses a Sun header and returns the sample decoder.
func (rd *Reader) auDecoder(src io.Reader) (io.Reader, error) {
	h, err := au.ReadHeader(src)
	if err != nil {
		return nil, corrupt(AU, err)
	}
	rd.rate, rd.channels = h.SampleRate, h.Channels
	claimed := int64(-1)
	if h.DataSize != au.UnknownSize {
		claimed = int64(h.DataSize)
	}
	size := payload(src, claimed)
	if h.DataSize != au.UnknownSize {
		src = io.LimitReader(src, int64(h.DataSize))
	}
	if w := auWidth(h.Encoding); w > 0 {
		rd.setSamples(size, w*h.Channels)
	} else if h.Encoding == au.EncG721 && size >= 0 {
		rd.samples = size * 2
	}
	switch h.Encoding {
	case au.EncULaw:
		return g711.NewDecoder(src, g711.ULaw), nil
	case au.EncALaw:
		return g711.NewDecoder(src, g711.ALaw), nil
	case au.EncPCM8:
		return newPCMReader(src, kindS8), nil
	case au.EncPCM16:
		return newPCMReader(src, kindS16BE), nil
	case au.EncPCM24:
		return newPCMReader(src, kindS24BE), nil
	case au.EncPCM32:
		return newPCMReader(src, kindS32BE), nil
	case au.EncFloat:
		return newPCMReader(src, kindF32BE), nil
	case au.EncDouble:
		return newPCMReader(src, kindF64BE), nil
	case au.EncG721:
		if h.Channels != 1 {
			return nil, fmt.Errorf("%w: G.721 .au with %d channels", ErrUnsupported, h.Channels)
		}
		// libsndfile writes the first code in the low nibble.
		d, err := g726.NewDecoder(src, g726.Rate32, g726.PackRFC3551)
		if err != nil {
			return nil, err
		}
		return d, nil
	}
	return nil, fmt.Errorf("%w: .au encoding %d", ErrUnsupported, h.Encoding)
}

// auWidth returns the bytes per sample of linear and G.711 encodings.
func auWidth(enc uint32) int {
	switch enc {
	case au.EncULaw, au.EncALaw, au.EncPCM8:
		return 1
	case au.EncPCM16:
		return 2
	case au.EncPCM24:
		return 3
	case au.EncPCM32, au.EncFloat:
		return 4
	case au.EncDouble:
		return 8
	}
	return 0
}

// wavDecoder parses a RIFF/WAVE header and returns the sample decoder.
func (rd *Reader) wavDecoder(src io.Reader) (io.Reader, error) {
	h, err := wav.ReadHeader(src)
	if err != nil {
		return nil, corrupt(rd.format, err)
	}
	rd.rate, rd.channels = h.SampleRate, h.Channels
	size := payload(src, h.DataSize)
	if h.DataSize >= 0 {
		src = io.LimitReader(src, h.DataSize)
	}
	switch h.Tag {
	case wav.TagPCM, wav.TagFloat, wav.TagULaw, wav.TagALaw:
		rd.setSamples(size, h.BlockAlign)
	case wav.TagG726, wav.TagG726ADPCM:
		if size >= 0 && h.Channels == 1 {
			rd.samples = size * 8 / int64(h.BitsPerSample)
		}
	case wav.TagGSM610:
		if size >= 0 {
			rd.samples = size / 65 * 320
			if h.FactSamples >= 0 && h.FactSamples < rd.samples {
				rd.samples = h.FactSamples
			}
		}
	}
	switch h.Tag {
	case wav.TagPCM:
		rd.format = WAVPCM16
		switch h.BitsPerSample {
		case 8:
			return newPCMReader(src, kindU8), nil
		case 16:
			return src, nil
		case 24:
			return newPCMReader(src, kindS24LE), nil
		}
		return newPCMReader(src, kindS32LE), nil
	case wav.TagFloat:
		rd.format = WAVPCM16
		if h.BitsPerSample == 64 {
			return newPCMReader(src, kindF64LE), nil
		}
		return newPCMReader(src, kindF32LE), nil
	case wav.TagULaw:
		rd.format = WAVULaw
		return g711.NewDecoder(src, g711.ULaw), nil
	case wav.TagALaw:
		rd.format = WAVALaw
		return g711.NewDecoder(src, g711.ALaw), nil
	case wav.TagG726, wav.TagG726ADPCM:
		rd.format = WAVG726
		if h.Channels != 1 {
			return nil, fmt.Errorf("%w: G.726 WAV with %d channels", ErrUnsupported, h.Channels)
		}
		// ffmpeg, the common producer, packs G.726 in WAV in AAL2 order
		// (first code in the most significant bits).
		d, err := g726.NewDecoder(src, g726.Rate(8*h.BitsPerSample), g726.PackAAL2)
		if err != nil {
			return nil, corrupt(WAVG726, err)
		}
		return d, nil
	case wav.TagGSM610:
		rd.format = WAVGSM
		if h.Channels != 1 {
			return nil, fmt.Errorf("%w: GSM WAV with %d channels", ErrUnsupported, h.Channels)
		}
		var d io.Reader = gsm.NewDecoder(bufio.NewReaderSize(src, gsmInBuf), true)
		// WAV49 pads the last block; the fact chunk has the true length.
		if h.FactSamples >= 0 {
			d = io.LimitReader(d, 2*h.FactSamples)
		}
		return d, nil
	}
	return nil, fmt.Errorf("%w: WAV format tag %#04x", ErrUnsupported, h.Tag)
}

// setSamples records the output length for n payload bytes of frame bytes
// each (n < 0: unknown).
func (rd *Reader) setSamples(n int64, frame int) {
	if n >= 0 && frame > 0 {
		rd.samples = n / int64(frame)
	}
}

// remaining returns the bytes left in src when it is a regular file, else -1.
func remaining(src io.Reader) int64 {
	f, ok := src.(interface {
		io.Seeker
		Stat() (fs.FileInfo, error)
	})
	if !ok {
		return -1
	}
	st, err := f.Stat()
	if err != nil || !st.Mode().IsRegular() {
		return -1
	}
	pos, err := f.Seek(0, io.SeekCurrent)
	if err != nil || pos > st.Size() {
		return -1
	}
	return st.Size() - pos
}

// payload returns the usable data length: the claimed size capped by the
// bytes actually left in a regular file; -1 when the file size is unknown.
func payload(src io.Reader, claimed int64) int64 {
	n := remaining(src)
	if n < 0 {
		return -1
	}
	if claimed >= 0 && claimed < n {
		return claimed
	}
	return n
}
