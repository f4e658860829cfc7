package codec

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
	"strings"
)

// ErrTooLong is returned, wrapped, when audio runs past the limit a
// conversion was given (Transcoder's MaxDuration).
var ErrTooLong = errors.New("codec: audio longer than the limit")

// needsLength reports whether writing f wants the sample count up front.
func (f Format) needsLength() bool {
	return f.isWAV() || f == AU || f == MP3
}

// Transcode decodes src (format from, "" to sniff) and writes it to dst
// in format to, returning the number of 8 kHz samples written. For
// formats that carry the length in their header (WAV, AU, and MP3's Info
// frame, which gapless decoders trim by) the decoded
// PCM is first spooled to a temporary file, so memory stays bounded
// whatever the duration, unless Reader.Samples knows the length up front
// (a regular file in a fixed-rate format at 8 kHz).
func Transcode(dst io.Writer, to Format, src io.Reader, from Format) (samples int64, err error) {
	return transcode(context.Background(), dst, output{f: to}, src, from, -1, "")
}

// TranscodeContext is Transcode that stops when ctx ends, with ctx's
// error. The decoding loop checks ctx after every copyBuf bytes of PCM
// (8 s of audio), so however slow a decoder is and whatever the input
// claims, a deadline is honoured within the time it takes to decode 8 s.
// On an error dst may hold part of the output.
func TranscodeContext(ctx context.Context, dst io.Writer, to Format, src io.Reader, from Format) (samples int64, err error) {
	return transcode(ctx, dst, output{f: to}, src, from, -1, "")
}

// output is what a conversion writes: a format, and for MP3 the writer's
// options (the zero value: NewWriter's defaults).
type output struct {
	f   Format
	mp3 MP3Options
}

// writer is NewWriter for o.
func (o output) writer(dst io.Writer, samples int64) (io.WriteCloser, error) {
	if o.f == MP3 && o.mp3 != (MP3Options{}) {
		w, err := NewMP3Writer(dst, samples, o.mp3)
		if err != nil {
			return nil, err
		}
		if samples < 0 {
			return w, nil
		}
		return &countWriter{w: w, left: 2 * samples}, nil
	}
	return NewWriter(dst, o.f, samples)
}

// parseOutput reads an output format name: a Format (ParseFormat), or
// "mp3-NN", MP3 at NN kbit/s (one of MP3Bitrates).
func parseOutput(s string) (output, error) {
	if rest, ok := strings.CutPrefix(strings.ToLower(strings.TrimSpace(s)), "mp3-"); ok {
		kbps, err := strconv.Atoi(rest)
		if err != nil || !slices.Contains(MP3Bitrates(), kbps) {
			return output{}, fmt.Errorf("%w: %q (MP3 bit rates: %v kbit/s)", ErrUnknownFormat, s, MP3Bitrates())
		}
		return output{f: MP3, mp3: MP3Options{Bitrate: kbps}}, nil
	}
	f, err := ParseFormat(s)
	return output{f: f}, err
}

// MP3Bitrates lists the constant bit rates, in kbit/s, of the MP3 the
// writer makes from 8 kHz voice (MPEG-2 Layer III at 16 kHz, mono): 16 to
// 64 in steps of 8. A Transcoder writes MP3 at one of them for the format
// name "mp3-NN" ("mp3" alone is 24 kbit/s, mp3.DefaultBitrate).
func MP3Bitrates() []int { return []int{16, 24, 32, 40, 48, 56, 64} }

// transcode is Transcode with a context and a limit: more than max
// samples (max >= 0) end the conversion with ErrTooLong as soon as the
// decoder has produced sample max+1, or before any decoding when the
// length is known up front. dst then holds at most max+1 samples.
// PCM that must be counted before the output's header is written is
// spooled in tempDir ("" = os.TempDir()).
func transcode(ctx context.Context, dst io.Writer, out output, src io.Reader, from Format, max int64, tempDir string) (samples int64, err error) {
	to := out.f
	r, err := NewReader(src, from)
	if err != nil {
		return 0, err
	}
	if samples := r.Samples(); max >= 0 && samples > max {
		return 0, ErrTooLong
	}
	limit := func(r io.Reader) io.Reader {
		if max < 0 {
			return r
		}
		return io.LimitReader(r, 2*(max+1))
	}
	tooLong := func(n int64) error {
		if max >= 0 && n > 2*max {
			return ErrTooLong
		}
		return nil
	}
	if samples := r.Samples(); to.needsLength() && samples >= 0 {
		w, err := out.writer(dst, samples)
		if err != nil {
			return 0, err
		}
		if _, err := copyPCM(ctx, w, io.LimitReader(r, 2*samples)); err != nil {
			return 0, err
		}
		return samples, w.Close()
	}
	if !to.needsLength() {
		w, err := out.writer(dst, -1)
		if err != nil {
			return 0, err
		}
		n, err := copyPCM(ctx, w, limit(r))
		if err == nil {
			err = tooLong(n)
		}
		if err != nil {
			return n / 2, err
		}
		return n / 2, w.Close()
	}
	// Validate the target before doing the work.
	if _, err := out.writer(io.Discard, 0); err != nil {
		return 0, err
	}
	f, err := os.CreateTemp(tempDir, "vpim-codec-*.pcm")
	if err != nil {
		return 0, fmt.Errorf("codec: spool: %w", err)
	}
	defer func() {
		f.Close()
		os.Remove(f.Name())
	}()
	n, err := copyPCM(ctx, f, limit(r))
	if err == nil {
		err = tooLong(n)
	}
	if err != nil {
		return 0, err
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return 0, fmt.Errorf("codec: spool: %w", err)
	}
	samples = n / 2
	w, err := out.writer(dst, samples)
	if err != nil {
		return 0, err
	}
	if _, err := copyPCM(ctx, w, io.LimitReader(f, 2*samples)); err != nil {
		return 0, err
	}
	return samples, w.Close()
}

// copyBuf is the copyPCM buffer size: 128 KiB (even, so no sample is
// split across writes unless the reader splits it) keeps the number of
// read and write system calls low at a constant memory cost. At 8 kHz it
// is 8 s of audio: the interval at which copyPCM checks its context.
const copyBuf = 128 << 10

// copyPCM copies with a fixed buffer of copyBuf bytes and stops with
// ctx's error when ctx ends (checked before every read, so at least every
// copyBuf bytes of PCM).
func copyPCM(ctx context.Context, w io.Writer, r io.Reader) (int64, error) {
	buf := make([]byte, copyBuf)
	var total int64
	for {
		if err := ctx.Err(); err != nil {
			return total, err
		}
		n, err := r.Read(buf)
		if n > 0 {
			m, werr := w.Write(buf[:n])
			total += int64(m)
			if werr != nil {
				return total, fmt.Errorf("codec: write: %w", werr)
			}
		}
		if err == io.EOF {
			return total, nil
		}
		if err != nil {
			return total, err
		}
	}
}
