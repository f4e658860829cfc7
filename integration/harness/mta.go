//go:build integration

package harness

import (
	"bufio"
	"bytes"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// Harness is one MTA's harness.sh. Its tests run in the harness's directory (go test's
// working directory for their package), so the script is ./harness.sh.
type Harness struct {
	// Name is the MTA as messages spell it: "Postfix".
	Name string
	// Dir is the harness's directory below the module root, for messages: "integration/mta/postfix".
	Dir string
	// Tools are the programs the harness needs, on PATH or as absolute paths.
	Tools []string
	// PortEnv names the environment variables that each get a free loopback port for up:
	// "PF_SMTP_PORT", ...
	PortEnv []string
}

// Need skips the test (or, under CI=true, fails it) when one of h.Tools is missing or the
// test does not run as root.
func (h *Harness) Need(t testing.TB) {
	t.Helper()
	for _, tool := range h.Tools {
		if _, err := exec.LookPath(tool); err != nil {
			if os.Getenv("CI") == "true" {
				t.Fatalf("%s is missing (CI=true): run %s/harness.sh install", tool, h.Dir)
			}
			t.Skipf("%s is missing: run %s/harness.sh install", tool, h.Dir)
		}
	}
	if os.Geteuid() != 0 {
		t.Skipf("the %s harness runs as root", h.Name)
	}
}

// Instance is one private MTA that Harness.Up started.
type Instance struct {
	Dir  string            // the instance's directory (harness.sh up DIR)
	Env  []string          // the environment harness.sh runs with
	Vars map[string]string // the KEY=VALUE lines up printed
}

// Up starts an instance whose milter is milter (harness MILTER form, "" for none) in a
// new directory, and stops it and removes the directory when the test ends. When the test
// failed, the instance's LOG file is logged.
func (h *Harness) Up(t testing.TB, milter string) *Instance {
	t.Helper()
	h.Need(t)
	dir, err := os.MkdirTemp("", filepath.Base(h.Dir)+"-harness-test-")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(dir, 0o755); err != nil { // the MTA's users must reach the sink dir
		t.Fatal(err)
	}
	in := &Instance{Dir: dir, Vars: map[string]string{}}
	in.Env = append(os.Environ(), "MILTER="+milter)
	for i, port := range FreePorts(t, len(h.PortEnv)) {
		in.Env = append(in.Env, fmt.Sprintf("%s=%d", h.PortEnv[i], port))
	}
	out, err := in.Run("up", dir)
	if err != nil {
		os.RemoveAll(dir)
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if _, err := in.Run("down", dir); err != nil {
			t.Error(err)
		}
		if t.Failed() {
			if b, err := os.ReadFile(in.Vars["LOG"]); err == nil {
				t.Logf("%s:\n%s", in.Vars["LOG"], b)
			}
		}
		os.RemoveAll(dir)
	})
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		if k, v, ok := strings.Cut(sc.Text(), "="); ok {
			in.Vars[k] = v
		}
	}
	return in
}

// Run runs harness.sh with args in the instance's environment and returns its stdout; the
// error carries its stderr.
func (in *Instance) Run(args ...string) ([]byte, error) {
	cmd := exec.Command("bash", append([]string{"harness.sh"}, args...)...)
	cmd.Env = in.Env
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return out, fmt.Errorf("harness.sh %s: %w\n%s", strings.Join(args, " "), err, stderr.String())
	}
	return out, nil
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

// FreePort returns a loopback TCP port nobody listens on right now.
func FreePort(t testing.TB) int {
	t.Helper()
	return FreePorts(t, 1)[0]
}

// FreePorts returns n loopback TCP ports nobody listens on right now. Each stays bound
// until all are chosen, so the n ports differ.
func FreePorts(t testing.TB, n int) []int {
	t.Helper()
	ports := make([]int, n)
	for i := range ports {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer ln.Close()
		ports[i] = ln.Addr().(*net.TCPAddr).Port
	}
	return ports
}
