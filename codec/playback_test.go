package codec

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vpim-milter/vpim-milter/codec/g726"
	"github.com/vpim-milter/vpim-milter/codec/wav"
	"github.com/vpim-milter/vpim-milter/internal/audiotest"
	"github.com/vpim-milter/vpim-milter/internal/chromium"
)

// playbackSamples is the length of the speech in the playback table: 10 s less 37 samples,
// so that no form's frames end with the audio.
const playbackSamples = 10*Rate - 37

// playbackForm is one row of the playback table: an audio form voice mail arrives in, made
// by this package from the project's speech, and what Chromium makes of it.
type playbackForm struct {
	name string // as the README's table names it
	// make encodes the 8 kHz PCM.
	make func(t *testing.T, pcm []byte) []byte
	// rate is the stream's own sample rate: Chromium decodes at it, so that the frame count
	// is the stream's own (decodeAudioData resamples to its context's rate).
	rate int
	// plays is what decodeAudioData does with it: true fulfils, false rejects.
	plays bool
	// frames is the decoded length wanted at rate, for forms that play: the source's
	// length at rate, exactly. (Issue 11 asks for the length within one MP3 frame, 1152
	// samples for MPEG-1, 576 for MPEG-2 and 2.5; Chromium, ffmpeg and mpg123 all trim MP3
	// by the Info frame's encoder delay and padding, so the length comes out exact, and a
	// decoder that stops trimming fails here.)
	frames int64
	// mp3 is set for the MP3 forms, which ffmpeg and mpg123 must decode to frames too.
	mp3 bool
}

// playbackForms are the rows of the playback table (README "Desktop clients"). Changing
// what Chromium plays means changing a row here and the README's table with it.
func playbackForms() []playbackForm {
	n := int64(playbackSamples)
	return []playbackForm{
		{name: "raw µ-law `audio/basic` (IVM)", make: ownFormat(Basic), rate: Rate},
		{name: "Sun `.au` µ-law", make: ownFormat(AU), rate: Rate},
		{name: "raw GSM 06.10 `audio/x-gsm`", make: ownFormat(GSM), rate: Rate},
		{name: "GSM WAV49 (Asterisk `wav49`)", make: ownFormat(WAVGSM), rate: Rate},
		{name: "PCM WAV 16 bit 8 kHz", make: ownFormat(WAVPCM16), rate: Rate, plays: true, frames: n},
		{name: "µ-law WAV", make: ownFormat(WAVULaw), rate: Rate, plays: true, frames: n},
		{name: "A-law WAV (FRITZ!Box)", make: ownFormat(WAVALaw), rate: Rate, plays: true, frames: n},
		{name: "G.726-32 WAV", make: g726WAV, rate: Rate},
		{name: "`audio/32KADPCM` (VPIM v2)", make: ownFormat(ADPCM32), rate: Rate},
		{name: "MP3 MPEG-2 16 kHz 24 kbit/s (ours, the default)", make: ownMP3(MP3Options{}), rate: 16000, plays: true, frames: 2 * n, mp3: true},
		{name: "MP3 MPEG-2.5 8 kHz 16 kbit/s (ours)", make: ownMP3(MP3Options{SampleRate: 8000, Bitrate: 16}), rate: 8000, plays: true, frames: n, mp3: true},
		{name: "MP3 MPEG-1 32 kHz 32 kbit/s (ours)", make: ownMP3(MP3Options{SampleRate: 32000, Bitrate: 32}), rate: 32000, plays: true, frames: 4 * n, mp3: true},
		{name: "Ogg Opus (ffmpeg libopus)", make: ffmpegForm("libopus", "ogg"), rate: 48000, plays: true, frames: 6 * n},
		{name: "Ogg Vorbis (ffmpeg libvorbis)", make: ffmpegForm("libvorbis", "ogg"), rate: Rate, plays: true, frames: n},
	}
}

