//go:build integration

package integration

import (
	"encoding/json"
	"fmt"
	"net/smtp"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/vpim-milter/vpim-milter/integration/harness"
)

// callCounter is an exec back-end that "calls" by appending the job directory to a file:
// every line is one real call the worker placed.
type callCounter struct {
	script, log string
}

func newCallCounter(t *testing.T) *callCounter {
	t.Helper()
	dir := t.TempDir()
	c := &callCounter{script: filepath.Join(dir, "call.sh"), log: filepath.Join(dir, "calls.log")}
	if err := os.WriteFile(c.script, []byte("#!/bin/sh\necho \"$1\" >>"+c.log+"\necho called\nexit 0\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	return c
}

// calls returns the job directories called so far.
func (c *callCounter) calls() []string {
	b, _ := os.ReadFile(c.log)
	return strings.Fields(string(b))
}

// waitCalls waits until the spool has no job left in new/ or active/, then for a second
// more, and returns the calls placed.
func (c *callCounter) waitCalls(t *testing.T, spool string, d *daemon) []string {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		n, _ := os.ReadDir(filepath.Join(spool, "new"))
		a, _ := os.ReadDir(filepath.Join(spool, "active"))
		if len(n)+len(a) == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("spool not drained: %d in new/, %d in active/\n%s", len(n), len(a), d.logString())
		}
		time.Sleep(100 * time.Millisecond)
	}
	time.Sleep(time.Second)
	return c.calls()
}

// jobMeta reads the meta of the job in dir.
func jobMeta(t *testing.T, dir string) map[string]any {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, "job.json"))
	if err != nil {
		t.Fatal(err)
	}
	var j struct {
		Meta map[string]any `json:"meta"`
	}
	if err := json.Unmarshal(b, &j); err != nil {
		t.Fatal(err)
	}
	return j.Meta
}

// TestOutdialAuthThroughPostfix (issue 9 item 3): who may dial is decided by the SMTP
// AUTH login ({auth_authen}) and the client address ({client_addr}) that a real Postfix
// passes, with SMTP AUTH against Dovecot. An authenticated allowed login gets the call, a
// client from a trusted network gets it, an unauthenticated client with a forged allowed
// MAIL FROM is refused at RCPT with 550 5.7.1, and so is an authenticated login that is
// not allowed.
func TestOutdialAuthThroughPostfix(t *testing.T) {
	harness.Need(t, "dovecot")
	spool := filepath.Join(t.TempDir(), "spool")
	cc := newCallCounter(t)
	d := startDaemon(t, fmt.Sprintf(`
[telephony]
gateway_domains = ["voice.example.com"]
home_country = "+39"
outdial_allow = ["+39"]
allowed_logins = ["alice"]
trusted_networks = ["127.0.0.2"]
allowed_senders = ["alice@example.org", "pbx@example.org"]
backend = "exec"
spool_dir = %q
[telephony.exec]
command = %q
[dsn]
disable = true
`, spool, cc.script))
	h := harness.Postfix()
	h.Env = []string{"SASL_USERS=alice:alice-secret mallory:mallory-secret"}
	m := startMTA(t, h, d.port)
	host := "127.0.0.1"
	for _, tc := range []struct {
		name, number, from string
		o                  harness.SubmitOptions
		want               string
	}{
		{"authenticated allowed login", "+3940226301", "alice@example.org", harness.SubmitOptions{Auth: smtp.PlainAuth("", "alice", "alice-secret", host)}, "250"},
		{"forged sender without login", "+3940226302", "alice@example.org", harness.SubmitOptions{}, "550 5.7.1"},
		{"trusted network", "+3940226303", "pbx@example.org", harness.SubmitOptions{LocalAddr: "127.0.0.2"}, "250"},
		{"login not allowed", "+3940226304", "alice@example.org", harness.SubmitOptions{Auth: smtp.PlainAuth("", "mallory", "mallory-secret", host)}, "550 5.7.1"},
		{"trusted network, sender not listed", "+3940226305", "intruder@example.org", harness.SubmitOptions{LocalAddr: "127.0.0.2"}, "550 5.7.1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			voice := "VOICE=" + tc.number + "@voice.example.com"
			msg, _ := ulawMessage(t, "auth-"+tc.number, voice, 1)
			code, text := m.SubmitWith(t, tc.o, tc.from, []string{voice}, msg)
			got := fmt.Sprint(code)
			if code != 250 {
				got += " " + strings.Fields(text)[0]
			}
			if got != tc.want {
				t.Errorf("reply %d %q, want %s\n%s", code, text, tc.want, d.logString())
			}
		})
	}
	calls := cc.waitCalls(t, spool, d)
	if len(calls) != 2 {
		t.Fatalf("%d calls, want 2: %v", len(calls), calls)
	}
	got := map[string]string{}
	for _, c := range calls {
		meta := jobMeta(t, filepath.Join(spool, "done", filepath.Base(c)))
		got[fmt.Sprint(meta["number"])] = fmt.Sprintf("login=%v client=%v", meta["login"], meta["client"])
	}
	if want := map[string]string{"+3940226301": "login=alice client=127.0.0.1", "+3940226303": "login=<nil> client=127.0.0.2"}; fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("calls %v, want %v", got, want)
	}
	log := d.logString()
	for _, want := range []string{`rule=auth`, `login=mallory client=127.0.0.1 rule=auth`, `rule=sender`} {
		if !strings.Contains(log, want) {
			t.Errorf("daemon log lacks %q", want)
		}
	}
}

