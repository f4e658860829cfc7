package codec

import (
	"bytes"
	"encoding/base64"
	"io"
	"mime"
	"mime/multipart"
	"net/mail"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vpim-milter/vpim-milter/internal/shareddata"
)

// audioParts returns the decoded bodies of the audio/* parts of a message.
func audioParts(t *testing.T, path string) [][]byte {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	m, err := mail.ReadMessage(f)
	if err != nil {
		t.Fatal(err)
	}
	var out [][]byte
	var walk func(h func(string) string, body io.Reader)
	walk = func(h func(string) string, body io.Reader) {
		mt, params, err := mime.ParseMediaType(h("Content-Type"))
		if err != nil {
			return
		}
		switch {
		case strings.HasPrefix(mt, "multipart/"):
			mr := multipart.NewReader(body, params["boundary"])
			for {
				p, err := mr.NextRawPart()
				if err != nil {
					return
				}
				walk(p.Header.Get, p)
			}
		case mt == "message/rfc822":
			if inner, err := mail.ReadMessage(body); err == nil {
				walk(inner.Header.Get, inner.Body)
			}
		case strings.HasPrefix(mt, "audio/"):
			var r io.Reader = body
			if strings.EqualFold(h("Content-Transfer-Encoding"), "base64") {
				r = base64.NewDecoder(base64.StdEncoding, &lineJoiner{r: body})
			}
			b, err := io.ReadAll(r)
			if err != nil {
				t.Fatalf("%s: %v", path, err)
			}
			out = append(out, b)
		}
	}
	walk(m.Header.Get, m.Body)
	return out
}

// lineJoiner drops CR and LF so base64 lines can be decoded.
type lineJoiner struct{ r io.Reader }

func (l *lineJoiner) Read(p []byte) (int, error) {
	n, err := l.r.Read(p)
	j := 0
	for _, c := range p[:n] {
		if c != '\r' && c != '\n' {
			p[j] = c
			j++
		}
	}
	return j, err
}

// TestRealSamples decodes the WAV parts of the third-party sample mails
// (Mobeon µ-law WAV with fact chunks, Asterisk PCM16 WAV) with sniffing,
// checks format and length, and with sox installed that the samples are
// identical to sox's decoding.
func TestRealSamples(t *testing.T) {
	dir := shareddata.Path(t, "samples")
	for _, tc := range []struct {
		file    string
		format  Format
		samples []int
	}{
		{"asterisk-style-freepbx_voicemail_ai_ovh-fixture.eml", WAVPCM16, []int{2000}},
		{"mobeon-lmcchli-vvs-mssim-voice_1.msg.eml", WAVULaw, []int{105600, 18240}},
		{"mobeon-lmcchli-vvs-mssim-voice_2.msg.eml", WAVULaw, []int{115200, 18240}},
		{"mobeon-lmcchli-vvs-ntf-voice.eml", WAVULaw, []int{156400}},
		{"mobeon-lmcchli-vvs-ntf-voice_failed-dsn.eml", WAVULaw, []int{10360, 18560}},
	} {
		t.Run(tc.file, func(t *testing.T) {
			parts := audioParts(t, filepath.Join(dir, tc.file))
			if len(parts) != len(tc.samples) {
				t.Fatalf("%d audio parts, want %d", len(parts), len(tc.samples))
			}
			for i, p := range parts {
				if f := Sniff(p); f != tc.format {
					t.Errorf("part %d sniffed as %q, want %q", i, f, tc.format)
				}
				r, err := NewReader(bytes.NewReader(p), "")
				if err != nil {
					t.Fatal(err)
				}
				pcm, err := io.ReadAll(r)
				if err != nil {
					t.Fatal(err)
				}
				if len(pcm)/2 != tc.samples[i] {
					t.Errorf("part %d: %d samples, want %d", i, len(pcm)/2, tc.samples[i])
				}
				sox, err := exec.LookPath("sox")
				if err != nil {
					continue
				}
				path := filepath.Join(t.TempDir(), "p.wav")
				os.WriteFile(path, p, 0o644)
				ref, err := exec.Command(sox, "-D", path, "-t", "raw", "-e", "signed-integer", "-b", "16", "-L", "-").Output()
				if err != nil {
					t.Fatal(err)
				}
				if !bytes.Equal(pcm, ref) {
					t.Errorf("part %d: decoding differs from sox", i)
				}
			}
		})
	}
}
