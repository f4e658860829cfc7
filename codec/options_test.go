package codec

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestOptionsValidate(t *testing.T) {
	tests := []struct {
		o    Options
		want string
	}{
		{Options{}.WithDefaults(), ""},
		{Options{MaxDuration: time.Second}, ""},
		{Options{}, `MaxDuration: must be positive, got 0s (hint: a duration such as "1h")`},
		{Options{MaxDuration: -time.Minute}, `MaxDuration: must be positive, got -1m0s (hint: a duration such as "1h")`},
	}
	for _, tc := range tests {
		err := tc.o.Validate()
		if got := errString(err); got != tc.want {
			t.Errorf("%+v: %q, want %q", tc.o, got, tc.want)
		}
	}
	if _, err := NewTranscoder(Options{MaxDuration: -1}); err == nil || !strings.HasPrefix(err.Error(), "codec: invalid options: MaxDuration: ") {
		t.Errorf("NewTranscoder: %v", err)
	}
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

// TestTranscoderMaxDuration: audio up to MaxDuration converts; longer
// audio is refused, and the conversion stops right after the limit: from
// a stream of unknown length at most one copy buffer past it is read, and
// a length known up front is refused before decoding.
func TestTranscoderMaxDuration(t *testing.T) {
	tr, err := NewTranscoder(Options{MaxDuration: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	const want = "codec: audio longer than the limit of 1s (max_duration)"
	for _, tc := range []struct {
		samples int
		to      string
		want    string
		out     int // bytes written to dst
	}{
		{8000, "basic", "", 8000},
		{8001, "basic", want, 8001},        // the one sample over the limit was written
		{8000, "wav-ulaw", "", 8058},       // 58-byte header (with the fact chunk)
		{8001, "wav-ulaw", want, 0},        // length needed up front: nothing written
		{8000 * 3600, "basic", want, 8001}, // an hour: stops after the limit
	} {
		var out bytes.Buffer
		src := &countingReader{r: io.LimitReader(zeroes{}, int64(2*tc.samples))}
		_, err := tr.Transcode(&out, tc.to, src, "pcm16")
		if errString(err) != tc.want || out.Len() != tc.out {
			t.Errorf("%d samples to %s: %d bytes, error %v; want %d bytes, %q", tc.samples, tc.to, out.Len(), err, tc.out, tc.want)
		}
		if tc.want != "" && !errors.Is(err, ErrTooLong) {
			t.Errorf("%d samples: %v does not wrap ErrTooLong", tc.samples, err)
		}
		if limit := int64(2*8001 + copyBuf + SniffLen); src.n > limit {
			t.Errorf("%d samples to %s: read %d bytes of input, want at most %d", tc.samples, tc.to, src.n, limit)
		}
	}
	// A regular file says its length: refused before it is decoded.
	f, err := os.CreateTemp(t.TempDir(), "long-*.pcm")
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Truncate(2 * 8000 * 3600); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if _, err := tr.Transcode(&out, "wav-ulaw", f, "pcm16"); errString(err) != want || out.Len() != 0 {
		t.Errorf("one-hour file: %d bytes, %v; want nothing and %q", out.Len(), err, want)
	}
	f.Close()
	if got := tr.Sniff([]byte(".snd\x00\x00\x00\x18")); got != "au" {
		t.Errorf("sniff: %q", got)
	}
	if _, err := tr.Transcode(&bytes.Buffer{}, "flac", nil, ""); err == nil {
		t.Error("unknown target format converted")
	}
}

// TestTranscodeContext: a conversion stops with the context's error as
// soon as the context ends, within one copy buffer of decoding, even from
// an endless input; the error is not taken for corrupt input.
func TestTranscodeContext(t *testing.T) {
	tr, err := NewTranscoder(Options{MaxDuration: 1000 * time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	for _, to := range []string{"basic", "wav-ulaw", "gsm"} {
		ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
		start := time.Now()
		_, err := tr.TranscodeContext(ctx, io.Discard, to, zeroes{}, "pcm16")
		cancel()
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("%s: %v, want the deadline", to, err)
		}
		var ce *CorruptInputError
		if errors.As(err, &ce) {
			t.Errorf("%s: the deadline became %v", to, err)
		}
		if d := time.Since(start); d > 2*time.Second {
			t.Errorf("%s: stopped %v after the start, the deadline was 200ms", to, d)
		}
	}
	// A source that honours the same context: its error passes the
	// decoders unchanged.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err = TranscodeContext(context.Background(), io.Discard, Basic, ctxSource{ctx}, G726_32)
	if !errors.Is(err, context.Canceled) {
		t.Errorf("source's context error: %v", err)
	}
}

// zeroes is an endless stream of zero bytes (silence in PCM16).
type zeroes struct{}

func (zeroes) Read(p []byte) (int, error) {
	clear(p)
	return len(p), nil
}

// countingReader counts the bytes read through it.
type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

// ctxSource yields zeroes until its context ends.
type ctxSource struct{ ctx context.Context }

func (c ctxSource) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	clear(p)
	return len(p), nil
}

// TestTranscoderMP3Bitrate: "mp3-NN" writes MP3 at NN kbit/s, one of
// MP3Bitrates (each taken by NewMP3Writer; others refused): the frame
// headers carry the rate and the stream decodes to the exact length. "mp3"
// is 24 kbit/s.
func TestTranscoderMP3Bitrate(t *testing.T) {
	tr, err := NewTranscoder(Options{})
	if err != nil {
		t.Fatal(err)
	}
	pcm := tone(8000 * 3 / 2)
	// MPEG-2 Layer III bit rate index (ISO/IEC 13818-3 2.4.2.3): kbit/s → index.
	index := map[int]byte{16: 2, 24: 3, 32: 4, 40: 5, 48: 6, 56: 7, 64: 8}
	for _, kbps := range append([]int{0}, MP3Bitrates()...) {
		to, want := "mp3", 24
		if kbps != 0 {
			to, want = "mp3-"+strconv.Itoa(kbps), kbps
		}
		var out bytes.Buffer
		n, err := tr.Transcode(&out, to, bytes.NewReader(pcm), "pcm16")
		if err != nil || n != int64(len(pcm)/2) {
			t.Fatalf("%s: %d samples, %v", to, n, err)
		}
		b := out.Bytes()
		// The first frame (the Info frame, written at the stream's rate like
		// every frame): sync, MPEG-2, layer III, the bit rate index.
		if len(b) < 4 || b[0] != 0xFF || b[1]&0xFE != 0xF2 || b[2]>>4 != index[want] {
			t.Errorf("%s: first frame header % x, want bit rate index %d", to, b[:4], index[want])
		}
		r, err := NewReader(bytes.NewReader(b), "")
		if err != nil {
			t.Fatal(err)
		}
		got, err := io.ReadAll(r)
		if err != nil || len(got) != len(pcm) {
			t.Errorf("%s: decoded %d bytes (%v), want %d", to, len(got), err, len(pcm))
		}
	}
	for _, kbps := range MP3Bitrates() {
		if _, err := NewMP3Writer(io.Discard, 0, MP3Options{Bitrate: kbps}); err != nil {
			t.Errorf("NewMP3Writer at %d kbit/s: %v", kbps, err)
		}
	}
	for _, bad := range []string{"mp3-8", "mp3-20", "mp3-72", "mp3-128", "mp3-", "mp3-x"} {
		if _, err := tr.Transcode(io.Discard, bad, bytes.NewReader(pcm), "pcm16"); !errors.Is(err, ErrUnknownFormat) {
			t.Errorf("%s: %v, want ErrUnknownFormat", bad, err)
		}
	}
	for _, bad := range []int{8, 20, 72, 80} {
		if _, err := NewMP3Writer(io.Discard, 0, MP3Options{Bitrate: bad}); err == nil {
			t.Errorf("NewMP3Writer at %d kbit/s: no error", bad)
		}
	}
}

// TestTranscoderTempDir: a conversion whose output header needs the length
// of a source that does not give it spools the PCM in Options.TempDir, and
// removes it afterwards; a TempDir that cannot take the spool fails the
// conversion with the spool error instead of falling back elsewhere.
func TestTranscoderTempDir(t *testing.T) {
	src := bytes.Repeat([]byte{0xFF, 0x7F, 0x00, 0x80}, 2000) // 8000 µ-law samples
	dir := t.TempDir()
	tr, err := NewTranscoder(Options{TempDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	// io.MultiReader hides the length: the WAV header waits for the spool.
	n, err := tr.Transcode(&out, "wav-ulaw", io.MultiReader(bytes.NewReader(src)), "basic")
	if err != nil || n != 8000 || out.Len() != 8000+58 {
		t.Fatalf("Transcode: %d samples, %d bytes, %v; want 8000 samples in 8058 bytes", n, out.Len(), err)
	}
	if left, _ := os.ReadDir(dir); len(left) != 0 {
		t.Errorf("TempDir holds %d files after the conversion, want none", len(left))
	}
	missing := dir + "/missing"
	tr, _ = NewTranscoder(Options{TempDir: missing})
	_, err = tr.Transcode(io.Discard, "wav-ulaw", io.MultiReader(bytes.NewReader(src)), "basic")
	if err == nil || !strings.Contains(err.Error(), "codec: spool") || !strings.Contains(err.Error(), missing) {
		t.Errorf("Transcode with TempDir %s: %v, want the spool error naming it", missing, err)
	}
}
