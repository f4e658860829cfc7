//go:build integration

package integration

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/smtp"
	"net/textproto"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vpim-milter/vpim-milter/milter"
)

// repoRoot is the checkout's top directory.
func repoRoot(t testing.TB) string {
	t.Helper()
	_, file, _, _ := runtime.Caller(0)
	return filepath.Dir(filepath.Dir(file))
}

// need skips (or, under CI=true, fails) when a tool is missing.
func need(t testing.TB, tools ...string) {
	t.Helper()
	for _, tool := range tools {
		if _, err := exec.LookPath(tool); err != nil {
			if _, err := os.Stat(tool); err == nil {
				continue
			}
			if os.Getenv("CI") == "true" {
				t.Fatalf("%s is not installed; .ci/run must install it", tool)
			}
			t.Skipf("%s is not installed", tool)
		}
	}
}

// freePort returns a loopback TCP port nobody listens on right now.
func freePort(t testing.TB) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// mta is one private MTA instance started by an integration/mta harness.
type mta struct {
	name    string
	harness string
	dir     string
	vars    map[string]string
	smtp    string // host:port of the SMTP listener with the milter
}

// mtaKind describes how to start one kind of MTA.
type mtaKind struct {
	name       string
	harness    string // path below integration/mta/
	portEnv    string
	sinkEnv    string
	milterAddr func(port int) string // milter address in the harness's MILTER form
	tools      []string
}

var kinds = []mtaKind{
	{"postfix", "postfix/harness.sh", "PF_SMTP_PORT", "PF_SINK_PORT", func(p int) string { return fmt.Sprintf("inet:127.0.0.1:%d", p) }, []string{"postconf", "/usr/sbin/smtp-sink"}},
	{"sendmail", "sendmail/harness.sh", "SM_SMTP_PORT", "SM_SINK_PORT", func(p int) string { return fmt.Sprintf("inet:%d@127.0.0.1", p) }, []string{"/usr/sbin/smtp-sink", "/opt/sendmail-x/usr/libexec/sendmail/sendmail"}},
}

// startMTA brings up a private instance of kind with its milter at
// milterPort (0: no milter) and stops it when the test ends.
func startMTA(t *testing.T, k mtaKind, milterPort int) *mta {
	t.Helper()
	need(t, k.tools...)
	h := filepath.Join(repoRoot(t), "integration", "mta", k.harness)
	dir := worldDir(t)
	port, sink := freePort(t), freePort(t)
	env := append(os.Environ(), fmt.Sprintf("%s=%d", k.portEnv, port), fmt.Sprintf("%s=%d", k.sinkEnv, sink),
		fmt.Sprintf("PF_REINJECT_PORT=%d", freePort(t)))
	if milterPort != 0 {
		env = append(env, "MILTER="+k.milterAddr(milterPort))
	} else {
		env = append(env, "MILTER=")
	}
	cmd := exec.Command("bash", h, "up", dir)
	cmd.Env = env
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("%s up: %v\n%s", k.name, err, stderr.String())
	}
	m := &mta{name: k.name, harness: h, dir: dir, vars: map[string]string{}}
	for _, line := range strings.Split(string(out), "\n") {
		if kk, v, ok := strings.Cut(strings.TrimSpace(line), "="); ok {
			m.vars[kk] = v
		}
	}
	m.smtp = fmt.Sprintf("127.0.0.1:%d", port)
	t.Cleanup(func() {
		c := exec.Command("bash", h, "down", dir)
		c.Env = env
		if out, err := c.CombinedOutput(); err != nil {
			t.Logf("%s down: %v\n%s", k.name, err, out)
		}
		if t.Failed() {
			if b, err := os.ReadFile(m.vars["LOG"]); err == nil {
				t.Logf("%s log (tail):\n%s", k.name, tail(string(b), 40))
			}
		}
	})
	return m
}

