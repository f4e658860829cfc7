//go:build integration

package integration

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"mime"
	"mime/multipart"
	"net/mail"
	"net/textproto"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/vpim-milter/vpim-milter/codec"
	"github.com/vpim-milter/vpim-milter/integration/harness"
	"github.com/vpim-milter/vpim-milter/internal/chromium"
)

const desktopConfig = `
[profile]
default_target = "ivm"
targets = { "desk.example.net" = "desktop", "ivm.example.org" = "ivm" }
voice_domains = ["vm.example.com"]
`

// voiceCase is one voice message of the desktop acceptance test.
type voiceCase struct {
	name    string
	from    string
	text    string // the text part the message carries ("" none)
	samples int64  // the source's length in 8 kHz samples (the codec's decoding)
	build   func(id, to string) string
}

// b64Lines is data in base64 lines of 76 characters, LF-terminated.
func b64Lines(data []byte) string {
	enc := base64.StdEncoding.EncodeToString(data)
	var b strings.Builder
	for len(enc) > 76 {
		b.WriteString(enc[:76] + "\n")
		enc = enc[76:]
	}
	b.WriteString(enc + "\n")
	return b.String()
}

// encodeSpeech encodes n samples of speechLike to f with the project's codec
// and returns the bytes and what the codec decodes from them, in samples.
func encodeSpeech(t *testing.T, f codec.Format, n int) ([]byte, int64) {
	t.Helper()
	var b bytes.Buffer
	w, err := codec.NewWriter(&b, f, int64(n))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write(speechLike(n)); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	got, err := codec.Transcode(io.Discard, codec.PCM16, bytes.NewReader(b.Bytes()), f)
	if err != nil {
		t.Fatal(err)
	}
	return b.Bytes(), got
}

// desktopCases are the three messages of issue 11's acceptance: Asterisk's
// WAV49, VPIM v2 G.726 (audio/32KADPCM) and IVM raw µ-law, each of a length
// that ends in no frame boundary.
func desktopCases(t *testing.T) []voiceCase {
	wav49, n49 := encodeSpeech(t, codec.WAVGSM, 4*8000+1234)
	adpcm, nADPCM := encodeSpeech(t, codec.ADPCM32, 5*8000+777)
	ulaw, nULaw := encodeSpeech(t, codec.Basic, 3*8000+4321)
	const astText = "You have a 0:04 long message in mailbox 1001 from Frank <0612345678>."
	const ivmText = "Voice message from Bob, 3 seconds."
	return []voiceCase{
		{"asterisk-wav49", "vm@pbx.example.com", astText, n49, func(id, to string) string {
			return "Date: Mon, 23 Nov 2026 10:15:32 +0100\nFrom: \"Voicemail\" <vm@pbx.example.com>\nTo: " + to +
				"\nSubject: [PBX]: New message 1 in mailbox 1001\nMessage-ID: <" + id + "@pbx.example.com>\n" +
				"X-Asterisk-CallerID: 0612345678\nX-Asterisk-CallerIDName: Frank\nMIME-Version: 1.0\n" +
				"Content-Type: multipart/mixed; boundary=\"----voicemail_1\"\n\n" +
				"------voicemail_1\nContent-Type: text/plain; charset=UTF-8\nContent-Transfer-Encoding: 8bit\n\n" + astText + "\n" +
				"------voicemail_1\nContent-Type: audio/x-WAV; name=\"msg0000.WAV\"\nContent-Transfer-Encoding: base64\n" +
				"Content-Disposition: attachment; filename=\"msg0000.WAV\"\n\n" + b64Lines(wav49) + "\n------voicemail_1--\n"
		}},
		{"vpim2-g726", "12145551212@vm.example.com", "", nADPCM, func(id, to string) string {
			return "From: \"Joe S. User\" <12145551212@vm.example.com>\nTo: " + to + "\nDate: Mon, 23 Nov 2026 10:00:00 -0500\n" +
				"Subject: Voice Message\nMessage-ID: <" + id + "@vm.example.com>\nMIME-Version: 1.0 (Voice 2.0)\n" +
				"Content-Type: multipart/voice-message; version=2.0; boundary=\"VB\"\n\n" +
				"--VB\nContent-Type: audio/32KADPCM\nContent-Transfer-Encoding: base64\n" +
				"Content-Disposition: inline; voice=Voice-Message; filename=msg1.726\nContent-Duration: 5\n\n" + b64Lines(adpcm) + "\n--VB--\n"
		}},
		{"ivm-ulaw", "bob@mail.example.org", ivmText, nULaw, func(id, to string) string {
			return "From: \"Bob Example\" <bob@mail.example.org>\nTo: " + to + "\nDate: Mon, 23 Nov 2026 10:20:20 +0100\n" +
				"Subject: Voice message from Bob\nMessage-ID: <" + id + "@mail.example.org>\nMIME-Version: 1.0\n" +
				"Message-Context: voice-message\nContent-Type: multipart/mixed; boundary=\"MB\"\n\n" +
				"--MB\nContent-Type: text/plain; charset=us-ascii\n\n" + ivmText + "\n" +
				"--MB\nContent-Type: audio/basic; name=msg1.au\nContent-Transfer-Encoding: base64\n" +
				"Content-Disposition: inline; voice=Voice-Message; handling=REQUIRED; filename=msg1.au\nContent-Duration: 4\n\n" +
				b64Lines(ulaw) + "\n--MB--\n"
		}},
	}
}