// TestOutdialFloodThroughPostfix (issue 9 acceptance): through a real Postfix, one message
// with 200 copies of one VOICE= recipient and 12 spellings of its number (plus an ordinary
// recipient) is accepted and makes exactly one call, and the ordinary recipient still gets
// the mail; then 53 messages from the same client (127.0.0.1, trusted_networks, no login),
// each with another envelope sender, with a rate limit of 3 per hour: the client's calls
// are counted, not its forgeable senders (redteam R13), so with the flood message's call
// 2 more calls, and the other 51 are refused at RCPT with 450 4.7.1.
func TestOutdialFloodThroughPostfix(t *testing.T) {
	start := time.Now()
	spool := filepath.Join(t.TempDir(), "spool")
	cc := newCallCounter(t)
	d := startDaemon(t, fmt.Sprintf(`
[telephony]
gateway_domains = ["voice.example.com"]
home_country = "+39"
outdial_allow = ["+39"]
trusted_networks = ["127.0.0.0/8"]
rate_limit = { per_sender = "3/1h", per_number = "3/1h" }
backend = "exec"
spool_dir = %q
[telephony.exec]
command = %q
[dsn]
disable = true
`, spool, cc.script))
	m := startMTA(t, harness.Postfix(), d.port)

	var rcpts []string
	for range 200 {
		rcpts = append(rcpts, "VOICE=+3940226338@voice.example.com")
	}
	rcpts = append(rcpts,
		"VOICE=+39-40-226338@voice.example.com", "VOICE=+39.40.226338@voice.example.com",
		"VOICE=+39-402-26338@voice.example.com", "voice=+3940226338@voice.example.com",
		"Voice=+39.4022.6338@voice.example.com", `"/VOICE=+3940226338/"@voice.example.com`,
		"VOICE=003940226338@voice.example.com", "VOICE=0039-40-226338@voice.example.com",
		"VOICE=40226338@voice.example.com", "VPIM=+3940226338@voice.example.com",
		"VOICE=+3940226338/T33S=1@voice.example.com", "VOICE=+3940226338@Voice.Example.COM",
		"ordinary@example.net")
	msg, _ := ulawMessage(t, "flood", "VOICE=+3940226338@voice.example.com, ordinary@example.net", 1)
	if code, text := m.Submit(t, "flood@example.org", rcpts, msg); code != 250 {
		t.Fatalf("flood message: %d %s\n%s", code, text, d.logString())
	}
	got := m.WaitDelivered(t, 1, 30*time.Second)
	if rc := strings.Join(got[0].Rcpts, ","); rc != "ordinary@example.net" {
		t.Errorf("MTA delivered to %q, want only ordinary@example.net", rc)
	}
	calls := cc.waitCalls(t, spool, d)
	if len(calls) != 1 {
		t.Fatalf("the flood message made %d calls, want 1", len(calls))
	}
	if n := jobMeta(t, filepath.Join(spool, "done", filepath.Base(calls[0])))["number"]; n != "+3940226338" {
		t.Errorf("called %v", n)
	}
	t.Logf("flood message: 213 recipients, 1 call, %v", time.Since(start).Round(time.Millisecond))

	rateStart := time.Now()
	accepted, refused := 0, 0
	for i := range 53 {
		voice := fmt.Sprintf("VOICE=+39402263%02d@voice.example.com", i)
		msg, _ := ulawMessage(t, fmt.Sprintf("rate%d", i), voice, 1)
		code, text := m.Submit(t, fmt.Sprintf("rate%d@example.org", i), []string{voice}, msg)
		switch {
		case code == 250 && i < 2:
			accepted++
		case code == 450 && strings.HasPrefix(text, "4.7.1 ") && i >= 2:
			refused++
		default:
			t.Errorf("message %d: %d %q", i, code, text)
		}
	}
	calls = cc.waitCalls(t, spool, d)
	t.Logf("rate limit: %d accepted, %d refused with 450 4.7.1, %d calls in all, %v", accepted, refused, len(calls), time.Since(rateStart).Round(time.Millisecond))
	if accepted != 2 || refused != 51 || len(calls) != 3 {
		t.Errorf("%d accepted, %d refused, %d calls; want 2, 51, 3", accepted, refused, len(calls))
	}
	if !strings.Contains(d.logString(), "rule=rate-sender") {
		t.Error("no rate-sender refusal in the log")
	}
	t.Logf("total %v", time.Since(start).Round(time.Millisecond))
}

