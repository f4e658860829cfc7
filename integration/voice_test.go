//go:build integration

package integration

import (
	"bytes"
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"io"
	"math"
	"mime"
	"mime/multipart"
	"net/mail"
	"strings"
	"testing"
	"time"

	"github.com/vpim-milter/vpim-milter/codec"
	"github.com/vpim-milter/vpim-milter/integration/harness"
)

// speechLike is n samples of a 8 kHz PCM16LE signal with a voice-like
// spectrum (a few harmonics under an envelope), made here so the test
// needs no third-party audio.
func speechLike(n int) []byte {
	b := make([]byte, 2*n)
	for i := 0; i < n; i++ {
		t := float64(i) / 8000
		env := 0.5 + 0.5*math.Sin(2*math.Pi*3*t)
		v := env * (0.5*math.Sin(2*math.Pi*220*t) + 0.3*math.Sin(2*math.Pi*440*t+1) + 0.15*math.Sin(2*math.Pi*1250*t))
		binary.LittleEndian.PutUint16(b[2*i:], uint16(int16(v*12000)))
	}
	return b
}

// vpim2Message builds a VPIM v2 message (RFC 3801 4.4) with an
// audio/32KADPCM voice part of secs seconds.
func vpim2Message(t *testing.T, id, to, sensitivity string, secs int) string {
	t.Helper()
	var adpcm bytes.Buffer
	w, err := codec.NewWriter(&adpcm, codec.ADPCM32, int64(secs*8000))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write(speechLike(secs * 8000)); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	h := make(map[string][]string)
	h["Content-Type"] = []string{"audio/32KADPCM"}
	h["Content-Transfer-Encoding"] = []string{"base64"}
	h["Content-Disposition"] = []string{`inline; voice=Voice-Message; filename="msg1.726"`}
	h["Content-Duration"] = []string{fmt.Sprint(secs)}
	pw, err := mw.CreatePart(h)
	if err != nil {
		t.Fatal(err)
	}
	enc := base64.StdEncoding.EncodeToString(adpcm.Bytes())
	for len(enc) > 76 {
		io.WriteString(pw, enc[:76]+"\r\n")
		enc = enc[76:]
	}
	io.WriteString(pw, enc+"\r\n")
	mw.Close()
	var m strings.Builder
	fmt.Fprintf(&m, "From: \"Joe S. User\" <12145551212@vm.example.com>\n")
	fmt.Fprintf(&m, "To: %s\n", to)
	fmt.Fprintf(&m, "Date: Mon, 23 Nov 2026 10:00:00 -0500\n")
	fmt.Fprintf(&m, "Subject: Voice Message\n")
	fmt.Fprintf(&m, "Message-ID: <%s@vm.example.com>\n", id)
	if sensitivity != "" {
		fmt.Fprintf(&m, "Sensitivity: %s\n", sensitivity)
	}
	fmt.Fprintf(&m, "MIME-Version: 1.0 (Voice 2.0)\n")
	fmt.Fprintf(&m, "Content-Type: multipart/voice-message; version=2.0; boundary=%q\n\n", mw.Boundary())
	m.WriteString(strings.ReplaceAll(body.String(), "\r\n", "\n"))
	return m.String()
}

const voiceConfig = `
[profile]
default_target = "ivm"
targets = { "vm.example.net" = "vpim2", "vm3.example.net" = "vpim2" }
privacy_capable = ["vm.example.net"]
voice_domains = ["vm.example.com"]
`

