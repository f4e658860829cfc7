//go:build integration

package integration

import (
	"bytes"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/vpim-milter/vpim-milter/integration/harness"
	"github.com/vpim-milter/vpim-milter/internal/testport"
	"github.com/vpim-milter/vpim-milter/milter"
)

// startMTA brings up a private instance of h (harness.Postfix or harness.Sendmail) whose
// milter listens on 127.0.0.1:milterPort (0: no milter), and stops it when the test ends.
func startMTA(t *testing.T, h *harness.Harness, milterPort int) *harness.Instance {
	t.Helper()
	return h.Up(t, h.MilterAddr(milterPort))
}

// inProcessFilter serves a filter with engine on a free loopback port until the test
// ends, and returns the port and a function that stops it early.
func inProcessFilter(t *testing.T, engine milter.Engine, opts milter.Options) (port int, stop func()) {
	t.Helper()
	addr, err := milter.ParseAddress("inet:0@127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	return harness.ServeMilter(t, engine, addr, opts)
}

// buildOnce builds cmd/vpim-milter once per test run.
var buildOnce struct {
	sync.Once
	path string
	err  error
}

// TestMain removes the binary vpimBinary built (18 MB in /tmp per run otherwise).
func TestMain(m *testing.M) {
	code := m.Run()
	if buildOnce.path != "" {
		os.RemoveAll(filepath.Dir(buildOnce.path))
	}
	os.Exit(code)
}

// vpimBinary is the daemon the tests run: built from this tree, or the one
// $VPIM_MILTER_BIN names (to see a test fail on another build).
func vpimBinary(t *testing.T) string {
	t.Helper()
	if bin := os.Getenv("VPIM_MILTER_BIN"); bin != "" {
		return bin
	}
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "vpim-bin-")
		if err != nil {
			buildOnce.err = err
			return
		}
		buildOnce.path = filepath.Join(dir, "vpim-milter")
		// Built as released (Makefile build): static, without cgo.
		cmd := exec.Command("go", "build", "-trimpath", "-o", buildOnce.path, "./cmd/vpim-milter")
		cmd.Dir = harness.RepoRoot()
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
	cmd    *exec.Cmd
	config string // the configuration file (a test may rewrite it and send SIGHUP)
	port   int
	log    *bytes.Buffer
	lw     *lockedWriter
	exited chan struct{} // closed when the process has exited
	err    error         // cmd.Wait's result, once exited is closed
}

func (d *daemon) logString() string {
	d.lw.mu.Lock()
	defer d.lw.mu.Unlock()
	return d.log.String()
}

// startDaemon runs the binary with a config written from toml, with the milter on a
// reserved port (the listen key is added, with allow_unauthenticated_listener: the tests
// speak milter over TCP, also to daemons whose gateway places calls; TestListenerExposure
// checks the refusal without it), and waits until it accepts connections. The
// blocks in hand hold the ports the toml gives the daemon (telephony.sip.listen, ...):
// they are released right before the daemon starts. When the daemon finds its milter
// port taken all the same, it is started again on another.
func startDaemon(t *testing.T, toml string, hand ...*testport.Block) *daemon {
	t.Helper()
	dir := t.TempDir()
	cfg := filepath.Join(dir, "vpim-milter.toml")
	for try := 1; ; try++ {
		ports := testport.Reserve(t, 1)
		d := &daemon{port: ports.Port(0), config: cfg, log: &bytes.Buffer{}, exited: make(chan struct{})}
		allow := "allow_unauthenticated_listener = true\n"
		if os.Getenv("VPIM_MILTER_BIN") != "" {
			allow = "" // a build from before the key
		}
		full := fmt.Sprintf("[milter]\nlisten = \"inet:%d@127.0.0.1\"\n%s%s", d.port, allow, toml)
		if err := os.WriteFile(cfg, []byte(full), 0o644); err != nil {
			t.Fatal(err)
		}
		d.cmd = exec.Command(vpimBinary(t), "serve", "-c", cfg)
		d.cmd.Dir = dir
		d.lw = &lockedWriter{w: d.log}
		d.cmd.Stderr = d.lw
		ports.Release()
		for _, b := range hand {
			b.Release()
		}
		if err := d.cmd.Start(); err != nil {
			t.Fatal(err)
		}
		go func() { d.err = d.cmd.Wait(); close(d.exited) }()
		t.Cleanup(d.stop)
		if d.waitListening() {
			return d
		}
		if !testport.InUse(d.logString()) || try == 3 {
			t.Fatalf("vpim-milter did not listen on %d:\n%s", d.port, d.logString())
		}
		t.Logf("vpim-milter found a port taken, trying another:\n%s", d.logString())
	}
}

// waitListening waits up to 10 s until the daemon accepts connections (true), or it exits
// (false).
func (d *daemon) waitListening() bool {
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if c, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", d.port)); err == nil {
			c.Close()
			return true
		}
		select {
		case <-d.exited:
			return false
		case <-time.After(50 * time.Millisecond):
		}
	}
	return false
}

// stop kills the daemon if it still runs and waits until it has exited.
func (d *daemon) stop() {
	_ = d.cmd.Process.Kill()
	<-d.exited
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