// worldDir is a temporary directory the MTA's unprivileged users can
// traverse (t.TempDir's parents are mode 0700).
func worldDir(t *testing.T) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "vpim-mta-")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	return dir
}

func tail(s string, n int) string {
	lines := strings.Split(s, "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// send submits one message over SMTP and returns the server's final reply
// (code and text) to DATA, or to the first refused command.
func (m *mta) send(t *testing.T, from string, rcpts []string, msg string) (int, string) {
	t.Helper()
	c, err := smtp.Dial(m.smtp)
	if err != nil {
		t.Fatalf("dial %s: %v", m.smtp, err)
	}
	defer c.Close()
	if err := c.Hello("client.example.org"); err != nil {
		return replyOf(t, err)
	}
	if err := c.Mail(from); err != nil {
		return replyOf(t, err)
	}
	for _, r := range rcpts {
		if err := c.Rcpt(r); err != nil {
			return replyOf(t, err)
		}
	}
	w, err := c.Data()
	if err != nil {
		return replyOf(t, err)
	}
	if _, err := io.WriteString(w, strings.ReplaceAll(msg, "\n", "\r\n")); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		return replyOf(t, err)
	}
	_ = c.Quit()
	return 250, "ok"
}

func replyOf(t *testing.T, err error) (int, string) {
	t.Helper()
	var te *textproto.Error
	if errors.As(err, &te) {
		return te.Code, te.Msg
	}
	t.Fatalf("smtp: %v", err)
	return 0, ""
}

// delivered is one message the sink received.
type delivered struct {
	file   string
	rcpts  []string
	header textproto.MIMEHeader
	raw    string
	body   string
}

// waitDelivered waits until the sink holds n messages and returns them.
func (m *mta) waitDelivered(t *testing.T, n int, timeout time.Duration) []delivered {
	t.Helper()
	dir := m.vars["SINK_DIR"]
	deadline := time.Now().Add(timeout)
	for {
		msgs := readSink(t, dir)
		if len(msgs) >= n {
			// smtp-sink writes a file as the data arrives: wait until no
			// file has grown for a moment.
			time.Sleep(300 * time.Millisecond)
			again := readSink(t, dir)
			same := len(again) == len(msgs)
			for i := 0; same && i < len(msgs); i++ {
				same = len(again[i].raw) == len(msgs[i].raw)
			}
			if !same && time.Now().Before(deadline) {
				continue
			}
			msgs = again
		}
		if len(msgs) >= n || time.Now().After(deadline) {
			if len(msgs) != n {
				t.Fatalf("%s: %d messages delivered, want %d", m.name, len(msgs), n)
			}
			return msgs
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// readSink parses the smtp-sink dump files: the sink's own X-* trace lines
// (X-Rcpt-Args carries each recipient), then the message.
func readSink(t *testing.T, dir string) []delivered {
	ents, _ := os.ReadDir(dir)
	var out []delivered
	for _, e := range ents {
		p := filepath.Join(dir, e.Name())
		b, err := os.ReadFile(p)
		if err != nil || !bytes.Contains(b, []byte("\n\n")) && !bytes.Contains(b, []byte("\r\n\r\n")) {
			continue // still being written
		}
		raw := strings.ReplaceAll(string(b), "\r\n", "\n")
		d := delivered{file: p, raw: raw}
		hdr, body, _ := strings.Cut(raw, "\n\n")
		// smtp-sink ends each dump with one newline of its own.
		d.body = strings.TrimSuffix(body, "\n")
		tp := textproto.NewReader(bufio.NewReader(strings.NewReader(hdr + "\n\n")))
		d.header, _ = tp.ReadMIMEHeader()
		for _, v := range d.header.Values("X-Rcpt-Args") {
			f := strings.Fields(v)
			if len(f) > 0 {
				d.rcpts = append(d.rcpts, strings.Trim(f[0], "<>"))
			}
		}
		out = append(out, d)
	}
	return out
}

// inProcessFilter serves a filter with engine on a free loopback port until
// the test ends, and returns the port and a function that stops it early.
func inProcessFilter(t *testing.T, engine milter.Engine, opts milter.Options) (port int, stop func()) {
	t.Helper()
	port = freePort(t)
	addr, _ := milter.ParseAddress(fmt.Sprintf("inet:%d@127.0.0.1", port))
	_, stop = serveFilter(t, engine, addr, opts)
	return port, stop
}

// inProcessFilterAt serves the filter on a given address.
func inProcessFilterAt(t *testing.T, engine milter.Engine, addr milter.Address) (int, func()) {
	return serveFilter(t, engine, addr, milter.Options{})
}

func serveFilter(t *testing.T, engine milter.Engine, addr milter.Address, opts milter.Options) (int, func()) {
	t.Helper()
	opts.Listen = addr
	if opts.TempDir == "" {
		opts.TempDir = t.TempDir()
	}
	log := slog.New(slog.NewTextHandler(testWriter{t}, nil))
	f, err := milter.New(opts, engine, log, nil)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := milter.Listen(addr, milter.SocketOptions{})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { _ = f.Serve(ctx, ln); close(done) }()
	var once sync.Once
	stop := func() { once.Do(func() { cancel(); <-done }) }
	t.Cleanup(stop)
	return ln.Addr().(*net.TCPAddr).Port, stop
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// buildBinary builds cmd/vpim-milter once per test run.
var buildOnce struct {
	sync.Once
	path string
	err  error
}

func vpimBinary(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "vpim-bin-")
		if err != nil {
			buildOnce.err = err
			return
		}
		buildOnce.path = filepath.Join(dir, "vpim-milter")
		// Built as released (Makefile build): static, without cgo.
		cmd := exec.Command("go", "build", "-trimpath", "-o", buildOnce.path, "./cmd/vpim-milter")
		cmd.Dir = repoRoot(t)
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		if out, err := cmd.CombinedOutput(); err != nil {
			buildOnce.err = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if buildOnce.err != nil {
		t.Fatal(buildOnce.err)
	}
	return buildOnce.path
}

// daemon is a running vpim-milter process.
type daemon struct {
	cmd  *exec.Cmd
	port int
	log  *bytes.Buffer
	lw   *lockedWriter
}

func (d *daemon) logString() string {
	d.lw.mu.Lock()
	defer d.lw.mu.Unlock()
	return d.log.String()
}

// startDaemon runs the binary with a config written from toml (the listen
// key is added) and waits until it accepts connections.
func startDaemon(t *testing.T, port int, toml string) *daemon {
	t.Helper()
	dir := t.TempDir()
	cfg := filepath.Join(dir, "vpim-milter.toml")
	if port == 0 {
		port = freePort(t)
	}
	full := fmt.Sprintf("[milter]\nlisten = \"inet:%d@127.0.0.1\"\n%s", port, toml)
	if err := os.WriteFile(cfg, []byte(full), 0o644); err != nil {
		t.Fatal(err)
	}
	d := &daemon{port: port, log: &bytes.Buffer{}}
	d.cmd = exec.Command(vpimBinary(t), "serve", "-c", cfg)
	d.cmd.Dir = dir
	d.lw = &lockedWriter{w: d.log}
	d.cmd.Stderr = d.lw
	if err := d.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.stop() })
	deadline := time.Now().Add(10 * time.Second)
	for {
		c, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", port))
		if err == nil {
			c.Close()
			return d
		}
		if time.Now().After(deadline) {
			t.Fatalf("vpim-milter did not listen on %d:\n%s", port, d.log)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func (d *daemon) stop() {
	if d.cmd.Process != nil && d.cmd.ProcessState == nil {
		_ = d.cmd.Process.Kill()
		_ = d.cmd.Wait()
	}
}

type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}
