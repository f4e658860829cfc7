package codec

import (
	"bytes"
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

// TestTranscoderMaxDuration: audio up to MaxDuration converts, longer
// audio is refused with the sample count.
func TestTranscoderMaxDuration(t *testing.T) {
	tr, err := NewTranscoder(Options{MaxDuration: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		samples int
		want    string
	}{{8000, ""}, {8001, "codec: audio is 1.000125s long, longer than the limit of 1s (max_duration)"}} {
		var out bytes.Buffer
		n, err := tr.Transcode(&out, "basic", bytes.NewReader(make([]byte, 2*tc.samples)), "pcm16")
		if n != int64(tc.samples) || errString(err) != tc.want || out.Len() != tc.samples {
			t.Errorf("%d samples: n %d, %d bytes, error %v; want %q", tc.samples, n, out.Len(), err, tc.want)
		}
	}
	if got := tr.Sniff([]byte(".snd\x00\x00\x00\x18")); got != "au" {
		t.Errorf("sniff: %q", got)
	}
	if _, err := tr.Transcode(&bytes.Buffer{}, "flac", nil, ""); err == nil {
		t.Error("unknown target format converted")
	}
}