// mimeLeaf is one leaf of a delivered message.
type mimeLeaf struct {
	header textproto.MIMEHeader
	data   []byte // transfer encoding removed
}

// leaves returns the leaves of a multipart body, in order (one level: the
// messages here are flat after the rewrite).
func leaves(t *testing.T, contentType, body string) (string, []mimeLeaf) {
	t.Helper()
	mt, params, err := mime.ParseMediaType(contentType)
	if err != nil {
		t.Fatalf("Content-Type %q: %v", contentType, err)
	}
	if !strings.HasPrefix(mt, "multipart/") {
		return mt, nil
	}
	r := multipart.NewReader(strings.NewReader(body), params["boundary"])
	var out []mimeLeaf
	for {
		p, err := r.NextRawPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("multipart: %v", err)
		}
		raw, err := io.ReadAll(p)
		if err != nil {
			t.Fatal(err)
		}
		if strings.EqualFold(p.Header.Get("Content-Transfer-Encoding"), "base64") {
			if raw, err = io.ReadAll(base64.NewDecoder(base64.StdEncoding, bytes.NewReader(bytes.ReplaceAll(raw, []byte("\n"), nil)))); err != nil {
				t.Fatalf("base64: %v", err)
			}
		}
		out = append(out, mimeLeaf{header: p.Header, data: raw})
	}
	return mt, out
}

