//go:build integration

package harness

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/vpim-milter/vpim-milter/internal/testport"
)

// Harness is one MTA's harness.sh.
type Harness struct {
	// Name is the MTA as messages spell it: "Postfix".
	Name string
	// Dir is the harness's directory below the module root: "integration/mta/postfix".
	Dir string
	// Tools are the programs the harness needs, on PATH or as absolute paths.
	Tools []string
	// PortEnv names the environment variables that each get a reserved loopback port for
	// up: "PF_SMTP_PORT", ...
	PortEnv []string
	// Main are extra Postfix main.cf settings ("key = value"), applied after
	// contrib/postfix/main.cf.snippet (harness.sh PF_MAIN): a test's own milter chain or
	// transport. Only the Postfix harness reads them.
	Main []string
	// milterForm writes a milter TCP port in the MTA's own address form.
	milterForm string
	// Env is added to the environment of harness.sh up, e.g. "SASL_USERS=alice:secret"
	// (Postfix: SMTP AUTH against a private Dovecot).
	Env []string
}

// Postfix is integration/mta/postfix/harness.sh; up sets all three of its ports.
func Postfix() *Harness {
	return &Harness{
		Name:       "Postfix",
		Dir:        "integration/mta/postfix",
		Tools:      []string{"postconf", "postfix", "/usr/sbin/smtp-sink", "script"},
		PortEnv:    []string{"PF_SMTP_PORT", "PF_SINK_PORT", "PF_REINJECT_PORT"},
		milterForm: "inet:127.0.0.1:%d",
	}
}

// Sendmail is integration/mta/sendmail/harness.sh, on the Sendmail that harness.sh install
// unpacks.
func Sendmail() *Harness {
	return &Harness{
		Name:       "Sendmail",
		Dir:        "integration/mta/sendmail",
		Tools:      []string{"/opt/sendmail-x/usr/libexec/sendmail/sendmail", "/usr/sbin/smtp-sink", "m4"},
		PortEnv:    []string{"SM_SMTP_PORT", "SM_SINK_PORT"},
		milterForm: "inet:%d@127.0.0.1",
	}
}

// MTAs are the harnesses of every MTA the tests run against.
func MTAs() []*Harness { return []*Harness{Postfix(), Sendmail()} }

// MilterAddr is the address of a milter on 127.0.0.1:port in the MTA's own form; port 0
// is no milter (""). Each harness also converts the other MTA's form.
func (h *Harness) MilterAddr(port int) string {
	if port == 0 {
		return ""
	}
	return fmt.Sprintf(h.milterForm, port)
}

// Script is the absolute path of the harness script.
func (h *Harness) Script() string {
	return filepath.Join(RepoRoot(), filepath.FromSlash(h.Dir), "harness.sh")
}

// Need skips the test (or, under CI=true, fails it) when one of h.Tools is missing or the
// test does not run as root.
func (h *Harness) Need(t testing.TB) {
	t.Helper()
	need(t, h.Dir+"/harness.sh install", h.Tools...)
	if os.Geteuid() != 0 {
		t.Skipf("the %s harness runs as root", h.Name)
	}
}

// Instance is one private MTA that Harness.Up started.
type Instance struct {
	Name   string            // the MTA: "Postfix"
	Dir    string            // the instance's directory (harness.sh up DIR)
	Env    []string          // the environment harness.sh runs with
	Vars   map[string]string // the KEY=VALUE lines up printed
	script string
}

// Up starts an instance whose milter is milter (harness MILTER form, "" for none) in a new
// directory, and stops it and removes the directory when the test ends. The instance's
// ports are reserved (internal/testport) and released only for harness.sh up; when the MTA
// or its sink still found one taken, Up tries again on other ports. When the test failed,
// the instance's LOG file is logged.
func (h *Harness) Up(t testing.TB, milter string) *Instance {
	t.Helper()
	h.Need(t)
	// the MTA's users (postfix, daemon) must reach the sink directory: not t.TempDir,
	// whose parents are mode 0700
	dir, err := os.MkdirTemp("", filepath.Base(h.Dir)+"-harness-")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	in := &Instance{Name: h.Name, Dir: dir, script: h.Script()}
	t.Cleanup(func() {
		if _, err := in.Run("down", dir); err != nil {
			t.Error(err)
		}
		if t.Failed() {
			if b, err := os.ReadFile(in.Vars["LOG"]); err == nil {
				t.Logf("%s (tail):\n%s", in.Vars["LOG"], Tail(string(b), 60))
			}
		}
		os.RemoveAll(dir)
	})
	const tries = 3
	for try := 1; ; try++ {
		ports := testport.Reserve(t, len(h.PortEnv))
		in.Env = append(append(os.Environ(), h.Env...), "MILTER="+milter, "PF_MAIN="+strings.Join(h.Main, "\n"))
		for i, env := range h.PortEnv {
			in.Env = append(in.Env, fmt.Sprintf("%s=%d", env, ports.Port(i)))
		}
		ports.Release()
		out, err := in.Run("up", dir)
		if err == nil {
			in.Vars = map[string]string{}
			sc := bufio.NewScanner(bytes.NewReader(out))
			for sc.Scan() {
				if k, v, ok := strings.Cut(sc.Text(), "="); ok {
					in.Vars[k] = v
				}
			}
			return in
		}
		// a program outside the tests took a port between Release and the bind of the MTA
		// (maillog, start.log) or of its sink (sink.log)
		taken := strings.Contains(err.Error(), "already in use")
		for _, log := range []string{"maillog", "start.log", "sink.log"} {
			if b, rerr := os.ReadFile(filepath.Join(dir, log)); rerr == nil && testport.InUse(string(b)) {
				taken = true
			}
		}
		if !taken || try == tries {
			t.Fatal(err)
		}
		t.Logf("%s: a port was taken, trying others: %v", h.Name, err)
		in.Run("down", dir)
	}
}

