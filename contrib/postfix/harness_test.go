//go:build integration

package postfix

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"net"
	"net/smtp"
	"net/textproto"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// need skips (or, under CI=true, fails) when a tool the harness runs is missing.
func need(t *testing.T, tools ...string) {
	t.Helper()
	for _, tool := range tools {
		if _, err := exec.LookPath(tool); err != nil {
			if os.Getenv("CI") == "true" {
				t.Fatalf("%s is missing (CI=true): run contrib/postfix/harness.sh install", tool)
			}
			t.Skipf("%s is missing: run contrib/postfix/harness.sh install", tool)
		}
	}
	if os.Geteuid() != 0 {
		t.Skip("the Postfix harness runs as root")
	}
}

func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// instance is one private Postfix started by harness.sh up.
type instance struct {
	dir  string
	env  []string
	vars map[string]string // KEY=VALUE lines printed by up
}

func harness(t *testing.T, env []string, args ...string) ([]byte, error) {
	t.Helper()
	cmd := exec.Command("bash", append([]string{"harness.sh"}, args...)...)
	cmd.Env = env
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return out, fmt.Errorf("harness.sh %s: %w\n%s", strings.Join(args, " "), err, stderr.String())
	}
	return out, nil
}

// up starts an instance whose milter is milter (harness MILTER form, "" for none).
func up(t *testing.T, milter string) *instance {
	t.Helper()
	need(t, "postconf", "postfix", "/usr/sbin/smtp-sink", "script")
	dir, err := os.MkdirTemp("", "pf-harness-test-")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(dir, 0o755); err != nil { // postfix's users must reach the sink dir
		t.Fatal(err)
	}
	in := &instance{dir: dir, vars: map[string]string{}}
	in.env = append(os.Environ(), "MILTER="+milter,
		fmt.Sprintf("PF_SMTP_PORT=%d", freePort(t)), fmt.Sprintf("PF_SINK_PORT=%d", freePort(t)),
		fmt.Sprintf("PF_REINJECT_PORT=%d", freePort(t)))
	out, err := harness(t, in.env, "up", dir)
	if err != nil {
		os.RemoveAll(dir)
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if _, err := harness(t, in.env, "down", dir); err != nil {
			t.Error(err)
		}
		if t.Failed() {
			if b, err := os.ReadFile(in.vars["LOG"]); err == nil {
				t.Logf("maillog:\n%s", b)
			}
		}
		os.RemoveAll(dir)
	})
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		if k, v, ok := strings.Cut(sc.Text(), "="); ok {
			in.vars[k] = v
		}
	}
	return in
}

// send submits one message and returns the reply code and text that ended the transaction.
func send(t *testing.T, port, id, rcpt string) (int, string) {
	t.Helper()
	c, err := smtp.Dial("127.0.0.1:" + port)
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	defer c.Close()
	reply := func(err error) (int, string) {
		var te *textproto.Error
		if errors.As(err, &te) {
			return te.Code, te.Msg
		}
		t.Fatalf("smtp: %v", err)
		return 0, ""
	}
	if err := c.Hello("client.example.org"); err != nil {
		return reply(err)
	}
	if err := c.Mail("sender@example.org"); err != nil {
		return reply(err)
	}
	if err := c.Rcpt(rcpt); err != nil {
		return reply(err)
	}
	w, err := c.Data()
	if err != nil {
		return reply(err)
	}
	fmt.Fprintf(w, "From: sender@example.org\r\nTo: %s\r\nSubject: harness %s\r\nMessage-ID: <%s@harness.test>\r\n\r\nbody %s\r\n", rcpt, id, id, id)
	if err := w.Close(); err != nil {
		return reply(err)
	}
	c.Quit()
	return 250, "queued"
}

// sinkIDs returns the Message-IDs of the messages in the sink.
func sinkIDs(t *testing.T, dir string) []string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(dir, "*"))
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, line := range strings.Split(string(b), "\n") {
			if v, ok := strings.CutPrefix(line, "Message-ID: "); ok {
				ids = append(ids, strings.TrimSpace(v))
			}
		}
	}
	return ids
}

// up prints the layout; down stops master and sink by PID; status then reports both stopped.
func TestUpDown(t *testing.T) {
	t.Parallel()
	in := up(t, "")
	want := map[string]string{
		"SINK_DIR":  filepath.Join(in.dir, "sink"),
		"QUEUE_DIR": filepath.Join(in.dir, "queue"),
		"CONF_DIR":  filepath.Join(in.dir, "conf"),
		"LOG":       filepath.Join(in.dir, "maillog"),
		"MILTER":    "",
	}
	for k, v := range want {
		if got, ok := in.vars[k]; !ok || got != v {
			t.Errorf("%s = %q (present %v), want %q", k, got, ok, v)
		}
	}
	for _, k := range []string{"SMTP_PORT", "SINK_PORT", "REINJECT_PORT"} {
		if in.vars[k] == "" {
			t.Errorf("%s missing in output %v", k, in.vars)
		}
	}
	var pids []int
	for _, k := range []string{"MASTER_PID", "SINK_PID"} {
		var p int
		if _, err := fmt.Sscan(in.vars[k], &p); err != nil || p <= 1 {
			t.Fatalf("%s = %q", k, in.vars[k])
		}
		if err := syscall.Kill(p, 0); err != nil {
			t.Errorf("%s %d not running after up: %v", k, p, err)
		}
		pids = append(pids, p)
	}
	if _, err := harness(t, in.env, "down", in.dir); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for _, p := range pids {
		for syscall.Kill(p, 0) == nil && time.Now().Before(deadline) {
			time.Sleep(50 * time.Millisecond)
		}
		if syscall.Kill(p, 0) == nil {
			t.Errorf("pid %d still running after down", p)
		}
	}
	out, err := harness(t, in.env, "status", in.dir)
	if err == nil {
		t.Errorf("status after down exited 0:\n%s", out)
	}
	if want := "postfix not running\nsmtp-sink not running\n"; string(out) != want {
		t.Errorf("status = %q, want %q", out, want)
	}
}