// TestVoiceThroughPostfix runs the real binary behind a real Postfix: a
// VPIM v2 message to an IVM recipient arrives converted; Private mail to a
// destination that cannot keep it private is refused with 550 5.6.0 and the
// client sees that text; a privacy-capable VPIM v2 peer receives it.
func TestVoiceThroughPostfix(t *testing.T) {
	d := startDaemon(t, voiceConfig)
	m := startMTA(t, harness.Postfix(), d.port)

	t.Run("vpim2 to ivm", func(t *testing.T) {
		msg := vpim2Message(t, "conv1", "\"Ann\" <ann@ivm.example.org>, bob@ivm.example.org", "", 3)
		if code, text := m.Submit(t, "12145551212@vm.example.com", []string{"ann@ivm.example.org", "bob@ivm.example.org"}, msg); code != 250 {
			t.Fatalf("send: %d %s\n%s", code, text, d.log)
		}
		got := m.WaitDelivered(t, 1, 30*time.Second)[0]
		mt, params, err := mime.ParseMediaType(got.Header.Get("Content-Type"))
		if err != nil || mt != "multipart/mixed" {
			t.Errorf("Content-Type = %q (%v), want multipart/mixed", got.Header.Get("Content-Type"), err)
		}
		if v := got.Header.Get("Vpim-Check"); !strings.Contains(v, "; mode=enforce; profile=vpim2; target=ivm; verdict=modify; rules=") {
			t.Errorf("VPIM-Check = %q, want the stamp of the conversion", v)
		}
		if v := got.Header.Get("Message-Context"); strings.ToLower(strings.TrimSpace(v)) != "voice-message" {
			t.Errorf("Message-Context = %q, want voice-message", v)
		}
		if n := len(got.Header.Values("To")); n != 1 {
			t.Errorf("%d To fields, want 1", n)
		}
		if id := got.Header.Get("Message-Id"); !strings.HasPrefix(id, "<") || !strings.HasSuffix(id, ">") {
			t.Errorf("Message-ID %q is not bracketed", id)
		}
		// The voice part is µ-law audio/basic now (RFC 4239 IVM).
		mr := multipart.NewReader(strings.NewReader(got.Body), params["boundary"])
		var types []string
		for {
			p, err := mr.NextPart()
			if err != nil {
				break
			}
			types = append(types, p.Header.Get("Content-Type"))
			if strings.HasPrefix(p.Header.Get("Content-Type"), "audio/basic") {
				raw, _ := io.ReadAll(base64.NewDecoder(base64.StdEncoding, p))
				if len(raw) != 3*8000 {
					t.Errorf("audio/basic part has %d samples, want %d", len(raw), 3*8000)
				}
			}
		}
		if len(types) == 0 || !strings.HasPrefix(types[0], "audio/basic") {
			t.Errorf("parts %q, want an audio/basic voice part", types)
		}
		if _, err := mail.ParseAddress(got.Header.Get("From")); err != nil {
			t.Errorf("From unparsable: %v", err)
		}
	})
	t.Run("private to ivm refused", func(t *testing.T) {
		msg := vpim2Message(t, "priv1", "ann@ivm.example.org", "Private", 1)
		code, text := m.Submit(t, "12145551212@vm.example.com", []string{"ann@ivm.example.org"}, msg)
		if code != 550 || !strings.HasPrefix(text, "5.6.0 ") || !strings.Contains(strings.ToLower(text), "priva") {
			t.Errorf("reply %d %q, want 550 5.6.0 with the privacy text", code, text)
		}
	})
	t.Run("private to privacy-capable vpim2 peer", func(t *testing.T) {
		before := len(m.Delivered(t))
		msg := vpim2Message(t, "priv2", "2722@vm.example.net", "Private", 1)
		if code, text := m.Submit(t, "12145551212@vm.example.com", []string{"2722@vm.example.net"}, msg); code != 250 {
			t.Fatalf("send: %d %s", code, text)
		}
		msgs := m.WaitDelivered(t, before+1, 30*time.Second)
		found := false
		for _, x := range msgs {
			if strings.Contains(x.Raw, "priv2@vm.example.com") {
				found = true
				if x.Header.Get("Sensitivity") != "Private" {
					t.Errorf("Sensitivity = %q, want Private", x.Header.Get("Sensitivity"))
				}
			}
		}
		if !found {
			t.Error("private message to the privacy-capable peer not delivered")
		}
	})
	t.Run("privacy-capable and not: split at RCPT", func(t *testing.T) {
		// Issue 10 defect 2: the recipient whose destination does not keep
		// Sensitivity: Private is deferred to a transaction of its own.
		msg := vpim2Message(t, "split1", "2722@vm.example.net, 2723@vm3.example.net", "Private", 1)
		code, text := m.Submit(t, "12145551212@vm.example.com", []string{"2722@vm.example.net", "2723@vm3.example.net"}, msg)
		if code != 452 || !strings.HasPrefix(text, "4.5.3 ") {
			t.Errorf("second RCPT: %d %q, want 452 4.5.3", code, text)
		}
	})
	t.Run("conformant message passes byte-identical", func(t *testing.T) {
		// Issue 10 defect 13: a VPIM v2 message as a VPIM v2 peer wants it
		// (a quoted filename, folded nothing else) arrives as it was sent,
		// after the Received field Postfix adds.
		before := len(m.Delivered(t))
		msg := vpim2Message(t, "same1", "2722@vm.example.net", "", 2)
		if code, text := m.Submit(t, "12145551212@vm.example.com", []string{"2722@vm.example.net"}, msg); code != 250 {
			t.Fatalf("send: %d %s", code, text)
		}
		msgs := m.WaitDelivered(t, before+1, 30*time.Second)
		sent := strings.ReplaceAll(msg, "\n", "\r\n")
		found := false
		for _, x := range msgs {
			if !strings.Contains(x.Raw, "same1@vm.example.com") {
				continue
			}
			found = true
			raw := strings.ReplaceAll(strings.ReplaceAll(x.Raw, "\r\n", "\n"), "\n", "\r\n")
			if !strings.HasSuffix(strings.TrimRight(raw, "\r\n"), strings.TrimRight(sent, "\r\n")) {
				t.Errorf("the delivered message is not the sent one after the trace fields:\n%s", raw)
			}
		}
		if !found {
			t.Error("not delivered")
		}
	})
	t.Run("non-mail-user refused at RCPT", func(t *testing.T) {
		code, text := m.Submit(t, "a@example.org", []string{"non-mail-user@vm.example.com"}, "Subject: x\n\nx\n")
		if code != 550 || !strings.HasPrefix(text, "5.1.1 ") {
			t.Errorf("reply %d %q, want 550 5.1.1", code, text)
		}
	})
}
