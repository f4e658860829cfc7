package telephony

import (
	"bufio"
	"flag"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite golden files")

func tcheck(t *testing.T, err error, msg string) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: %v", msg, err)
	}
}

func tcompare[T comparable](t *testing.T, got, want T, msg string) {
	t.Helper()
	if got != want {
		t.Fatalf("%s: got %v, want %v", msg, got, want)
	}
}

// needTool skips when a tool is missing, but fails under CI=true.
func needTool(t *testing.T, names ...string) {
	t.Helper()
	for _, n := range names {
		if _, err := exec.LookPath(n); err != nil {
			if os.Getenv("CI") == "true" {
				t.Fatalf("%s not installed but CI=true (apt-get install -y baresip sip-tester espeak-ng sox)", n)
			}
			t.Skipf("%s not installed (apt-get install -y baresip sip-tester espeak-ng sox)", n)
		}
	}
}

// repoPath returns a path relative to the repository root.
func repoPath(rel string) string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", rel)
}

// golden compares got with testdata/name, rewriting it with -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		tcheck(t, os.MkdirAll(filepath.Dir(path), 0o755), "mkdir")
		tcheck(t, os.WriteFile(path, got, 0o644), "write golden")
	}
	want, err := os.ReadFile(path)
	tcheck(t, err, "read golden (run go test -update)")
	if string(got) != string(want) {
		t.Fatalf("%s differs from golden:\n--- got\n%s\n--- want\n%s", name, got, want)
	}
}

// smtpMsg is one message the test MTA received.
type smtpMsg struct {
	From string
	To   []string
	Data string
}

// smtpSink is a tiny SMTP receiver standing in for the local MTA.
type smtpSink struct {
	Addr string
	Msgs chan smtpMsg
	ln   net.Listener
	wg   sync.WaitGroup
}

func newSMTPSink(t *testing.T) *smtpSink {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	tcheck(t, err, "smtp listen")
	return serveSink(t, ln)
}

func (s *smtpSink) serve(c net.Conn) {
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	r := bufio.NewReader(c)
	reply := func(l string) { fmt.Fprintf(c, "%s\r\n", l) }
	reply("220 sink ESMTP")
	var m smtpMsg
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			return
		}
		line = strings.TrimRight(line, "\r\n")
		cmd := strings.ToUpper(line)
		switch {
		case strings.HasPrefix(cmd, "EHLO"), strings.HasPrefix(cmd, "HELO"):
			reply("250 sink")
		case strings.HasPrefix(cmd, "MAIL FROM:"):
			m = smtpMsg{From: strings.Trim(line[10:], "<> ")}
			reply("250 ok")
		case strings.HasPrefix(cmd, "RCPT TO:"):
			m.To = append(m.To, strings.Trim(line[8:], "<> "))
			reply("250 ok")
		case cmd == "DATA":
			reply("354 go")
			var b strings.Builder
			for {
				l, err := r.ReadString('\n')
				if err != nil {
					return
				}
				if l == ".\r\n" {
					break
				}
				b.WriteString(strings.TrimPrefix(l, "."))
			}
			m.Data = b.String()
			s.Msgs <- m
			reply("250 queued")
		case cmd == "QUIT":
			reply("221 bye")
			return
		default:
			reply("250 ok")
		}
	}
}

// next waits for a message.
func (s *smtpSink) next(t *testing.T, d time.Duration) smtpMsg {
	t.Helper()
	select {
	case m := <-s.Msgs:
		return m
	case <-time.After(d):
		t.Fatalf("no DSN within %v", d)
		return smtpMsg{}
	}
}

// none asserts no message arrives within d.
func (s *smtpSink) none(t *testing.T, d time.Duration) {
	t.Helper()
	select {
	case m := <-s.Msgs:
		t.Fatalf("unexpected DSN:\n%s", m.Data)
	case <-time.After(d):
	}
}

// dsnField returns the value of the first "name:" line in the DSN.
func dsnField(data, name string) string {
	for _, l := range strings.Split(data, "\r\n") {
		if k, v, ok := strings.Cut(l, ":"); ok && strings.EqualFold(k, name) {
			return strings.TrimSpace(v)
		}
	}
	return ""
}

func itoa(i int) string { return fmt.Sprint(i) }

func listenOn(t *testing.T, port int) net.Listener {
	t.Helper()
	ln, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", port))
	tcheck(t, err, "listen")
	return ln
}

// serveSink serves SMTP on an existing listener.
func serveSink(t *testing.T, ln net.Listener) *smtpSink {
	s := &smtpSink{Addr: ln.Addr().String(), Msgs: make(chan smtpMsg, 100), ln: ln}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			s.wg.Add(1)
			go func() { defer s.wg.Done(); s.serve(c) }()
		}
	}()
	t.Cleanup(func() { ln.Close(); s.wg.Wait() })
	return s
}