// TestChromiumPlayback establishes the playback table: which forms of voice-mail audio
// headless Chromium's Web Audio decodes (decodeAudioData, as a web mail client's player
// does), each made by this package from the project's own speech, and for those that play,
// that the decoded length is exactly the source's. The MP3 forms are decoded with ffmpeg
// and mpg123 as well, to the same length. A Chromium that plays or refuses a
// form other than the table says fails here.
func TestChromiumPlayback(t *testing.T) {
	if testing.Short() {
		t.Skip("starts Chromium (-short)")
	}
	audiotest.Tools(t, "ffmpeg", "mpg123")
	pcm := audiotest.Speech(t, 10)[:2*playbackSamples]
	b := chromium.Start(t)
	t.Logf("%s; source: %d samples at 8 kHz (%.4f s)", b.Version(), playbackSamples, float64(playbackSamples)/Rate)
	dir := t.TempDir()
	for _, f := range playbackForms() {
		data := f.make(t, pcm)
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		start := time.Now()
		d, err := b.DecodeAudio(ctx, data, f.rate)
		cancel()
		if err != nil {
			t.Fatalf("%s: %v", f.name, err)
		}
		if !d.OK {
			t.Logf("%-50s %6d bytes: does not play (%s) [%v]", f.name, len(data), d.Error, time.Since(start).Round(time.Millisecond))
			if f.plays {
				t.Errorf("%s: Chromium does not decode it (%s); the playback table says it plays", f.name, d.Error)
			}
			continue
		}
		t.Logf("%-50s %6d bytes: plays, %d frames at %.0f Hz, %.4f s (want %d) [%v]", f.name, len(data), d.Length, d.SampleRate, d.Duration, f.frames, time.Since(start).Round(time.Millisecond))
		if !f.plays {
			t.Errorf("%s: Chromium decodes it (%d frames at %.0f Hz); the playback table says it does not play", f.name, d.Length, d.SampleRate)
			continue
		}
		if d.SampleRate != float64(f.rate) || d.Channels != 1 || d.Length != f.frames {
			t.Errorf("%s: Chromium decoded %d channel(s), %d frames at %.0f Hz; want 1, %d at %d Hz", f.name, d.Channels, d.Length, d.SampleRate, f.frames, f.rate)
		}
		if !f.mp3 {
			continue
		}
		file := filepath.Join(dir, "x.mp3")
		if err := os.WriteFile(file, data, 0o644); err != nil {
			t.Fatal(err)
		}
		for _, dec := range []struct {
			name string
			args []string
		}{
			{"ffmpeg", []string{"-nostdin", "-hide_banner", "-loglevel", "warning", "-i", file, "-f", "s16le", "-"}},
			{"mpg123", []string{"-q", "-s", file}},
		} {
			cmd := exec.Command(dec.name, dec.args...)
			var stderr bytes.Buffer
			cmd.Stderr = &stderr
			out, err := cmd.Output()
			if err != nil || stderr.Len() > 0 {
				t.Errorf("%s: %s: %v %s", f.name, dec.name, err, stderr.String())
				continue
			}
			got := int64(len(out) / 2)
			t.Logf("%-50s %s: %d samples at %d Hz", "", dec.name, got, f.rate)
			if got != f.frames {
				t.Errorf("%s: %s decoded %d samples, want %d", f.name, dec.name, got, f.frames)
			}
		}
	}
}

// ownFormat encodes with NewWriter, as the transcoder does.
func ownFormat(to Format) func(*testing.T, []byte) []byte {
	return func(t *testing.T, pcm []byte) []byte {
		t.Helper()
		var out bytes.Buffer
		if _, err := Transcode(&out, to, bytes.NewReader(pcm), PCM16); err != nil {
			t.Fatalf("%s: %v", to, err)
		}
		return out.Bytes()
	}
}

// ownMP3 encodes with NewMP3Writer and options o.
func ownMP3(o MP3Options) func(*testing.T, []byte) []byte {
	return func(t *testing.T, pcm []byte) []byte {
		t.Helper()
		var out bytes.Buffer
		w, err := NewMP3Writer(&out, int64(len(pcm)/2), o)
		if err != nil {
			t.Fatalf("mp3 %+v: %v", o, err)
		}
		if _, err := w.Write(pcm); err != nil {
			t.Fatal(err)
		}
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		return out.Bytes()
	}
}

// g726WAV is G.726-32 in WAV with the header ffmpeg writes (tag 0x0045, 4 bits, block
// align 1, a fact chunk; codes in AAL2 order), the form NewReader reads as wav-g726; this
// package's encoder makes the codes (NewWriter does not write the container).
func g726WAV(t *testing.T, pcm []byte) []byte {
	t.Helper()
	var codes bytes.Buffer
	e, err := g726.NewEncoder(&codes, G726_32.g726Rate(), g726.PackAAL2)
	if err != nil {
		t.Fatal(err)
	}
	e.Write(pcm)
	e.Close()
	data := codes.Bytes()
	le := binary.LittleEndian
	b := []byte("RIFF\x00\x00\x00\x00WAVEfmt \x12\x00\x00\x00")
	b = le.AppendUint16(b, wav.TagG726)
	b = le.AppendUint16(b, 1)
	b = le.AppendUint32(b, Rate)
	b = le.AppendUint32(b, Rate/2)
	b = le.AppendUint16(b, 1)
	b = le.AppendUint16(b, 4)
	b = le.AppendUint16(b, 0)
	b = append(b, "fact\x04\x00\x00\x00"...)
	b = le.AppendUint32(b, uint32(len(pcm)/2))
	b = append(b, "data"...)
	b = le.AppendUint32(b, uint32(len(data)))
	b = append(b, data...)
	if len(data)&1 == 1 {
		b = append(b, 0)
	}
	le.PutUint32(b[4:], uint32(len(b)-8))
	// The form is what this package reads.
	r, err := NewReader(bytes.NewReader(b), "")
	if err != nil || r.Format() != WAVG726 {
		t.Fatalf("g726 WAV: %v, read as %s", err, r.Format())
	}
	return b
}

// ffmpegForm encodes with ffmpeg's encoder enc into container format: forms this package
// does not write, for the comparison.
func ffmpegForm(enc, format string) func(*testing.T, []byte) []byte {
	return func(t *testing.T, pcm []byte) []byte {
		t.Helper()
		ffmpeg := audiotest.Tool(t, "ffmpeg", "ffmpeg")
		cmd := exec.Command(ffmpeg, "-nostdin", "-hide_banner", "-loglevel", "error",
			"-f", "s16le", "-ar", fmt.Sprint(Rate), "-ac", "1", "-i", "-", "-c:a", enc, "-f", format, "-")
		cmd.Stdin = bytes.NewReader(pcm)
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("ffmpeg %s: %v %s", enc, err, strings.TrimSpace(stderr.String()))
		}
		return out
	}
}