// The private instance runs exactly the documented snippets. With the milter down,
// milter_default_action = tempfail gives the client 451 4.7.1 and nothing is queued; the
// re-injection listener of master.cf.snippet does not use milters at all.
func TestSnippetsMilterDown(t *testing.T) {
	t.Parallel()
	port := freePort(t)                                 // nothing listens there
	in := up(t, fmt.Sprintf("inet:%d@127.0.0.1", port)) // Sendmail form, converted by the harness
	out, err := exec.Command("postconf", "-c", in.vars["CONF_DIR"], "-n").Output()
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, line := range strings.Split(string(out), "\n") {
		if k, v, ok := strings.Cut(line, " = "); ok {
			got[k] = v
		}
	}
	snippet, err := os.ReadFile("main.cf.snippet")
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, line := range strings.Split(string(snippet), "\n") {
		if line == "" || line[0] == '#' {
			continue
		}
		k, v, ok := strings.Cut(line, " = ")
		if !ok {
			t.Fatalf("main.cf.snippet line %q is not key = value", line)
		}
		if k == "vpim_milter" {
			v = fmt.Sprintf("inet:127.0.0.1:%d", port)
		}
		n++
		if got[k] != v {
			t.Errorf("main.cf %s = %q, snippet says %q", k, got[k], v)
		}
	}
	if n < 9 {
		t.Errorf("only %d settings in main.cf.snippet", n)
	}
	for _, tc := range []struct{ param, want string }{
		{"smtpd_milters", fmt.Sprintf("inet:127.0.0.1:%d", port)},
		{"non_smtpd_milters", fmt.Sprintf("inet:127.0.0.1:%d", port)},
		{"milter_default_action", "tempfail"},
		{"milter_protocol", "6"},
	} {
		out, err := exec.Command("postconf", "-c", in.vars["CONF_DIR"], "-x", "-h", tc.param).Output()
		if err != nil {
			t.Fatal(err)
		}
		if g := strings.TrimSpace(string(out)); g != tc.want {
			t.Errorf("effective %s = %q, want %q", tc.param, g, tc.want)
		}
	}
	svc := "127.0.0.1:" + in.vars["REINJECT_PORT"] + "/inet/receive_override_options"
	out, err = exec.Command("postconf", "-c", in.vars["CONF_DIR"], "-P", "-h", svc).Output()
	if err != nil {
		t.Fatal(err)
	}
	if g := strings.TrimSpace(string(out)); !strings.Contains(g, "no_milters") {
		t.Errorf("master.cf %s = %q, want no_milters from master.cf.snippet", svc, g)
	}

	code, msg := send(t, in.vars["SMTP_PORT"], "down1", "user@vm.example.net")
	if code != 451 || !strings.HasPrefix(msg, "4.7.1 ") {
		t.Errorf("milter down: %d %s, want 451 4.7.1", code, msg)
	}
	if code, msg := send(t, in.vars["REINJECT_PORT"], "reinject1", "user@vm.example.net"); code != 250 {
		t.Errorf("re-injection listener: %d %s, want 250", code, msg)
	}
	if _, err := harness(t, in.env, "wait-empty", in.dir, "30"); err != nil {
		t.Fatal(err)
	}
	if got := sinkIDs(t, in.vars["SINK_DIR"]); len(got) != 1 || got[0] != "<reinject1@harness.test>" {
		t.Errorf("sink holds %v, want only <reinject1@harness.test>", got)
	}
}

// Without a milter every domain is relayed to the sink, one file per message.
func TestRelayToSink(t *testing.T) {
	t.Parallel()
	in := up(t, "")
	rcpts := map[string]string{"r1": "+15551234@vm.example.net", "r2": "user@legacy.example.net", "r3": "x@example.com"}
	for id, rcpt := range rcpts {
		if code, msg := send(t, in.vars["SMTP_PORT"], id, rcpt); code != 250 {
			t.Fatalf("%s: %d %s, want 250", rcpt, code, msg)
		}
	}
	if _, err := harness(t, in.env, "wait-empty", in.dir, "30"); err != nil {
		t.Fatal(err)
	}
	got := sinkIDs(t, in.vars["SINK_DIR"])
	want := map[string]bool{"<r1@harness.test>": true, "<r2@harness.test>": true, "<r3@harness.test>": true}
	if len(got) != len(want) {
		t.Fatalf("sink holds %v, want the 3 messages %v", got, want)
	}
	for _, id := range got {
		if !want[id] {
			t.Errorf("unexpected message %s in the sink", id)
		}
	}
}
