package codec

import (
	"errors"
	"fmt"
	"strings"
)

// Format names an audio format as used on the command line and in the
// configuration (DESIGN.md "transcode formats").
type Format string

// The formats. Reading accepts all of them; writing all but WAVG726.
const (
	Basic    Format = "basic"     // raw G.711 µ-law, 8 kHz mono (audio/basic)
	AU       Format = "au"        // Sun .snd header + µ-law
	ADPCM32  Format = "32kadpcm"  // G.726-32, RFC 3802 packing (audio/32KADPCM)
	G726_16  Format = "g726-16"   // raw G.726-16, RFC 3551 packing
	G726_24  Format = "g726-24"   // raw G.726-24, RFC 3551 packing
	G726_32  Format = "g726-32"   // raw G.726-32, RFC 3551 packing
	G726_40  Format = "g726-40"   // raw G.726-40, RFC 3551 packing
	WAVULaw  Format = "wav-ulaw"  // RIFF/WAVE, tag 0x0007
	WAVALaw  Format = "wav-alaw"  // RIFF/WAVE, tag 0x0006
	WAVPCM16 Format = "wav-pcm16" // RIFF/WAVE, tag 0x0001 (any PCM or float on input)
	WAVG726  Format = "wav-g726"  // RIFF/WAVE, tag 0x0045 or 0x0064 (read only)
	GSM      Format = "gsm"       // raw GSM 06.10, 33-byte frames
	WAVGSM   Format = "wav-gsm"   // RIFF/WAVE GSM 06.10, tag 0x0031 (WAV49)
	MP3      Format = "mp3"       // MPEG audio layer III (writing: mono 16 kHz 24 kbit/s)
	PCM16    Format = "pcm16"     // raw 16-bit little-endian PCM, 8 kHz mono
)

// formats lists every Format in documentation order (immutable).
var formats = []Format{Basic, AU, ADPCM32, G726_16, G726_24, G726_32, G726_40,
	WAVULaw, WAVALaw, WAVPCM16, WAVG726, GSM, WAVGSM, MP3, PCM16}

// Formats returns all known formats.
func Formats() []Format { return append([]Format(nil), formats...) }

var (
	// ErrUnknownFormat is returned for a format name or content that is
	// not recognised.
	ErrUnknownFormat = errors.New("codec: unknown audio format")
	// ErrUnsupported is returned for a conversion this build cannot do
	// (for example writing G.726 in WAV).
	ErrUnsupported = errors.New("codec: unsupported")
	// ErrNeedLength is returned by NewWriter for a WAV format when the
	// sample count is not given.
	ErrNeedLength = errors.New("codec: format needs the sample count up front")
	// ErrTooManySamples is returned by a Writer when more samples are
	// written than were declared to NewWriter.
	ErrTooManySamples = errors.New("codec: more samples written than declared")
)

// CorruptInputError reports input that cannot be decoded in format Format.
type CorruptInputError struct {
	Format Format
	Err    error
}

// Error implements error.
func (e *CorruptInputError) Error() string {
	return fmt.Sprintf("codec: corrupt %s input: %v", e.Format, e.Err)
}

// Unwrap returns the underlying error.
func (e *CorruptInputError) Unwrap() error { return e.Err }

// ParseFormat returns the Format named s (case-insensitive). A few common
// aliases are accepted: "ulaw"/"mulaw" for basic, "snd" for au, "wav" for
// wav-pcm16, "g726" and "g721" for g726-32, "wav49" for wav-gsm, "s16le"
// for pcm16.
func ParseFormat(s string) (Format, error) {
	f := Format(strings.ToLower(strings.TrimSpace(s)))
	for _, k := range formats {
		if f == k {
			return k, nil
		}
	}
	switch f {
	case "ulaw", "mulaw", "mu-law", "audio/basic":
		return Basic, nil
	case "snd":
		return AU, nil
	case "wav":
		return WAVPCM16, nil
	case "g726", "g721", "audio/32kadpcm":
		return G726_32, nil
	case "wav49":
		return WAVGSM, nil
	case "s16le":
		return PCM16, nil
	}
	return "", fmt.Errorf("%w: %q", ErrUnknownFormat, s)
}

// String returns the format name.
func (f Format) String() string { return string(f) }

// MediaType returns the MIME media type for a part in format f:
// audio/basic for basic and au, audio/32KADPCM (RFC 3802), audio/G726-16
// etc. (RFC 4856), audio/wav for the WAV formats, audio/x-gsm, audio/mpeg,
// and application/octet-stream for raw little-endian PCM, which has no
// registered type (audio/L16 is big-endian, RFC 2586).
func (f Format) MediaType() string {
	switch f {
	case Basic, AU:
		return "audio/basic"
	case ADPCM32:
		return "audio/32KADPCM"
	case G726_16:
		return "audio/G726-16"
	case G726_24:
		return "audio/G726-24"
	case G726_32:
		return "audio/G726-32"
	case G726_40:
		return "audio/G726-40"
	case WAVULaw, WAVALaw, WAVPCM16, WAVG726, WAVGSM:
		return "audio/wav"
	case GSM:
		return "audio/x-gsm"
	case MP3:
		return "audio/mpeg"
	}
	return "application/octet-stream"
}

// Ext returns a conventional file name extension including the dot.
func (f Format) Ext() string {
	switch f {
	case Basic, AU:
		return ".au"
	case ADPCM32, G726_16, G726_24, G726_32, G726_40:
		return ".726"
	case WAVULaw, WAVALaw, WAVPCM16, WAVG726, WAVGSM:
		return ".wav"
	case GSM:
		return ".gsm"
	case MP3:
		return ".mp3"
	}
	return ".raw"
}

// isContainer reports whether f carries its own header that Sniff finds.
func (f Format) isContainer() bool {
	switch f {
	case AU, WAVULaw, WAVALaw, WAVPCM16, WAVG726, WAVGSM:
		return true
	}
	return false
}

// isWAV reports whether f is one of the RIFF/WAVE formats.
func (f Format) isWAV() bool {
	switch f {
	case WAVULaw, WAVALaw, WAVPCM16, WAVG726, WAVGSM:
		return true
	}
	return false
}