// Run runs harness.sh with args in the instance's environment and returns its stdout; the
// error carries its stderr.
func (in *Instance) Run(args ...string) ([]byte, error) {
	cmd := exec.Command("bash", append([]string{in.script}, args...)...)
	cmd.Env = in.Env
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return out, fmt.Errorf("%s: harness.sh %s: %w\n%s", in.Name, strings.Join(args, " "), err, stderr.String())
	}
	return out, nil
}

// SMTP is the host:port of the instance's SMTP listener (the one with the milter).
func (in *Instance) SMTP() string { return "127.0.0.1:" + in.Vars["SMTP_PORT"] }

// SubmitWith is Submit through the instance's SMTP listener with o's client address and
// SMTP AUTH; see SubmitWith.
func (in *Instance) SubmitWith(t testing.TB, o SubmitOptions, from string, rcpts []string, msg string) (int, string) {
	t.Helper()
	return SubmitWith(t, in.SMTP(), o, from, rcpts, msg)
}

// Submit submits msg (lines ending in \n) from from to rcpts through the instance's SMTP
// listener; see Submit.
func (in *Instance) Submit(t testing.TB, from string, rcpts []string, msg string) (int, string) {
	t.Helper()
	return Submit(t, in.SMTP(), from, rcpts, msg)
}

// Delivered returns the messages in the instance's sink so far.
func (in *Instance) Delivered(t testing.TB) []Delivered {
	t.Helper()
	return ReadSink(t, in.Vars["SINK_DIR"])
}

// WaitDelivered waits up to timeout until the sink holds n messages and returns them; it
// fails the test when there are more or fewer.
func (in *Instance) WaitDelivered(t testing.TB, n int, timeout time.Duration) []Delivered {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		msgs := in.Delivered(t)
		if len(msgs) >= n {
			// smtp-sink writes a file as the data arrives: wait until no file has grown
			// for a moment.
			time.Sleep(300 * time.Millisecond)
			again := in.Delivered(t)
			same := len(again) == len(msgs)
			for i := 0; same && i < len(msgs); i++ {
				same = len(again[i].Raw) == len(msgs[i].Raw)
			}
			if !same && time.Now().Before(deadline) {
				continue
			}
			msgs = again
		}
		if len(msgs) >= n || time.Now().After(deadline) {
			if len(msgs) != n {
				t.Fatalf("%s: %d messages delivered, want %d", in.Name, len(msgs), n)
			}
			return msgs
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// WaitSink waits up to 30 s for the queue to drain, then checks that the sink holds
// exactly the messages Send sent with the given ids, each once.
func (in *Instance) WaitSink(t testing.TB, ids ...string) {
	t.Helper()
	if _, err := in.Run("wait-empty", in.Dir, "30"); err != nil {
		t.Fatal(err)
	}
	want := make([]string, 0, len(ids))
	for _, id := range ids {
		want = append(want, MessageID(id))
	}
	slices.Sort(want)
	got := SinkIDs(t, in.Vars["SINK_DIR"])
	slices.Sort(got)
	if !slices.Equal(got, want) {
		t.Errorf("sink holds %v, want %v", got, want)
	}
}

// RelayToSink sends one message per id to its recipient in rcpts through the instance's
// SMTP port, requires 250 for each, and checks that all of them and nothing else reach
// the sink.
func (in *Instance) RelayToSink(t testing.TB, rcpts map[string]string) {
	t.Helper()
	ids := make([]string, 0, len(rcpts))
	for id, rcpt := range rcpts {
		if code, msg := Send(t, in.Vars["SMTP_PORT"], id, rcpt); code != 250 {
			t.Fatalf("%s: %d %s, want 250", rcpt, code, msg)
		}
		ids = append(ids, id)
	}
	in.WaitSink(t, ids...)
}

// RepoRoot is the checkout's top directory.
func RepoRoot() string {
	_, file, _, _ := runtime.Caller(0) // <root>/integration/harness/mta.go
	return filepath.Join(filepath.Dir(file), "..", "..")
}

// Need skips the test, or fails it under CI=true, when one of tools is missing (a name on
// PATH or an absolute path).
func Need(t testing.TB, tools ...string) {
	t.Helper()
	need(t, "make deps", tools...)
}

// need is Need with the command that installs the tools.
func need(t testing.TB, install string, tools ...string) {
	t.Helper()
	for _, tool := range tools {
		if _, err := exec.LookPath(tool); err != nil {
			if os.Getenv("CI") == "true" {
				t.Fatalf("%s is not installed (CI=true): %s installs it", tool, install)
			}
			t.Skipf("%s is not installed: %s installs it", tool, install)
		}
	}
}

// Tail is the last n lines of s.
func Tail(s string, n int) string {
	lines := strings.Split(s, "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
