package main

import (
	"bytes"
	"encoding/binary"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func sinePCM(n int) []byte {
	b := make([]byte, 2*n)
	for i := 0; i < n; i++ {
		binary.LittleEndian.PutUint16(b[2*i:], uint16(int16(8000*math.Sin(float64(i)*0.3))))
	}
	return b
}

func TestTranscodeCommand(t *testing.T) {
	dir := t.TempDir()
	pcmPath := filepath.Join(dir, "in.raw")
	if err := os.WriteFile(pcmPath, sinePCM(8000), 0o644); err != nil {
		t.Fatal(err)
	}
	wavPath := filepath.Join(dir, "out.wav")
	for _, tc := range []struct {
		name   string
		args   []string
		stdin  []byte
		code   int
		outLen int    // stdout length, -1 to skip
		errSub string // stderr substring
	}{
		{"pcm to wav file", []string{"--from", "pcm16", "--to", "wav-ulaw", pcmPath, wavPath}, nil, 0, 0, ""},
		{"wav sniffed to 32kadpcm on stdout", []string{"--to", "32kadpcm", wavPath, "-"}, nil, 0, 4000, ""},
		{"flags after operands", []string{wavPath, "-", "--to", "basic"}, nil, 0, 8000, ""},
		{"stdin to au", []string{"--to", "au", "--from", "pcm16", "-", "-"}, sinePCM(100), 0, 24 + 100, ""},
		{"missing --to", []string{wavPath, "-"}, nil, 2, 0, "usage"},
		{"one operand", []string{"--to", "basic", wavPath}, nil, 2, 0, "usage"},
		{"bad format", []string{"--to", "flac", wavPath, "-"}, nil, 2, 0, "unknown audio format"},
		{"unsniffable", []string{"--to", "basic", pcmPath, "-"}, nil, 2, 0, "unknown audio format"},
		// 8000 samples at 16 kHz: Info frame and ceil((16000+1152)/576)
		// audio frames of 108 bytes.
		{"write mp3", []string{"--to", "mp3", wavPath, "-"}, nil, 0, 31 * 108, ""},
		// 32 kbit/s: Info frame and 30 audio frames of 144 bytes.
		{"mp3 --bitrate 32", []string{"--to", "mp3", "--bitrate", "32", wavPath, "-"}, nil, 0, 31 * 144, ""},
		{"--bitrate without mp3", []string{"--to", "basic", "--bitrate", "32", wavPath, "-"}, nil, 2, 0, "want --to mp3"},
		{"--bitrate not a rate", []string{"--to", "mp3", "--bitrate", "20", wavPath, "-"}, nil, 2, 0, "one of [16 24 32 40 48 56 64]"},
		{"-- ends the flags", []string{"--to", "basic", "--", wavPath, "-"}, nil, 0, 8000, ""},
		{"write wav-g726", []string{"--to", "wav-g726", wavPath, "-"}, nil, 2, 0, "unsupported"},
		{"missing file", []string{"--to", "basic", filepath.Join(dir, "nope"), "-"}, nil, 2, 0, "no such file"},
		{"bad flag", []string{"--bogus"}, nil, 2, 0, "flag provided but not defined"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var out, errb bytes.Buffer
			code := runTranscode(tc.args, bytes.NewReader(tc.stdin), &out, &errb)
			if code != tc.code {
				t.Fatalf("exit %d, want %d; stderr %q", code, tc.code, errb.String())
			}
			if tc.outLen >= 0 && out.Len() != tc.outLen {
				t.Fatalf("stdout %d bytes, want %d", out.Len(), tc.outLen)
			}
			if !strings.Contains(errb.String(), tc.errSub) {
				t.Fatalf("stderr %q lacks %q", errb.String(), tc.errSub)
			}
		})
	}
	st, err := os.Stat(wavPath)
	if err != nil || st.Size() != 58+8000 {
		t.Fatalf("wav file: %v, size %d", err, st.Size())
	}
}
