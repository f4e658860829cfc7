package chromium

import (
	"context"
	"encoding/binary"
	"os"
	"strings"
	"testing"
	"time"
)

// pcmWAV is a 16-bit mono PCM WAV of n samples at rate Hz (a ramp).
func pcmWAV(rate, n int) []byte {
	le := binary.LittleEndian
	b := []byte("RIFF\x00\x00\x00\x00WAVEfmt \x10\x00\x00\x00")
	b = le.AppendUint16(b, 1)
	b = le.AppendUint16(b, 1)
	b = le.AppendUint32(b, uint32(rate))
	b = le.AppendUint32(b, uint32(2*rate))
	b = le.AppendUint16(b, 2)
	b = le.AppendUint16(b, 16)
	b = append(b, "data"...)
	b = le.AppendUint32(b, uint32(2*n))
	for i := range n {
		b = le.AppendUint16(b, uint16(int16(i%2000-1000)))
	}
	le.PutUint32(b[4:], uint32(len(b)-8))
	return b
}

// TestDecodeAudio: a WAV decodes to its exact length at its own rate and resampled to
// another context rate, bytes that are no audio are refused with Web Audio's EncodingError,
// and Close ends every process of the browser and removes its profile.
func TestDecodeAudio(t *testing.T) {
	b := Start(t)
	if !strings.HasPrefix(b.Version(), "Chrome/") && !strings.HasPrefix(b.Version(), "HeadlessChrome/") {
		t.Errorf("version %q", b.Version())
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()

	d, err := b.DecodeAudio(ctx, pcmWAV(8000, 12345), 8000)
	if err != nil {
		t.Fatal(err)
	}
	if want := (Decoded{OK: true, SampleRate: 8000, Length: 12345, Duration: 12345.0 / 8000, Channels: 1}); d != want {
		t.Errorf("8 kHz WAV at 8 kHz: %+v, want %+v", d, want)
	}
	// decodeAudioData resamples to the context's rate: 12345 samples at 8 kHz are 74070 at
	// 48 kHz.
	d, err = b.DecodeAudio(ctx, pcmWAV(8000, 12345), 48000)
	if err != nil {
		t.Fatal(err)
	}
	if !d.OK || d.SampleRate != 48000 || d.Length != 6*12345 {
		t.Errorf("8 kHz WAV at 48 kHz: %+v, want %d frames", d, 6*12345)
	}

	d, err = b.DecodeAudio(ctx, []byte("this is not audio, it is a text attachment"), 8000)
	if err != nil {
		t.Fatal(err)
	}
	if d.OK || d.Error != "EncodingError: Unable to decode audio data" {
		t.Errorf("text: %+v, want EncodingError", d)
	}
	// An invalid context rate is a script exception, not a decoding verdict.
	if d, err := b.DecodeAudio(ctx, pcmWAV(8000, 10), 1); err == nil {
		t.Errorf("rate 1: %+v, want an error", d)
	}

	pgid := b.cmd.Process.Pid
	if !groupAlive(pgid) {
		t.Fatal("no process in the browser's group while it runs")
	}
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	if groupAlive(pgid) {
		t.Error("processes of the browser's group outlive Close")
	}
	if _, err := os.Stat(b.dir); !os.IsNotExist(err) {
		t.Errorf("profile %s after Close: %v", b.dir, err)
	}
	if err := b.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	if _, err := b.DecodeAudio(ctx, pcmWAV(8000, 10), 8000); err == nil {
		t.Error("DecodeAudio after Close: no error")
	}
}
