package milter_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	gomilter "github.com/d--j/go-milter"
	"github.com/emersion/go-message/textproto"

	"github.com/vpim-milter/vpim-milter/milter"
	"github.com/vpim-milter/vpim-milter/milter/testengine"
)

// startFilter serves a filter with the scripted engine on a loopback port
// and stops it when the test ends.
func startFilter(t *testing.T, opts milter.Options) (*milter.Filter, string) {
	t.Helper()
	if opts.TempDir == "" {
		opts.TempDir = t.TempDir()
	}
	var logbuf bytes.Buffer
	log := slog.New(slog.NewTextHandler(&syncWriter{w: &logbuf}, &slog.HandlerOptions{Level: slog.LevelDebug}))
	f, err := milter.New(opts, testengine.Engine{}, log, nil)
	if err != nil {
		t.Fatal(err)
	}
	addr, _ := milter.ParseAddress("inet:0@127.0.0.1")
	ln, err := milter.Listen(addr, milter.SocketOptions{})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- f.Serve(ctx, ln) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("serve: %v", err)
		}
	})
	return f, ln.Addr().String()
}

type syncWriter struct {
	w io.Writer
}

func (s *syncWriter) Write(p []byte) (int, error) { return s.w.Write(p) }

type txn struct {
	rcpts  []string
	header [][2]string
	body   string
}

// send runs one transaction through the milter with go-milter's client and
// returns the modifications and the final action as strings.
func send(t *testing.T, addr string, m txn) (mods []string, act string) {
	t.Helper()
	c := gomilter.NewClient("tcp", addr, gomilter.WithActions(gomilter.AllClientSupportedActionMasks))
	s, err := c.Session(nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if a, err := s.Conn("client.example", gomilter.FamilyInet, 25, "127.0.0.1"); err != nil || a.StopProcessing() {
		t.Fatalf("conn: %v %v", a, err)
	}
	if a, err := s.Helo("client.example"); err != nil || a.StopProcessing() {
		t.Fatalf("helo: %v %v", a, err)
	}
	if a, err := s.Mail("<sender@example.org>", ""); err != nil || a.StopProcessing() {
		t.Fatalf("mail: %v %v", a, err)
	}
	for _, r := range m.rcpts {
		a, err := s.Rcpt("<"+r+">", "")
		if err != nil {
			t.Fatal(err)
		}
		if a.StopProcessing() {
			return nil, a.String()
		}
	}
	var h textproto.Header
	for i := len(m.header) - 1; i >= 0; i-- {
		h.Add(m.header[i][0], m.header[i][1])
	}
	a, err := s.Header(h)
	if err != nil {
		t.Fatal(err)
	}
	if a.StopProcessing() || a.Type == gomilter.ActionAccept {
		return nil, a.String()
	}
	ms, a, err := s.BodyReadFrom(strings.NewReader(m.body))
	if err != nil {
		t.Fatal(err)
	}
	var body []byte
	for _, x := range ms {
		if x.Type == gomilter.ActionReplaceBody {
			body = append(body, x.Body...)
			continue
		}
		mods = append(mods, x.String())
	}
	if body != nil {
		mods = append(mods, fmt.Sprintf("replace body %d bytes %q", len(body), firstLine(body)))
	}
	return mods, a.String()
}

func firstLine(b []byte) string {
	i := bytes.IndexByte(b, '\n')
	if i < 0 {
		return string(b)
	}
	return string(b[:i+1])
}

func TestFilterActions(t *testing.T) {
	_, addr := startFilter(t, milter.Options{BodyMaxSize: 1 << 20})
	base := [][2]string{{"From", "a@example.org"}, {"To", "b@example.net"}, {"Subject", "hello"}, {"X-Test-Delete", "x"}}
	tests := []struct {
		name   string
		action string
		rcpts  []string
		body   string
		mods   []string
		act    string
	}{
		{"fast path", "", nil, "hi\r\n", nil, "accept"},
		{"add header", "add-header", nil, "hi\r\n", []string{`AddHeader "X-Test-Added" " yes"`}, "accept"},
		{"change header", "change-header", nil, "hi\r\n", []string{`ChangeHeader 1 "Subject" " changed"`}, "accept"},
		{"delete header", "delete-header", nil, "hi\r\n", []string{`ChangeHeader 1 "X-Test-Delete" ""`}, "accept"},
		{"insert header", "insert-header", nil, "hi\r\n", []string{`InsertHeader 0 "X-Test-Inserted" " top"`}, "accept"},
		{"replace body", "replace-body", nil, "hi\r\n", []string{"replace body 15 bytes \"replaced body\\r\\n\""}, "accept"},
		{"big body", "big-body=3000000", nil, "hi\r\n", []string{fmt.Sprintf("replace body 3000000 bytes %q", testengine.BigBodyLine(0))}, "accept"},
		{"delete rcpt", "del-rcpt=c@example.net", []string{"b@example.net", "c@example.net"}, "hi\r\n", []string{`DelRcpt "<c@example.net>"`}, "accept"},
		{"add rcpt", "add-rcpt=d@example.net", nil, "hi\r\n", []string{`AddRcpt "<d@example.net>" ""`}, "accept"},
		{"reject", "reject", nil, "hi\r\n", nil, "reject 550 5.7.1 rejected by test"},
		{"tempfail", "tempfail", nil, "hi\r\n", nil, "reject 451 4.7.1 tempfail by test"},
		{"quarantine", "quarantine", nil, "hi\r\n", []string{`Quarantine "held by test"`}, "accept"},
		{"panic", "panic", nil, "hi\r\n", nil, "reject 451 4.3.0 temporary failure in the voice-mail filter, try again later"},
		{"engine error", "bogus", nil, "hi\r\n", nil, "reject 451 4.3.0 temporary failure in the voice-mail filter, try again later"},
		{"oversize", "add-header", nil, strings.Repeat("x", 2<<20), nil, "reject 552 5.3.4 message too large for the voice-mail filter"},
		{"refused rcpt", "", []string{"refuse@example.net"}, "", nil, "reject 550 5.1.1 refused by test"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := append([][2]string(nil), base...)
			if tc.action != "" {
				h = append(h, [2]string{"X-Test-Action", tc.action})
			}
			rcpts := tc.rcpts
			if rcpts == nil {
				rcpts = []string{"b@example.net"}
			}
			mods, act := send(t, addr, txn{rcpts: rcpts, header: h, body: tc.body})
			if got, want := strings.Join(mods, "\n"), strings.Join(tc.mods, "\n"); got != want {
				t.Errorf("modifications:\n got %s\nwant %s", got, want)
			}
			if act != normalizeAct(tc.act) {
				t.Errorf("action: got %q, want %q", act, normalizeAct(tc.act))
			}
		})
	}
}

