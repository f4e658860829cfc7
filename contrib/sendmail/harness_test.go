//go:build integration

package sendmail

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
	"testing"
)

const sendmailBin = "/opt/sendmail-x/usr/libexec/sendmail/sendmail"

// need skips (or, under CI=true, fails) when the unpacked Sendmail or smtp-sink is missing.
func need(t *testing.T) {
	t.Helper()
	for _, tool := range []string{sendmailBin, "/usr/sbin/smtp-sink", "m4"} {
		if _, err := exec.LookPath(tool); err != nil {
			if os.Getenv("CI") == "true" {
				t.Fatalf("%s is missing (CI=true): run contrib/sendmail/harness.sh install", tool)
			}
			t.Skipf("%s is missing: run contrib/sendmail/harness.sh install", tool)
		}
	}
	if os.Geteuid() != 0 {
		t.Skip("the Sendmail harness runs as root")
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

type instance struct {
	dir  string
	env  []string
	vars map[string]string
}

func harness(env []string, args ...string) ([]byte, error) {
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

func up(t *testing.T, milter string) *instance {
	t.Helper()
	need(t)
	dir, err := os.MkdirTemp("", "sm-harness-test-")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	in := &instance{dir: dir, vars: map[string]string{}}
	in.env = append(os.Environ(), "MILTER="+milter,
		fmt.Sprintf("SM_SMTP_PORT=%d", freePort(t)), fmt.Sprintf("SM_SINK_PORT=%d", freePort(t)))
	out, err := harness(in.env, "up", dir)
	if err != nil {
		os.RemoveAll(dir)
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if _, err := harness(in.env, "down", dir); err != nil {
			t.Error(err)
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

// Without a milter, mail for any domain is relayed to the sink.
func TestRelayToSink(t *testing.T) {
	t.Parallel()
	in := up(t, "")
	for _, tc := range []struct{ id, rcpt string }{{"s1", "+15551234@vm.example.net"}, {"s2", "user@example.com"}} {
		if code, msg := send(t, in.vars["SMTP_PORT"], tc.id, tc.rcpt); code != 250 {
			t.Fatalf("%s: %d %s, want 250", tc.rcpt, code, msg)
		}
	}
	if _, err := harness(in.env, "wait-empty", in.dir, "30"); err != nil {
		t.Fatal(err)
	}
	got := sinkIDs(t, in.vars["SINK_DIR"])
	if len(got) != 2 || !(got[0] == "<s1@harness.test>" || got[1] == "<s1@harness.test>") ||
		!(got[0] == "<s2@harness.test>" || got[1] == "<s2@harness.test>") {
		t.Errorf("sink holds %v, want <s1@harness.test> and <s2@harness.test>", got)
	}
}

// The generated config contains the snippet with only S= replaced, and F=T turns a
// milter that is down into 451 4.3.2 for the client.
func TestSnippetAndMilterDown(t *testing.T) {
	t.Parallel()
	port := freePort(t)
	in := up(t, fmt.Sprintf("inet:127.0.0.1:%d", port)) // Postfix form, converted
	if want := fmt.Sprintf("inet:%d@127.0.0.1", port); in.vars["MILTER"] != want {
		t.Errorf("MILTER = %q, want %q", in.vars["MILTER"], want)
	}
	mc, err := os.ReadFile(filepath.Join(in.dir, "harness.mc"))
	if err != nil {
		t.Fatal(err)
	}
	snippet, err := os.ReadFile("sendmail.mc.snippet")
	if err != nil {
		t.Fatal(err)
	}
	want := strings.Replace(string(snippet), "S=inet:8895@127.0.0.1", fmt.Sprintf("S=inet:%d@127.0.0.1", port), 1)
	if !strings.Contains(string(mc), want) {
		t.Errorf("harness.mc does not contain the snippet verbatim (S= replaced)")
	}
	cf, err := os.ReadFile(in.vars["CF"])
	if err != nil {
		t.Fatal(err)
	}
	if x := fmt.Sprintf("Xvpim-milter, S=inet:%d@127.0.0.1, F=T, T=C:10s;S:30s;R:60s;E:5m\n", port); !strings.Contains(string(cf), x) {
		t.Errorf("sendmail.cf lacks %q", x)
	}
	code, msg := send(t, in.vars["SMTP_PORT"], "down1", "user@vm.example.net")
	if code != 451 || !strings.HasPrefix(msg, "4.3.2 ") {
		t.Errorf("milter down: %d %s, want 451 4.3.2", code, msg)
	}
}
