package telephony

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/vpim-milter/vpim-milter/codec/wav"
)

// TestOpenAudio: a job's audio is read through codec/wav, and only 8 kHz
// mono 16-bit PCM with a known length is played.
func TestOpenAudio(t *testing.T) {
	tests := []struct {
		name          string
		tag           uint16
		channels      int
		rate          int
		size, samples int64
		wantErr       error
	}{
		{"canonical", wav.TagPCM, 1, 8000, 6, 3, nil},
		{"µ-law", wav.TagULaw, 1, 8000, 3, 3, errWAV},
		{"stereo", wav.TagPCM, 2, 8000, 8, 2, errWAV},
		{"16 kHz", wav.TagPCM, 1, 16000, 6, 3, errWAV},
		{"unknown length", wav.TagPCM, 1, 8000, 0, 0, errWAV},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			var b bytes.Buffer
			tcheck(t, wav.WriteHeader(&b, tc.tag, tc.channels, tc.rate, tc.size, tc.samples), "header")
			b.Write([]byte{1, 2, 3, 4, 5, 6, 7, 8}[:tc.size])
			tcheck(t, os.WriteFile(filepath.Join(dir, audioFile), b.Bytes(), 0o600), "write")
			j := &Job{ID: "j1", dir: dir}
			r, n, err := j.OpenAudio()
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("error %v, want %v", err, tc.wantErr)
			}
			if err != nil {
				return
			}
			defer r.Close()
			pcm, err := io.ReadAll(r)
			tcheck(t, err, "read")
			tcompare(t, n, tc.samples, "samples")
			tcompare(t, string(pcm), "\x01\x02\x03\x04\x05\x06", "samples after the header")
		})
	}
}
