package milter_test

import (
	"bytes"
	"context"
	"encoding/binary"
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
	log := slog.New(slog.NewTextHandler(&lockedBuf{}, &slog.HandlerOptions{Level: slog.LevelDebug}))
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

// greeted opens a milter session to the TCP address addr with every
// action offered (opts may change that), sends the connect and HELO stages of
// client.example at 127.0.0.1 and closes the session when the test ends.
func greeted(t *testing.T, addr string, opts ...gomilter.Option) *gomilter.ClientSession {
	t.Helper()
	c := gomilter.NewClient("tcp", addr, append([]gomilter.Option{gomilter.WithActions(gomilter.AllClientSupportedActionMasks)}, opts...)...)
	s, err := c.Session(nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	s.Conn("client.example", gomilter.FamilyInet, 25, "127.0.0.1")
	s.Helo("client.example")
	return s
}

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

// TestMalformedPackets sends, after a valid negotiation, packets that
// go-milter v0.10.2 would panic on in its connection goroutine, taking the
// daemon down (found by FuzzSession; the fuzzer's inputs are in
// testdata/fuzz/FuzzSession), and next to them well-formed neighbours. The
// milter must answer exactly the well-formed commands, then end the
// connection, close the session and go on serving.
func TestMalformedPackets(t *testing.T) {
	mail := packet('M', cstr("<a@example.org>"))
	rcpt := packet('R', cstr("<b@example.net>"))
	cat := func(p ...[]byte) []byte { return bytes.Join(p, nil) }
	tests := []struct {
		name    string
		in      []byte
		replies string // command codes of the milter's reply packets
	}{
		{"empty packet first", []byte{0, 0, 0, 0}, "O"},
		{"empty packet after RCPT", cat(mail, rcpt, []byte{0, 0, 0, 0}), "Oc"},
		{"MAIL without NUL", packet('M', []byte("<a@example.org>")), "O"},
		{"MAIL without data", packet('M'), "O"},
		{"RCPT without NUL", cat(mail, packet('R', []byte("<b@example.net>"))), "O"},
		{"CONNECT without NUL", packet('C', []byte("host")), "O"},
		{"CONNECT without family", packet('C', cstr("host")), "O"},
		{"CONNECT with family", packet('C', cstr("host"), []byte("U")), "Oc"},
		{"CONNECT tcp4", packet('C', cstr("host"), []byte{'4', 0, 25}, cstr("192.0.2.1")), "Oc"},
		{"macros for MAIL without NUL", cat(packet('D', []byte("Mi")), mail, rcpt), "Oc"},
		{"fast path", cat(mail, rcpt, packet('L', cstr("Subject"), cstr("x")), packet('N')), "Oca"},
		// SMFIC_QUIT_NC starts a new SMTP session on the same connection;
		// it used to count one more open session each time.
		{"QUIT_NC", cat(packet('K'), mail, rcpt, packet('K'), packet('K'), mail, rcpt), "Occ"},
	}
	// Protocol v6 with all actions, offering every protocol step the
	// milter asks to skip, as Postfix does.
	neg := optneg(6, uint32(gomilter.AllClientSupportedActionMasks), 0x1fffff)
	// The milter's reads end anywhere in a packet; one byte per read is
	// the worst case for the guard's bookkeeping.
	for _, srv := range []struct {
		name string
		wrap func(net.Listener) net.Listener
	}{{"whole reads", nil}, {"one byte per read", oneByteReads}} {
		f, _, addr := serveFilter(t, "inet:0@127.0.0.1", milter.Options{TempDir: t.TempDir()}, srv.wrap)
		for _, tc := range tests {
			t.Run(srv.name+"/"+tc.name, func(t *testing.T) {
				malformedCase(t, f, addr, append(neg, tc.in...), tc.replies)
			})
		}
	}
}

// malformedCase sends in, checks the codes of the reply packets against
// want, that the session ends, and that a normal transaction goes through.
func malformedCase(t *testing.T, f *milter.Filter, addr string, in []byte, want string) {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := c.Write(in); err != nil {
		t.Fatal(err)
	}
	_ = c.(*net.TCPConn).CloseWrite()
	out, err := io.ReadAll(c)
	if err != nil {
		t.Fatalf("reading the replies: %v (the milter must end the connection)", err)
	}
	var got []byte
	for len(out) >= 5 {
		n := binary.BigEndian.Uint32(out)
		if n == 0 || uint32(len(out)-4) < n {
			break
		}
		got = append(got, out[4])
		out = out[4+n:]
	}
	if string(got) != want || len(out) != 0 {
		t.Errorf("replies: got %q and %d stray bytes, want %q", got, len(out), want)
	}
	deadline := time.Now().Add(5 * time.Second)
	for f.Sessions() != 0 && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	if n := f.Sessions(); n != 0 {
		t.Errorf("%d sessions open after the connection ended, want 0", n)
	}
	mods, act := send(t, addr, txn{rcpts: []string{"b@example.net"}, header: [][2]string{{"X-Test-Action", "add-header"}}, body: "ok\r\n"})
	wantMods, wantAct := `AddHeader "X-Test-Added" " yes"`, normalizeAct("accept")
	if strings.Join(mods, "\n") != wantMods || act != wantAct {
		t.Errorf("next transaction: got %q %q, want [%s] %q", mods, act, wantMods, wantAct)
	}
}

// oneByteReads makes every read of an accepted connection return at most one byte.
func oneByteReads(ln net.Listener) net.Listener { return oneByteListener{ln} }

type oneByteListener struct{ net.Listener }

func (l oneByteListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return oneByteConn{c}, nil
}

type oneByteConn struct{ net.Conn }

func (c oneByteConn) Read(b []byte) (int, error) { return c.Conn.Read(b[:min(len(b), 1)]) }

func countFDs(t testing.TB) int {
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

// TestBodySpoolErrorThroughClient (redteam R3): a body that cannot be spooled
// tempfails the message at the end of message, the stage whose reply the MTA reads:
// go-milter's client, like Postfix, negotiates the body replies away. It used to
// get an accept.
func TestBodySpoolErrorThroughClient(t *testing.T) {
	tmp := filepath.Join(t.TempDir(), "spill")
	if err := os.Mkdir(tmp, 0o700); err != nil {
		t.Fatal(err)
	}
	_, addr := startFilter(t, milter.Options{TempDir: tmp, BodyMaxMemory: 1024})
	if err := os.Remove(tmp); err != nil { // no temporary file can be created
		t.Fatal(err)
	}
	h := [][2]string{{"From", "a@example.org"}, {"X-Test-Action", "add-header"}}
	mods, act := send(t, addr, txn{rcpts: []string{"b@example.net"}, header: h, body: strings.Repeat("x", 100000)})
	if want := normalizeAct("reject 451 4.3.0 temporary failure in the voice-mail filter, try again later"); act != want || len(mods) != 0 {
		t.Errorf("got %q %v, want %q and no modification", act, mods, want)
	}
}