// normalizeAct renders the expected action the way go-milter prints it.
func normalizeAct(s string) string {
	if code, text, ok := strings.Cut(strings.TrimPrefix(s, "reject "), " "); ok && strings.HasPrefix(s, "reject ") {
		return gomilter.Action{Type: gomilter.ActionRejectWithCode, SMTPCode: atoi(code), SMTPReply: code + " " + text}.String()
	}
	return gomilter.Action{Type: gomilter.ActionAccept}.String()
}

func atoi(s string) uint16 {
	var n uint16
	fmt.Sscanf(s, "%d", &n)
	return n
}

// TestBadInput sends garbage and broken sessions and checks that the
// daemon answers each, keeps serving, and leaks no goroutine, descriptor
// or temporary file.
func TestBadInput(t *testing.T) {
	tmp := t.TempDir()
	f, addr := startFilter(t, milter.Options{TempDir: tmp, BodyMaxMemory: 1024, BodyMaxSize: 8 << 20})
	send(t, addr, txn{rcpts: []string{"b@example.net"}, header: [][2]string{{"X-Test-Action", "add-header"}}, body: "warm-up\r\n"})
	time.Sleep(100 * time.Millisecond)
	baseG, baseFD := runtime.NumGoroutine(), countFDs(t)

	t.Run("random bytes", func(t *testing.T) {
		for i := 0; i < 20; i++ {
			c, err := net.Dial("tcp", addr)
			if err != nil {
				t.Fatal(err)
			}
			junk := bytes.Repeat([]byte{byte(i), 0xff, 0, 7, 'O', 0x13}, 100*(i+1))
			_, _ = c.Write(junk)
			_ = c.SetReadDeadline(time.Now().Add(3 * time.Second))
			_, err = io.ReadAll(c)
			c.Close()
			if ne, ok := err.(net.Error); ok && ne.Timeout() {
				t.Fatalf("garbage %d: milter did not close the connection", i)
			}
		}
	})
	t.Run("dropped mid-body", func(t *testing.T) {
		c := gomilter.NewClient("tcp", addr, gomilter.WithActions(gomilter.AllClientSupportedActionMasks))
		s, err := c.Session(nil)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = s.Conn("h", gomilter.FamilyInet, 25, "127.0.0.1")
		_, _ = s.Helo("h")
		_, _ = s.Mail("<a@example.org>", "")
		_, _ = s.Rcpt("<b@example.net>", "")
		var h textproto.Header
		h.Add("X-Test-Action", "add-header")
		if _, err := s.Header(h); err != nil {
			t.Fatal(err)
		}
		for i := 0; i < 10; i++ { // spills to a temp file (BodyMaxMemory 1 KiB)
			if _, err := s.BodyChunk(bytes.Repeat([]byte("x"), 60000)); err != nil {
				t.Fatal(err)
			}
		}
		s.Close() // sends quit mid-message
	})
	t.Run("10000 header fields", func(t *testing.T) {
		h := [][2]string{{"X-Test-Action", "add-header"}}
		for i := 0; i < 10000; i++ {
			h = append(h, [2]string{"X-Filler", fmt.Sprint(i)})
		}
		_, act := send(t, addr, txn{rcpts: []string{"b@example.net"}, header: h, body: "hi\r\n"})
		if want := normalizeAct("reject 552 5.3.4 message too large for the voice-mail filter"); act != want {
			t.Errorf("got %q, want %q", act, want)
		}
	})
	t.Run("1 MB header", func(t *testing.T) {
		h := [][2]string{{"X-Test-Action", "add-header"}, {"X-Huge", strings.Repeat("y", 1<<20)}}
		_, act := send(t, addr, txn{rcpts: []string{"b@example.net"}, header: h, body: "hi\r\n"})
		if want := normalizeAct("reject 552 5.3.4 message too large for the voice-mail filter"); act != want {
			t.Errorf("got %q, want %q", act, want)
		}
	})
	t.Run("body over the cap", func(t *testing.T) {
		_, act := send(t, addr, txn{rcpts: []string{"b@example.net"}, header: [][2]string{{"X-Test-Action", "replace-body"}}, body: strings.Repeat("z", 9<<20)})
		if want := normalizeAct("reject 552 5.3.4 message too large for the voice-mail filter"); act != want {
			t.Errorf("got %q, want %q", act, want)
		}
	})
	t.Run("still serving", func(t *testing.T) {
		mods, act := send(t, addr, txn{rcpts: []string{"b@example.net"}, header: [][2]string{{"X-Test-Action", "add-header"}}, body: "ok\r\n"})
		if len(mods) != 1 || act != normalizeAct("accept") {
			t.Errorf("got %v %q", mods, act)
		}
	})

	// Everything must be released once the sessions are gone.
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) && (f.Sessions() != 0 || runtime.NumGoroutine() > baseG || countFDs(t) > baseFD) {
		time.Sleep(20 * time.Millisecond)
	}
	if n := f.Sessions(); n != 0 {
		t.Errorf("%d sessions still open", n)
	}
	if g := runtime.NumGoroutine(); g > baseG {
		buf := make([]byte, 1<<20)
		t.Errorf("goroutines: %d after, %d before\n%s", g, baseG, buf[:runtime.Stack(buf, true)])
	}
	if n := countFDs(t); n > baseFD {
		t.Errorf("file descriptors: %d after, %d before", n, baseFD)
	}
	if ents, _ := os.ReadDir(tmp); len(ents) != 0 {
		t.Errorf("temporary files left: %v", ents)
	}
}

