//go:build integration

package integration

import (
	"bytes"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vpim-milter/vpim-milter/codec"
	"github.com/vpim-milter/vpim-milter/integration/harness"
)

// ulawMessage is a plain IVM-style voice message with a raw µ-law part.
func ulawMessage(t *testing.T, id, to string, secs int) (string, []byte) {
	t.Helper()
	var ulaw bytes.Buffer
	w, err := codec.NewWriter(&ulaw, codec.Format("basic"), int64(secs*8000))
	if err != nil {
		t.Fatal(err)
	}
	w.Write(speechLike(secs * 8000))
	w.Close()
	enc := base64.StdEncoding.EncodeToString(ulaw.Bytes())
	var b strings.Builder
	for len(enc) > 76 {
		b.WriteString(enc[:76] + "\n")
		enc = enc[76:]
	}
	b.WriteString(enc + "\n")
	msg := fmt.Sprintf("From: Caller <caller@example.org>\nTo: %s\nSubject: call me\nMessage-ID: <%s@example.org>\nMIME-Version: 1.0\nMessage-Context: voice-message\nContent-Type: audio/basic\nContent-Transfer-Encoding: base64\nContent-Disposition: inline; voice=Voice-Message; filename=msg.au\n\n%s", to, id, b.String())
	return msg, ulaw.Bytes()
}