// checkReport runs `vpim-milter check --json` on a delivered message for rcpt.
func checkReport(t *testing.T, cfg, rcpt, raw string) map[string]any {
	t.Helper()
	file := filepath.Join(t.TempDir(), "delivered.eml")
	if err := os.WriteFile(file, []byte(raw), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(vpimBinary(t), "check", "-c", cfg, "--json", "--rcpt", rcpt, file).Output()
	if err != nil {
		t.Fatalf("check: %v\n%s", err, out)
	}
	var rep map[string]any
	if err := json.Unmarshal(out, &rep); err != nil {
		t.Fatalf("check --json: %v\n%s", err, out)
	}
	return rep
}

// ruleActions returns the actions of a check report other than the
// maintenance of the VPIM-Check stamp. A delivered message carries the stamp
// this host added; checking it again removes that copy as one claiming this
// host's authserv-id and inserts a fresh one, which every voice message gets.
// Any other action means the milter delivered what check would still change.
func ruleActions(rep map[string]any) []string {
	var out []string
	for _, a := range rep["actions"].([]any) {
		s := a.(string)
		if strings.Contains(s, "VPIM-Check") {
			continue
		}
		out = append(out, s)
	}
	return out
}

// mp3Lengths decodes MP3 with ffmpeg and mpg123 and returns their sample
// counts.
func mp3Lengths(t *testing.T, data []byte) map[string]int64 {
	t.Helper()
	file := filepath.Join(t.TempDir(), "voice.mp3")
	if err := os.WriteFile(file, data, 0o644); err != nil {
		t.Fatal(err)
	}
	out := map[string]int64{}
	for _, args := range [][]string{
		{"ffmpeg", "-nostdin", "-hide_banner", "-loglevel", "warning", "-i", file, "-f", "s16le", "-"},
		{"mpg123", "-q", "-s", file},
	} {
		cmd := exec.Command(args[0], args[1:]...)
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		pcm, err := cmd.Output()
		if err != nil || stderr.Len() > 0 {
			t.Errorf("%s: %v %s", args[0], err, stderr.String())
			continue
		}
		out[args[0]] = int64(len(pcm) / 2)
	}
	return out
}

// TestDesktopThroughPostfix (issue 11 acceptance): through a real Postfix and
// the daemon, an Asterisk WAV49 message, a VPIM v2 G.726 message and an IVM
// message to a desktop recipient arrive as multipart/mixed with their text
// kept and the voice as audio/mpeg named .mp3 with its Content-Duration,
// which headless Chromium (Web Audio), ffmpeg and mpg123 decode to exactly
// the source's length (at 16 kHz: twice the 8 kHz samples); `check` on the
// delivered message for the desktop target reports nothing. The same
// messages to an IVM recipient arrive as RFC 4239 requires (multipart/mixed,
// Message-Context: voice-message, raw µ-law audio/basic marked
// handling=REQUIRED and named .au, of the source's length), which Chromium
// does not decode, and exactly as `vpim-milter rewrite` makes them offline.
func TestDesktopThroughPostfix(t *testing.T) {
	harness.Need(t, "ffmpeg", "mpg123")
	h := harness.Postfix()
	h.Need(t)
	browser := chromium.Start(t)
	d := startDaemon(t, desktopConfig)
	m := startMTA(t, h, d.port)
	cases := desktopCases(t)

	type sent struct {
		c    voiceCase
		rcpt string
		in   string
	}
	byID := map[string]sent{}
	for _, c := range cases {
		for _, rcpt := range []string{"ann@desk.example.net", "bob@ivm.example.org"} {
			id := c.name + "-" + strings.SplitN(rcpt, "@", 2)[0]
			in := c.build(id, rcpt)
			if code, text := m.Submit(t, c.from, []string{rcpt}, in); code != 250 {
				t.Fatalf("%s to %s: %d %s\n%s", c.name, rcpt, code, text, d.logString())
			}
			byID[id] = sent{c, rcpt, in}
		}
	}
	start := time.Now()
	delivered := m.WaitDelivered(t, len(byID), 60*time.Second)
	t.Logf("%d messages delivered by Postfix %v after the last submission", len(delivered), time.Since(start).Round(time.Millisecond))
	for _, got := range delivered {
		msgID := strings.Trim(got.Header.Get("Message-Id"), "<>")
		id, _, _ := strings.Cut(msgID, "@")
		s, ok := byID[id]
		if !ok {
			t.Errorf("unexpected message %q", msgID)
			continue
		}
		t.Run(id, func(t *testing.T) {
			// One stamp, for the conversion this message went through.
			target := "desktop"
			if strings.HasSuffix(s.rcpt, "@ivm.example.org") {
				target = "ivm"
			}
			if v := got.Header["Vpim-Check"]; len(v) != 1 || !strings.Contains(v[0], "; mode=enforce; profile=") ||
				!strings.Contains(v[0], "; target="+target+"; verdict=") {
				t.Errorf("VPIM-Check %q, want one stamp for target %s", v, target)
			}
			ct := got.Header.Get("Content-Type")
			mt, parts := leaves(t, ct, got.Body)
			if mt != "multipart/mixed" {
				t.Fatalf("Content-Type %q, want multipart/mixed", ct)
			}
			var text, audio []mimeLeaf
			for _, p := range parts {
				switch {
				case strings.HasPrefix(p.header["Content-Type"][0], "text/"):
					text = append(text, p)
				case strings.HasPrefix(p.header["Content-Type"][0], "audio/"):
					audio = append(audio, p)
				default:
					t.Errorf("part %q", p.header["Content-Type"][0])
				}
			}
			if s.c.text != "" && (len(text) != 1 || strings.TrimSpace(string(text[0].data)) != s.c.text) {
				t.Errorf("text parts %d, want the sender's text kept: %q", len(text), s.c.text)
			}
			if len(audio) != 1 {
				t.Fatalf("%d audio parts, want 1", len(audio))
			}
			a := audio[0]
			disp, dparams, _ := mime.ParseMediaType(strings.Join(a.header["Content-Disposition"], ""))
			dur := strings.Join(a.header["Content-Duration"], "")
			wantDur := strconv.FormatInt(max((s.c.samples+4000)/8000, 1), 10)
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			if strings.HasSuffix(s.rcpt, "@desk.example.net") {
				amt, _, _ := mime.ParseMediaType(a.header["Content-Type"][0])
				if amt != "audio/mpeg" || !strings.HasSuffix(dparams["filename"], ".mp3") || dur != wantDur {
					t.Errorf("voice part %s, disposition %s %v, Content-Duration %q; want audio/mpeg named .mp3, duration %s", amt, disp, dparams, dur, wantDur)
				}
				res, err := browser.DecodeAudio(ctx, a.data, 16000)
				if err != nil {
					t.Fatal(err)
				}
				lengths := mp3Lengths(t, a.data)
				want := 2 * s.c.samples
				t.Logf("source %d samples at 8 kHz (%.4f s); MP3 %d bytes; Chromium %v %d frames at %.0f Hz (%.4f s); ffmpeg %d, mpg123 %d samples",
					s.c.samples, float64(s.c.samples)/8000, len(a.data), res.OK, res.Length, res.SampleRate, res.Duration, lengths["ffmpeg"], lengths["mpg123"])
				if !res.OK || res.Length != want || lengths["ffmpeg"] != want || lengths["mpg123"] != want {
					t.Errorf("decoded lengths: Chromium %v %d (%s), ffmpeg %d, mpg123 %d; want %d", res.OK, res.Length, res.Error, lengths["ffmpeg"], lengths["mpg123"], want)
				}
				rep := checkReport(t, d.config, s.rcpt, got.Raw)
				if rep["target"] != "desktop" || rep["verdict"] != "accept" || len(rep["findings"].([]any)) != 0 || len(ruleActions(rep)) != 0 {
					t.Errorf("check of the delivered message for desktop: %v", rep)
				}
				return
			}
			// IVM, RFC 4239: Message-Context (3), multipart/mixed (3), raw
			// G.711 µ-law audio/basic named .au (7), critical (3, RFC 3459).
			if v := got.Header.Get("Message-Context"); v != "voice-message" {
				t.Errorf("Message-Context %q", v)
			}
			if amt, _, _ := mime.ParseMediaType(a.header["Content-Type"][0]); amt != "audio/basic" || disp != "inline" ||
				dparams["voice"] != "Voice-Message" || dparams["handling"] != "REQUIRED" || !strings.HasSuffix(dparams["filename"], ".au") ||
				dur != wantDur || int64(len(a.data)) != s.c.samples {
				t.Errorf("voice part %s, disposition %s %v, Content-Duration %q, %d samples; want raw µ-law audio/basic, inline, Voice-Message, REQUIRED, .au, %s s, %d samples",
					amt, disp, dparams, dur, len(a.data), wantDur, s.c.samples)
			}
			if res, err := browser.DecodeAudio(ctx, a.data, 8000); err != nil || res.OK {
				t.Errorf("Chromium decodes raw audio/basic (%+v, %v); the playback table says it does not", res, err)
			}
			rep := checkReport(t, d.config, s.rcpt, got.Raw)
			if rep["target"] != "ivm" || rep["verdict"] != "accept" || len(ruleActions(rep)) != 0 {
				t.Errorf("check of the delivered message for ivm: %v", rep)
			}
			// The milter delivers what rewrite makes offline.
			file := filepath.Join(t.TempDir(), "in.eml")
			os.WriteFile(file, []byte(s.in), 0o644)
			off, err := exec.Command(vpimBinary(t), "rewrite", "-c", d.config, "--rcpt", s.rcpt, file).Output()
			if err != nil {
				t.Fatalf("rewrite: %v", err)
			}
			offMsg, err := mail.ReadMessage(bytes.NewReader(off))
			if err != nil {
				t.Fatal(err)
			}
			offBody, _ := io.ReadAll(offMsg.Body)
			if want := strings.TrimRight(strings.ReplaceAll(string(offBody), "\r\n", "\n"), "\n"); strings.TrimRight(got.Body, "\n") != want {
				t.Errorf("delivered body differs from rewrite's:\n%s\n---\n%s", harness.Tail(got.Body, 20), harness.Tail(want, 20))
			}
		})
	}
}