func countFDs(t *testing.T) int {
	t.Helper()
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Skip("no /proc/self/fd")
	}
	return len(ents)
}

func TestParseAddress(t *testing.T) {
	tests := []struct{ in, want, err string }{
		{"inet:8895@127.0.0.1", "tcp4:127.0.0.1:8895", ""},
		{"inet:127.0.0.1:8895", "tcp4:127.0.0.1:8895", ""},
		{"inet6:8895@::1", "tcp6:[::1]:8895", ""},
		{"inet6:[::1]:8895", "tcp6:[::1]:8895", ""},
		{"inet:8895", "tcp4::8895", ""},
		{"unix:/run/vpim/milter.sock", "unix:/run/vpim/milter.sock", ""},
		{"local:/run/vpim/milter.sock", "unix:/run/vpim/milter.sock", ""},
		{"/run/x.sock", "unix:/run/x.sock", ""},
		{"unix:relative.sock", "", "must be absolute"},
		{"inet:99999@127.0.0.1", "", "not a number from 0 to 65535"},
		{"smtp:25@host", "", "unknown scheme"},
		{"nonsense", "", "want unix:/path"},
	}
	for _, tc := range tests {
		a, err := milter.ParseAddress(tc.in)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("%q: error %v, want %q", tc.in, err, tc.err)
			}
			continue
		}
		if err != nil || a.String() != tc.want {
			t.Errorf("%q: got %q %v, want %q", tc.in, a.String(), err, tc.want)
		}
	}
}

func TestUnixSocket(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "m.sock")
	addr, _ := milter.ParseAddress("unix:" + path)
	ln, err := milter.Listen(addr, milter.SocketOptions{Mode: 0o600})
	if err != nil {
		t.Fatal(err)
	}
	st, err := os.Stat(path)
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Errorf("socket mode: %v %v", st.Mode(), err)
	}
	if _, err := milter.Listen(addr, milter.SocketOptions{}); err == nil || !strings.Contains(err.Error(), "in use") {
		t.Errorf("second listener on a live socket: %v", err)
	}
	ln.Close()
}
