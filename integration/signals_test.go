//go:build integration

package integration

import (
	"fmt"
	"net/mail"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	gomilter "github.com/d--j/go-milter"
	"github.com/emersion/go-message/textproto"
)

// milterVerdict runs one message through the daemon at port with go-milter's
// client and returns the final action.
func milterVerdict(t *testing.T, port int, rcpt, msg string) string {
	t.Helper()
	c := gomilter.NewClient("tcp", fmt.Sprintf("127.0.0.1:%d", port), gomilter.WithActions(gomilter.AllClientSupportedActionMasks))
	s, err := c.Session(nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	s.Conn("client", gomilter.FamilyInet, 25, "127.0.0.1")
	s.Helo("client")
	s.Mail("<a@example.org>", "")
	if a, err := s.Rcpt("<"+rcpt+">", ""); err != nil || a.StopProcessing() {
		return fmt.Sprint(a, err)
	}
	m, err := mail.ReadMessage(strings.NewReader(msg))
	if err != nil {
		t.Fatal(err)
	}
	var h textproto.Header
	keys := []string{"From", "To", "Date", "Subject", "Message-Id", "Sensitivity", "Mime-Version", "Content-Type"}
	for i := len(keys) - 1; i >= 0; i-- {
		if v := m.Header.Get(keys[i]); v != "" {
			h.Add(keys[i], v)
		}
	}
	a, err := s.Header(h)
	if err != nil {
		t.Fatal(err)
	}
	if a.StopProcessing() || a.Type == gomilter.ActionAccept {
		return a.String()
	}
	_, a, err = s.BodyReadFrom(m.Body)
	if err != nil {
		t.Fatal(err)
	}
	return a.String()
}

// TestReload: SIGHUP applies a valid new configuration and keeps the
// running one when the new file is invalid.
func TestReload(t *testing.T) {
	d := startDaemon(t, voiceConfig)
	cfg := filepath.Join(filepath.Dir(d.cmd.Args[3]), "vpim-milter.toml")
	private := vpim2Message(t, "hup", "ann@ivm.example.org", "Private", 1)
	if got := milterVerdict(t, d.port, "ann@ivm.example.org", private); !strings.Contains(got, "550 5.6.0") {
		t.Fatalf("before reload: %s, want 550 5.6.0", got)
	}
	write := func(body string) {
		full := fmt.Sprintf("[milter]\nlisten = \"inet:%d@127.0.0.1\"\n%s", d.port, body)
		if err := os.WriteFile(cfg, []byte(full), 0o644); err != nil {
			t.Fatal(err)
		}
		d.cmd.Process.Signal(syscall.SIGHUP)
	}
	waitLog := func(s string) {
		deadline := time.Now().Add(5 * time.Second)
		for !strings.Contains(d.logString(), s) {
			if time.Now().After(deadline) {
				t.Fatalf("log lacks %q:\n%s", s, d.logString())
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	write(strings.Replace(voiceConfig, `privacy_capable = ["vm.example.net"]`, `privacy_capable = ["vm.example.net", "ivm.example.org"]`, 1))
	waitLog("configuration reloaded")
	if got := milterVerdict(t, d.port, "ann@ivm.example.org", private); strings.Contains(got, "reject") {
		t.Errorf("after reload: %s, want the message accepted", got)
	}
	write("[profile]\ndefault_target = \"nonsense\"\n")
	waitLog("reload failed, keeping the running configuration")
	if got := milterVerdict(t, d.port, "ann@ivm.example.org", private); strings.Contains(got, "reject") {
		t.Errorf("after a failed reload: %s, want the previous configuration kept", got)
	}
}

// TestDrain: SIGTERM lets an open session finish within drain_timeout and
// the process exits 0.
func TestDrain(t *testing.T) {
	d := startDaemon(t, "drain_timeout = \"5s\"\n")
	c := gomilter.NewClient("tcp", fmt.Sprintf("127.0.0.1:%d", d.port), gomilter.WithActions(gomilter.AllClientSupportedActionMasks))
	s, err := c.Session(nil)
	if err != nil {
		t.Fatal(err)
	}
	s.Conn("client", gomilter.FamilyInet, 25, "127.0.0.1")
	s.Helo("client")
	s.Mail("<a@example.org>", "")
	s.Rcpt("<b@example.org>", "")
	d.cmd.Process.Signal(syscall.SIGTERM)
	time.Sleep(300 * time.Millisecond)
	var h textproto.Header
	h.Add("Subject", "plain mail")
	a, err := s.Header(h)
	if err != nil || a.Type != gomilter.ActionAccept {
		t.Errorf("open session during drain: %v %v, want accept", a, err)
	}
	s.Close()
	select {
	case <-d.exited:
		if d.err != nil {
			t.Errorf("exit: %v\n%s", d.err, d.logString())
		}
	case <-time.After(10 * time.Second):
		t.Fatalf("daemon did not exit after SIGTERM:\n%s", d.logString())
	}
	if !strings.Contains(d.logString(), "draining milter sessions") {
		t.Errorf("log lacks the drain line:\n%s", d.logString())
	}
}