// TestBridgeThroughPostfix: mail to VOICE=+3940226338@<gateway> plus an
// ordinary recipient is accepted; the voice recipient leaves MTA delivery
// and becomes a durable job whose audio is the message's audio decoded to
// 8 kHz PCM; the ordinary recipient gets the mail. The exec back-end then
// "calls" it: the worker runs the command with the job directory, and the
// job ends in done/. A refused number gets 550 5.7.1 at RCPT.
func TestBridgeThroughPostfix(t *testing.T) {
	dir := t.TempDir()
	spool := filepath.Join(dir, "spool")
	played := filepath.Join(dir, "played.wav")
	script := filepath.Join(dir, "play.sh")
	os.WriteFile(script, []byte("#!/bin/sh\ncp \"$1/audio.wav\" "+played+"\necho played\nexit 0\n"), 0o755)
	d := startDaemon(t, fmt.Sprintf(`
[profile]
default_target = "ivm"
[telephony]
gateway_domains = ["voice.example.com"]
allowed_senders = ["@example.org"]
outdial_allow = ["+39"]
backend = "exec"
spool_dir = %q
[telephony.exec]
command = %q
[dsn]
disable = true
`, spool, script))
	m := startMTA(t, harness.Postfix(), d.port)

	voice := "VOICE=+3940226338@voice.example.com"
	msg, ulaw := ulawMessage(t, "bridge1", voice+", ordinary@example.net", 2)
	if code, text := m.Submit(t, "caller@example.org", []string{voice, "ordinary@example.net"}, msg); code != 250 {
		t.Fatalf("send: %d %s\n%s", code, text, d.logString())
	}
	got := m.WaitDelivered(t, 1, 30*time.Second)
	if rc := strings.Join(got[0].Rcpts, ","); rc != "ordinary@example.net" {
		t.Errorf("MTA delivered to %q, want only ordinary@example.net", rc)
	}
	// The worker plays the job through the exec back-end.
	deadline := time.Now().Add(20 * time.Second)
	var jobs []os.DirEntry
	for time.Now().Before(deadline) {
		jobs, _ = os.ReadDir(filepath.Join(spool, "done"))
		if len(jobs) == 1 {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if len(jobs) != 1 {
		t.Fatalf("jobs in done/: %d, want 1\n%s", len(jobs), d.logString())
	}
	var job struct {
		Meta struct {
			Recipient, Number, Sender, MessageID string
		} `json:"meta"`
		Samples int64 `json:"samples"`
	}
	b, err := os.ReadFile(filepath.Join(spool, "done", jobs[0].Name(), "job.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &job); err != nil {
		t.Fatal(err)
	}
	if job.Meta.Number != "+3940226338" || job.Meta.Recipient != voice || job.Meta.Sender != "caller@example.org" || job.Samples != 16000 {
		t.Errorf("job meta %+v samples %d", job.Meta, job.Samples)
	}
	// The audio the back-end played is exactly the message's µ-law decoded.
	wav, err := os.ReadFile(played)
	if err != nil {
		t.Fatalf("the exec back-end did not run: %v\n%s", err, d.logString())
	}
	pcm := wav[44:]
	if len(pcm) != 2*len(ulaw) {
		t.Fatalf("played %d samples, want %d", len(pcm)/2, len(ulaw))
	}
	var want bytes.Buffer
	r, _ := codec.NewReader(bytes.NewReader(ulaw), codec.Format("basic"))
	want.ReadFrom(r)
	if !bytes.Equal(pcm, want.Bytes()) {
		diff := 0
		for i := 0; i+1 < len(pcm); i += 2 {
			if binary.LittleEndian.Uint16(pcm[i:]) != binary.LittleEndian.Uint16(want.Bytes()[i:]) {
				diff++
			}
		}
		t.Errorf("played audio differs from the message audio in %d samples", diff)
	}

	t.Run("only voice recipients", func(t *testing.T) {
		// Every recipient leaves MTA delivery: the MTA drops its copy, no bounce.
		before := len(m.Delivered(t))
		msg2, _ := ulawMessage(t, "bridge3", voice, 1)
		if code, text := m.Submit(t, "caller@example.org", []string{voice}, msg2); code != 250 {
			t.Fatalf("send: %d %s", code, text)
		}
		deadline := time.Now().Add(20 * time.Second)
		for {
			jobs, _ := os.ReadDir(filepath.Join(spool, "done"))
			if len(jobs) == 2 {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("jobs in done/: %d, want 2", len(jobs))
			}
			time.Sleep(100 * time.Millisecond)
		}
		time.Sleep(2 * time.Second)
		if n := len(m.Delivered(t)); n != before {
			t.Errorf("%d messages reached the sink (a copy or a bounce), want %d", n, before)
		}
	})
	t.Run("refused number", func(t *testing.T) {
		code, text := m.Submit(t, "caller@example.org", []string{"VOICE=+19005551212@voice.example.com"}, msg)
		if code != 550 || !strings.HasPrefix(text, "5.7.1 ") {
			t.Errorf("reply %d %q, want 550 5.7.1", code, text)
		}
	})
	t.Run("sender not allowed", func(t *testing.T) {
		code, text := m.Submit(t, "stranger@elsewhere.test", []string{voice}, msg)
		if code != 550 || !strings.HasPrefix(text, "5.7.1 ") {
			t.Errorf("reply %d %q, want 550 5.7.1", code, text)
		}
	})
}

// TestBridgeSpoolFailureTempfails: when the spool cannot take the job the
// message is tempfailed, never accepted without a durable job.
func TestBridgeSpoolFailureTempfails(t *testing.T) {
	dir := t.TempDir()
	spool := filepath.Join(dir, "spool")
	d := startDaemon(t, fmt.Sprintf(`
[telephony]
gateway_domains = ["voice.example.com"]
allowed_senders = ["*"]
outdial_allow = ["+39"]
spool_dir = %q
`, spool))
	// Break the spool under the running daemon: new/ becomes a file.
	if err := os.RemoveAll(filepath.Join(spool, "new")); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(spool, "new"), []byte("not a directory"), 0o644); err != nil {
		t.Fatal(err)
	}
	m := startMTA(t, harness.Postfix(), d.port)
	voice := "VOICE=+3940226338@voice.example.com"
	msg, _ := ulawMessage(t, "bridge2", voice, 1)
	code, text := m.Submit(t, "caller@example.org", []string{voice, "ordinary@example.net"}, msg)
	if code != 451 || !strings.HasPrefix(text, "4.3.0 ") {
		t.Errorf("reply %d %q, want 451 4.3.0", code, text)
	}
	time.Sleep(time.Second)
	if n := len(m.Delivered(t)); n != 0 {
		t.Errorf("%d messages delivered, want none", n)
	}
}
