package profile

import (
	"errors"
	"io"

	"github.com/vpim-milter/vpim-milter/codec"
)

// ErrNoVoice is returned by OpenVoice when the voice part is gone.
var ErrNoVoice = errors.New("profile: message has no audio part")

// Voice is the part of a message the telephony bridge plays: the voice
// message the evaluation chose (Report.Voice), recognised by its label or
// by its bytes (an Asterisk WAV sent as application/octet-stream is one).
type Voice struct {
	// Path is the part's position in Part.Path numbering: "" for a
	// single-part message, "2", "1.3", ...
	Path string
	// MediaType is the part's media type in lower case, e.g. "audio/32kadpcm".
	MediaType string

	format string
	part   *Part
}

// Format is the codec format the evaluation found the audio to be
// ("wav-ulaw", "basic", "32kadpcm", "mp3", ...), or "" when the codec does
// not know it (the bridge then sniffs, and refuses what it cannot play).
func (v Voice) Format() string {
	if _, err := codec.ParseFormat(v.format); err != nil {
		return ""
	}
	return v.format
}

// OpenVoice returns the bytes of the voice part v of in (Report.Voice of
// the evaluation of in), with the transfer encoding removed. The reader
// streams from in.Body; it is valid until in.Body is read again.
func OpenVoice(in *Input, v *Voice) (io.Reader, error) {
	if v == nil || v.part == nil {
		return nil, ErrNoVoice
	}
	r, err := section(in.Body, v.part.BodyStart, v.part.End)
	if err != nil {
		return nil, err
	}
	return transferDecoder(v.part, &bodyErr{r: r}), nil
}