// TestReloadStopsCallsThroughPostfix (issue 9 item 13, verified end to end): an operator
// stopping fraud with SIGHUP stops the next message's call: a reload that adds an
// outdial_deny pattern refuses the number at RCPT, and one that removes the sender from
// allowed_senders refuses the sender.
func TestReloadStopsCallsThroughPostfix(t *testing.T) {
	spool := filepath.Join(t.TempDir(), "spool")
	cc := newCallCounter(t)
	d := startDaemon(t, fmt.Sprintf(`
[telephony]
gateway_domains = ["voice.example.com"]
home_country = "+39"
outdial_allow = ["+39"]
outdial_deny = []
allowed_senders = ["caller@example.org", "other@example.org"]
backend = "exec"
spool_dir = %q
[telephony.exec]
command = %q
[dsn]
disable = true
`, spool, cc.script))
	m := startMTA(t, harness.Postfix(), d.port)
	voice := "VOICE=+3940226338@voice.example.com"
	send := func(from string) string {
		msg, _ := ulawMessage(t, fmt.Sprintf("reload%d", time.Now().UnixNano()), voice, 1)
		code, text := m.Submit(t, from, []string{voice}, msg)
		if code == 250 {
			return "250"
		}
		return fmt.Sprintf("%d %s", code, strings.Fields(text)[0])
	}
	reload := func(old, new string) {
		t.Helper()
		b, err := os.ReadFile(d.config)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(string(b), old) {
			t.Fatalf("config lacks %q", old)
		}
		if err := os.WriteFile(d.config, []byte(strings.Replace(string(b), old, new, 1)), 0o644); err != nil {
			t.Fatal(err)
		}
		n := strings.Count(d.logString(), "configuration reloaded")
		if err := d.cmd.Process.Signal(syscall.SIGHUP); err != nil {
			t.Fatal(err)
		}
		for deadline := time.Now().Add(10 * time.Second); strings.Count(d.logString(), "configuration reloaded") == n; time.Sleep(50 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("no reload:\n%s", d.logString())
			}
		}
	}
	if got := send("caller@example.org"); got != "250" {
		t.Fatalf("before the reloads: %s\n%s", got, d.logString())
	}
	reload(`outdial_deny = []`, `outdial_deny = ["+3940226338"]`)
	if got := send("caller@example.org"); got != "550 5.7.1" {
		t.Errorf("after adding the deny pattern: %s, want 550 5.7.1", got)
	}
	reload(`outdial_deny = ["+3940226338"]`, `outdial_deny = []`)
	reload(`allowed_senders = ["caller@example.org", "other@example.org"]`, `allowed_senders = ["other@example.org"]`)
	if got := send("caller@example.org"); got != "550 5.7.1" {
		t.Errorf("after removing the sender: %s, want 550 5.7.1", got)
	}
	if got := send("other@example.org"); got != "250" {
		t.Errorf("the sender still listed: %s, want 250", got)
	}
	if calls := cc.waitCalls(t, spool, d); len(calls) != 2 {
		t.Errorf("%d calls, want 2 (before the reloads and the listed sender after them)", len(calls))
	}
}
