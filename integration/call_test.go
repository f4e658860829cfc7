//go:build integration

package integration

import (
	"bytes"
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vpim-milter/vpim-milter/codec"
	"github.com/vpim-milter/vpim-milter/codec/g711"
	"github.com/vpim-milter/vpim-milter/integration/harness"
	"github.com/vpim-milter/vpim-milter/integration/siptest"
	"github.com/vpim-milter/vpim-milter/internal/audiotest"
	"github.com/vpim-milter/vpim-milter/internal/testport"
)

// sipTOML is the configuration of the SIP call tests: the bridge takes VOICE= numbers
// under +39 at voice.example.com from any sender, spools them in spool and calls them
// through the trunk at 127.0.0.1:trunk from 127.0.0.1:listen with PCMU. telephony and sip
// are more lines for the [telephony] and [telephony.sip] sections; other sections can
// follow.
func sipTOML(spool string, trunk, listen int, telephony, sip string) string {
	return fmt.Sprintf(`
[telephony]
gateway_domains = ["voice.example.com"]
allowed_senders = ["*"]
outdial_allow = ["+39"]
backend = "sip"
spool_dir = %q
%s
[telephony.sip]
trunk = "sip:127.0.0.1:%d"
listen = "127.0.0.1:%d"
codecs = ["PCMU"]
%s
`, spool, telephony, trunk, listen, sip)
}

// recording returns the samples of the n-th finished recording of callee (a WAV file of
// 8 kHz s16: libsndfile writes a plain 44-byte header).
func recording(t *testing.T, callee *siptest.Baresip, n int) []int16 {
	t.Helper()
	b, err := os.ReadFile(callee.WaitRecording(t, n, 60*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	pcm := b[44:]
	s := make([]int16, len(pcm)/2)
	for i := range s {
		s[i] = int16(binary.LittleEndian.Uint16(pcm[2*i:]))
	}
	return s
}

func pcmOf(t *testing.T, audio []byte, f codec.Format) []int16 {
	t.Helper()
	r, err := codec.NewReader(bytes.NewReader(audio), f)
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	if _, err := b.ReadFrom(r); err != nil {
		t.Fatal(err)
	}
	s := make([]int16, b.Len()/2)
	for i := range s {
		s[i] = int16(binary.LittleEndian.Uint16(b.Bytes()[2*i:]))
	}
	return s
}

func encode(t *testing.T, f codec.Format, secs int) []byte {
	t.Helper()
	var b bytes.Buffer
	w, err := codec.NewWriter(&b, f, int64(secs*8000))
	if err != nil {
		t.Fatal(err)
	}
	w.Write(speechLike(secs * 8000))
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func b64(b []byte) string {
	enc := base64.StdEncoding.EncodeToString(b)
	var s strings.Builder
	for len(enc) > 76 {
		s.WriteString(enc[:76] + "\n")
		enc = enc[76:]
	}
	s.WriteString(enc + "\n")
	return s.String()
}

// TestCallThroughPostfix is the whole chain: a message to
// VOICE=+3940226338@<gateway> plus an ordinary recipient enters a real
// Postfix; vpim-milter writes the job and removes the voice recipient; its
// SIP worker calls baresip, which answers and records. The recording must
// match the message audio (µ-law quantised, as PCMU carries it): correlation
// ≥ 0.99 and SNR ≥ 30 dB. Three sources: IVM µ-law, VPIM v2 G.726-32
// (audio/32KADPCM) and an Asterisk-style GSM WAV49 attachment.
func TestCallThroughPostfix(t *testing.T) {
	const number = "+3940226338"
	callee := siptest.StartBaresip(t, number, "PCMU")
	sipListen := testport.Reserve(t, 1) // the daemon's own SIP port
	d := startDaemon(t, sipTOML(filepath.Join(t.TempDir(), "spool"), callee.SIPPort, sipListen.Port(0), `retry = ["1s"]`, "")+
		"[dsn]\ndisable = true\n", sipListen)
	m := startMTA(t, harness.Postfix(), d.port)
	voice := "VOICE=" + number + "@voice.example.com"

	cases := []struct {
		name  string
		audio []byte
		fmt   codec.Format
		msg   func(audio []byte) string
	}{
		{"ivm ulaw", encode(t, codec.Format("basic"), 2), codec.Format("basic"), func(a []byte) string {
			return "From: caller@example.org\nTo: " + voice + ", ordinary@example.net\nSubject: ulaw\nMIME-Version: 1.0\nContent-Type: audio/basic\nContent-Transfer-Encoding: base64\n\n" + b64(a)
		}},
		{"vpim2 g726", encode(t, codec.ADPCM32, 2), codec.ADPCM32, func(a []byte) string {
			return "From: caller@example.org\nTo: " + voice + ", ordinary@example.net\nSubject: adpcm\nMIME-Version: 1.0 (Voice 2.0)\nContent-Type: multipart/voice-message; version=2.0; boundary=b\n\n" +
				"--b\nContent-Type: audio/32KADPCM\nContent-Transfer-Encoding: base64\nContent-Disposition: inline; voice=Voice-Message; filename=msg.726\n\n" + b64(a) + "--b--\n"
		}},
		{"asterisk wav49", encode(t, codec.Format("wav-gsm"), 2), codec.Format("wav-gsm"), func(a []byte) string {
			return "From: \"Asterisk PBX\" <asterisk@example.org>\nTo: " + voice + ", ordinary@example.net\nSubject: [PBX]: New message 1 in mailbox 100\nX-Asterisk-CallerID: 5551234\nX-Asterisk-CallerIDName: Caller\nMIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=b\n\n" +
				"--b\nContent-Type: text/plain\n\nYou have a new voicemail.\n--b\nContent-Type: audio/x-wav; name=msg0001.wav\nContent-Transfer-Encoding: base64\nContent-Disposition: attachment; filename=msg0001.wav\n\n" + b64(a) + "--b--\n"
		}},
	}
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			before := len(m.Delivered(t))
			if code, text := m.Submit(t, "caller@example.org", []string{voice, "ordinary@example.net"}, c.msg(c.audio)); code != 250 {
				t.Fatalf("send: %d %s\n%s", code, text, d.logString())
			}
			msgs := m.WaitDelivered(t, before+1, 30*time.Second)
			for _, x := range msgs[before:] {
				if strings.Join(x.Rcpts, ",") != "ordinary@example.net" {
					t.Errorf("MTA delivered to %v, want only ordinary@example.net", x.Rcpts)
				}
			}
			rec := recording(t, callee, i+1)
			src := pcmOf(t, c.audio, c.fmt)
			ref := make([]int16, len(src))
			for k, v := range src {
				ref[k] = g711.DecodeULaw(g711.EncodeULaw(v))
			}
			lag, ncc, snr := align(ref, rec)
			t.Logf("%s: %d samples recorded, lag %d (%.0f ms), correlation %.5f, SNR %.1f dB", c.name, len(rec), lag, float64(lag)/8, ncc, snr)
			if ncc < 0.99 || snr < 30 {
				t.Errorf("recording does not match the message: correlation %.4f (want ≥ 0.99), SNR %.1f dB (want ≥ 30)", ncc, snr)
			}
		})
	}
}

// align finds where ref starts in rec, searching the first 2 s of the
// recording with ref's first second (audiotest.Locate).
func align(ref, rec []int16) (lag int, ncc, snr float64) {
	return audiotest.Locate(ref, rec, 8000, 16000)
}
