// Package siptest starts the SIP peers the telephony tests call, from the fixtures in this
// directory: sipp running one of the UAS scenarios in sipp/ (StartSipp), baresip, from
// the templates in baresip/, as a callee that answers and records (StartBaresip), and
// Kamailio with kamailio/dispatcher.cfg as a proxy that spreads calls over several callees
// (StartKamailio). Both the telephony package's tests and the integration tests use it;
// only tests import it.
//
// Every port a peer binds is reserved with internal/testport and released only for the
// program's start, baresip's unasked-for ones included (its TCP and TLS transports bind the
// SIP port and the SIP port + 1). When a program still finds a port taken ("Address already
// in use": a program outside the tests was faster), the start is tried again on other ports.
//
// A missing sipp, baresip or kamailio skips the test, or fails it under CI=true.
package siptest

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/vpim-milter/vpim-milter/internal/testport"
)

// tries is how often a start is tried when a port was taken.
const tries = 3

// Sipp is a sipp UAS running a scenario.
type Sipp struct {
	// Port is its SIP port (UDP) on 127.0.0.1.
	Port int
	// Exit receives sipp's exit status when it ends (0: every call went as scripted).
	Exit <-chan int
}

// StartSipp runs sipp with scenario (a file in sipp/) and args on 127.0.0.1, returns once
// sipp has bound its SIP and media ports, and kills its process group when the test ends,
// logging its output when the test failed. The SIP port and the media ports (-mp M binds M
// and M+2) are reserved; the control port sipp finds itself (the first free one from 8888).
func StartSipp(t testing.TB, scenario string, args ...string) *Sipp {
	t.Helper()
	need(t, "sipp", "sip-tester")
	sf := filepath.Join(dir(), "sipp", scenario)
	if _, err := os.Stat(sf); err != nil {
		t.Fatalf("siptest: scenario: %v", err)
	}
	for try := 1; ; try++ {
		ports := testport.Reserve(t, 4) // SIP, media M, M+1 (RTCP, unused), M+2 (video)
		sip, media := ports.Port(0), ports.Port(1)
		argv := append([]string{"-sf", sf, "-i", "127.0.0.1", "-p", fmt.Sprint(sip),
			"-mi", "127.0.0.1", "-mp", fmt.Sprint(media), "-nostdin", "-timeout", "60s"}, args...)
		ports.Release()
		p := start(t, "sipp", argv...)
		if p.wait(t, 10*time.Second, func() bool {
			return testport.Bound("udp", sip) && testport.Bound("udp", media) && testport.Bound("udp", media+2)
		}) {
			return &Sipp{Port: sip, Exit: p.exit}
		}
		p.retryOrFail(t, try)
	}
}

// Baresip is a running baresip callee.
type Baresip struct {
	// SIPPort is its SIP port (UDP and TCP) on 127.0.0.1.
	SIPPort int
	// CtrlPort is its ctrl_tcp port (netstring JSON commands, e.g. "sndcode").
	CtrlPort int
	// Dir holds its configuration and, as dump-<time>-dec.wav, what it received.
	Dir string

	p *proc
}

