package codec

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/vpim-milter/vpim-milter/internal/optfield"
)

// FieldError is one invalid option, named by its field path in Options.
// Options.Validate returns them joined.
type FieldError = optfield.Error

// Options are the limits of a Transcoder ([codec] in the configuration).
type Options struct {
	// MaxDuration is the longest audio a Transcoder converts; longer
	// audio is refused (the profile engine then passes the part on
	// unchanged with a finding). Zero: one hour.
	MaxDuration time.Duration
	// TempDir is where a conversion spools decoded PCM whose length the
	// output's header needs before the audio (WAV, AU and MP3 from a
	// source of unknown length): up to MaxDuration of 16-bit 8 kHz PCM
	// (57.6 MB for an hour) per conversion in progress. "" is
	// os.TempDir(); the daemon sets milter.temp_dir, the directory the
	// operator sized for message bodies.
	TempDir string
}

// WithDefaults returns a copy of o with zero values replaced by the
// defaults; it is the one place they are written down.
func (o Options) WithDefaults() Options {
	if o.MaxDuration == 0 {
		o.MaxDuration = time.Hour
	}
	return o
}

// Validate reports every invalid option as *FieldError values joined with
// errors.Join. Call it on WithDefaults() for zero values to mean the
// defaults (NewTranscoder does).
func (o Options) Validate() error {
	var errs optfield.List
	optfield.Positive(&errs, "MaxDuration", o.MaxDuration, `a duration such as "1h"`)
	return errs.Err()
}

// Transcoder converts audio named by format names, within the limits of
// its Options. It is the codec as the profile engine sees it
// (profile.AudioCodec). It is immutable and safe for concurrent use.
type Transcoder struct {
	opts Options
}

// NewTranscoder returns a Transcoder for o (zero values take the defaults).
func NewTranscoder(o Options) (*Transcoder, error) {
	o = o.WithDefaults()
	if err := o.Validate(); err != nil {
		return nil, fmt.Errorf("codec: invalid options: %w", err)
	}
	return &Transcoder{opts: o}, nil
}

// Sniff names the format of the data starting with head ("" if unknown).
func (t *Transcoder) Sniff(head []byte) string { return string(Sniff(head)) }

// MaxDuration is the longest audio Transcode converts (Options.MaxDuration),
// so that a caller can tell in advance that longer audio will be refused.
func (t *Transcoder) MaxDuration() time.Duration { return t.opts.MaxDuration }

// Transcode converts src from format from ("" sniffs it) to format to (a
// Format name, or "mp3-NN" for MP3 at NN kbit/s, one of MP3Bitrates) and
// returns the number of 8 kHz samples. Audio longer than MaxDuration is
// refused with an error wrapping ErrTooLong as soon as the decoder passes
// the limit (before decoding anything when the length is known), so a
// short file that decodes to hours costs no more than MaxDuration of
// decoding.
func (t *Transcoder) Transcode(dst io.Writer, to string, src io.Reader, from string) (int64, error) {
	return t.TranscodeContext(context.Background(), dst, to, src, from)
}

// TranscodeContext is Transcode that also stops when ctx ends (see the
// package function TranscodeContext): an evaluation deadline bounds the
// decoding whatever the input.
func (t *Transcoder) TranscodeContext(ctx context.Context, dst io.Writer, to string, src io.Reader, from string) (int64, error) {
	out, err := parseOutput(to)
	if err != nil {
		return 0, err
	}
	var ff Format
	if from != "" {
		if ff, err = ParseFormat(from); err != nil {
			return 0, err
		}
	}
	n, err := transcode(ctx, dst, out, src, ff, t.MaxSamples(), t.opts.TempDir)
	if errors.Is(err, ErrTooLong) {
		return n, fmt.Errorf("%w of %s (max_duration)", err, t.opts.MaxDuration)
	}
	return n, err
}

// MaxSamples is MaxDuration in 8 kHz samples.
func (t *Transcoder) MaxSamples() int64 {
	return int64(t.opts.MaxDuration / time.Second * Rate)
}