// StartBaresip runs baresip as a callee for user (the dialled number) that answers at once,
// accepts codecs ("PCMU", "PCMA" or "PCMU,PCMA") and records what it receives; it returns
// once baresip is ready and kills it when the test ends. Reserved for it: the SIP port
// (UDP, TCP), the SIP port + 1 (its TLS transport), the ctrl_tcp port and its RTP range.
func StartBaresip(t testing.TB, user, codecs string) *Baresip {
	t.Helper()
	need(t, "baresip", "baresip")
	for try := 1; ; try++ {
		// 0 SIP, 1 SIP/TLS, 2 ctrl_tcp, 3..12 RTP (rtp_ports), 13 RTCP of the last RTP port
		ports := testport.Reserve(t, 14)
		b := &Baresip{SIPPort: ports.Port(0), CtrlPort: ports.Port(2), Dir: t.TempDir()}
		subst := strings.NewReplacer("@SIP_PORT@", fmt.Sprint(b.SIPPort),
			"@RTP_PORTS@", fmt.Sprintf("%d-%d", ports.Port(3), ports.Port(12)),
			"@SND_PATH@", b.Dir, "@CTRL_PORT@", fmt.Sprint(b.CtrlPort), "@USER@", user, "@CODECS@", codecs)
		for _, f := range []string{"config", "accounts"} {
			tmpl, err := os.ReadFile(filepath.Join(dir(), "baresip", f))
			if err != nil {
				t.Fatalf("siptest: baresip template: %v", err)
			}
			if err := os.WriteFile(filepath.Join(b.Dir, f), []byte(subst.Replace(string(tmpl))), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		ports.Release()
		b.p = start(t, "baresip", "-f", b.Dir)
		if b.p.wait(t, 15*time.Second, func() bool { return bytes.Contains(b.p.output(), []byte("baresip is ready")) }) {
			return b
		}
		b.p.retryOrFail(t, try)
	}
}

// Kill ends baresip at once (SIGKILL), as a crashed or unplugged endpoint ends, and
// returns once it is gone: its SIP port no longer answers.
func (b *Baresip) Kill() { b.p.kill() }

// WaitRecording waits up to timeout until the n-th recording (1: of the first call) is
// finished, and returns its path. baresip (libsndfile) writes the RIFF sizes when the call
// ends: a recording is finished when they match the file.
func (b *Baresip) WaitRecording(t testing.TB, n int, timeout time.Duration) string {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		files, _ := filepath.Glob(filepath.Join(b.Dir, "dump-*-dec.wav"))
		if len(files) >= n {
			f, err := os.ReadFile(files[n-1])
			if err == nil && len(f) > 44 && int(uint32(f[4])|uint32(f[5])<<8|uint32(f[6])<<16|uint32(f[7])<<24) == len(f)-8 {
				return files[n-1]
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("siptest: no finished recording #%d in %s after %v (%d files)", n, b.Dir, timeout, len(files))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// proc is a started peer.
type proc struct {
	name string
	pid  int    // also its process group
	log  string // its stdout and stderr
	exit chan int
	done chan struct{}
}

// start runs name with args in its own process group, output to a log file, and kills the
// group when the test ends; when the test failed, the log's tail goes to the test log.
func start(t testing.TB, name string, args ...string) *proc {
	t.Helper()
	return startCmd(t, exec.Command(name, args...))
}

// startCmd is start for a prepared command: its SysProcAttr and Dir are kept (Dir
// defaults to the log's directory).
func startCmd(t testing.TB, cmd *exec.Cmd) *proc {
	t.Helper()
	name := filepath.Base(cmd.Path)
	p := &proc{name: name, log: filepath.Join(t.TempDir(), name+".log"), exit: make(chan int, 1), done: make(chan struct{})}
	logf, err := os.Create(p.log)
	if err != nil {
		t.Fatal(err)
	}
	if cmd.Dir == "" {
		cmd.Dir = filepath.Dir(p.log) // sipp writes its *_errors.log into the working directory
	}
	cmd.Stdout, cmd.Stderr = logf, logf
	if cmd.SysProcAttr == nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{}
	}
	cmd.SysProcAttr.Setpgid = true
	if err := cmd.Start(); err != nil {
		logf.Close()
		t.Fatalf("siptest: start %s: %v", name, err)
	}
	p.pid = cmd.Process.Pid
	go func() {
		_ = cmd.Wait()
		logf.Close()
		p.exit <- cmd.ProcessState.ExitCode()
		close(p.done)
	}()
	t.Cleanup(func() {
		p.kill()
		if t.Failed() {
			t.Logf("%s output (tail):\n%s", name, tail(string(p.output()), 3000))
		}
	})
	return p
}

// kill sends SIGKILL to the process group and waits until the process has exited.
func (p *proc) kill() {
	_ = syscall.Kill(-p.pid, syscall.SIGKILL)
	<-p.done
}

// wait polls ready until it holds (true) or the process ended or timeout passed (false).
func (p *proc) wait(t testing.TB, timeout time.Duration, ready func() bool) bool {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		if ready() {
			return true
		}
		select {
		case <-p.done:
			return false
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("siptest: %s not ready after %v:\n%s", p.name, timeout, tail(string(p.output()), 3000))
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// retryOrFail is called when the process ended before it was ready: on a port collision
// the caller tries again (up to tries times); otherwise, or after the last try, the test
// fails with the process's output.
func (p *proc) retryOrFail(t testing.TB, try int) {
	t.Helper()
	out := string(p.output())
	if !testport.InUse(out) || try == tries {
		t.Fatalf("siptest: %s ended before it was ready (try %d):\n%s", p.name, try, tail(out, 3000))
	}
	t.Logf("siptest: %s found a port taken, trying other ports:\n%s", p.name, tail(out, 300))
}

func (p *proc) output() []byte {
	b, _ := os.ReadFile(p.log)
	return b
}

// dir is this package's directory, which holds the fixtures.
func dir() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Dir(file)
}

// need skips the test, or fails it under CI=true, when tool (from Debian package pkg) is
// missing.
func need(t testing.TB, tool, pkg string) {
	t.Helper()
	if _, err := exec.LookPath(tool); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s is not installed (CI=true): apt-get install -y %s", tool, pkg)
		}
		t.Skipf("%s is not installed: apt-get install -y %s", tool, pkg)
	}
}

func tail(s string, n int) string {
	if len(s) > n {
		return s[len(s)-n:]
	}
	return s
}
