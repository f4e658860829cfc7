package milter_test

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"io"
	"log/slog"
	"net"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/vpim-milter/vpim-milter/internal/postfixwire"
	"github.com/vpim-milter/vpim-milter/milter"
	"github.com/vpim-milter/vpim-milter/profile"
)

// postfixSession replays what Postfix 3.7 sends vpim-milter for one plain
// message in one SMTP session (internal/postfixwire), in the groups Postfix
// writes them: option negotiation; connect, HELO and MAIL macros with MAIL
// and RCPT; the DATA macros; four header fields with their macros and end of
// headers; abort, abort, quit. The groups after the negotiation follow the
// protocol steps the filter negotiated, and are built at the first session.
// Its buffers are reused, so the client adds almost nothing to the
// allocations a benchmark counts.
type postfixSession struct {
	br                   *bufio.Reader
	optneg, env, quit    []byte
	data, hdrs, replyBuf []byte
}

func newPostfixSession() *postfixSession {
	return &postfixSession{
		br:       bufio.NewReaderSize(nil, 512),
		replyBuf: make([]byte, 512),
		optneg:   postfixwire.Negotiate(nil),
		quit:     postfixwire.Quit(nil),
	}
}

// negotiated builds the groups after the negotiation, at the first session,
// for the protocol flags of the SMFIC_OPTNEG reply just read (version,
// actions, protocol flags).
func (s *postfixSession) negotiated() {
	if s.env == nil {
		s.build(binary.BigEndian.Uint32(s.replyBuf[9:13]))
	}
}

// build makes the groups after the negotiation for the protocol flags proto.
func (s *postfixSession) build(proto uint32) {
	const qid = "C5C3B9B03B0"
	s.env = postfixwire.Envelope(nil, proto)
	s.data = postfixwire.Data(nil, proto, qid)
	s.hdrs = postfixwire.HeaderGroup(nil, proto, qid)
}

// reply reads one reply packet and returns its command byte.
func (s *postfixSession) reply() (byte, error) {
	var hdr [4]byte
	if _, err := io.ReadFull(s.br, hdr[:]); err != nil {
		return 0, err
	}
	n := binary.BigEndian.Uint32(hdr[:])
	if n == 0 || int(n) > len(s.replyBuf) {
		return 0, fmt.Errorf("reply length %d", n)
	}
	if _, err := io.ReadFull(s.br, s.replyBuf[:n]); err != nil {
		return 0, err
	}
	return s.replyBuf[0], nil
}

// run runs one session on a new connection and checks the replies: the
// negotiation, continue for RCPT, accept at end of headers (the fast path).
func (s *postfixSession) run(network, addr string) error {
	c, err := net.Dial(network, addr)
	if err != nil {
		return err
	}
	defer c.Close()
	s.br.Reset(c)
	if err := s.step(c, s.optneg, 'O'); err != nil {
		return err
	}
	s.negotiated()
	for _, step := range []struct {
		send []byte
		want byte // 0: no reply
	}{{s.env, 'c'}, {s.data, 0}, {s.hdrs, 'a'}, {s.quit, 0}} {
		if err := s.step(c, step.send, step.want); err != nil {
			return err
		}
	}
	return nil
}

// step writes p and, unless want is 0, reads one reply and checks that it
// is want.
func (s *postfixSession) step(c net.Conn, p []byte, want byte) error {
	if _, err := c.Write(p); err != nil {
		return err
	}
	if want == 0 {
		return nil
	}
	got, err := s.reply()
	if err != nil {
		return err
	}
	if got != want {
		return fmt.Errorf("reply %q, want %q", got, want)
	}
	return nil
}

// serveDefaults serves vpim-milter as the daemon runs on its built-in
// defaults: the profile engine, a text log of one line per transaction,
// metrics.
func serveDefaults(tb testing.TB, spec string) (string, string) {
	tb.Helper()
	engine, err := profile.New(profile.Options{})
	if err != nil {
		tb.Fatal(err)
	}
	f, err := milter.New(milter.Options{TempDir: tb.TempDir()}, engine, slog.New(slog.NewTextHandler(io.Discard, nil)), milter.NewMetrics())
	if err != nil {
		tb.Fatal(err)
	}
	return serveFilterOn(tb, f, spec)
}

// TestPostfixSession: the replayed Postfix session gets the fast path's
// replies, over a unix socket and over TCP.
func TestPostfixSession(t *testing.T) {
	for _, spec := range []string{"unix:" + filepath.Join(t.TempDir(), "m.sock"), "inet:0@127.0.0.1"} {
		network, addr := serveDefaults(t, spec)
		s := newPostfixSession()
		for i := 0; i < 3; i++ {
			if err := s.run(network, addr); err != nil {
				t.Fatalf("%s: session %d: %v", spec, i, err)
			}
		}
	}
}

// BenchmarkPostfixTransaction is one Postfix session with one plain message
// (connection, negotiation, envelope, header fields, fast-path accept,
// quit) against the filter on its defaults; allocs/op is nearly all the
// daemon's (the client reuses its buffers; net.Dial allocates a few).
func BenchmarkPostfixTransaction(b *testing.B) {
	for _, tc := range []struct{ name, spec string }{
		{"unix", "unix:" + filepath.Join(b.TempDir(), "m.sock")},
		{"tcp", "inet:0@127.0.0.1"},
	} {
		b.Run(tc.name, func(b *testing.B) {
			network, addr := serveDefaults(b, tc.spec)
			s := newPostfixSession()
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if err := s.run(network, addr); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// socketWorkConn records what the filter does to its side of a connection.
type socketWorkConn struct {
	net.Conn
	mu                          sync.Mutex
	writes                      []int // sizes
	reads, rdeadline, wdeadline int
	closed                      chan struct{}
	closeOnce                   sync.Once
}

func (c *socketWorkConn) Write(b []byte) (int, error) {
	c.mu.Lock()
	c.writes = append(c.writes, len(b))
	c.mu.Unlock()
	return c.Conn.Write(b)
}

func (c *socketWorkConn) Read(b []byte) (int, error) {
	c.mu.Lock()
	c.reads++
	c.mu.Unlock()
	return c.Conn.Read(b)
}

func (c *socketWorkConn) SetReadDeadline(t time.Time) error {
	c.mu.Lock()
	c.rdeadline++
	c.mu.Unlock()
	return c.Conn.SetReadDeadline(t)
}

func (c *socketWorkConn) SetWriteDeadline(t time.Time) error {
	c.mu.Lock()
	c.wdeadline++
	c.mu.Unlock()
	return c.Conn.SetWriteDeadline(t)
}

func (c *socketWorkConn) Close() error {
	c.closeOnce.Do(func() { close(c.closed) })
	return c.Conn.Close()
}

type socketWorkListener struct {
	net.Listener
	conns chan *socketWorkConn
}

func (l socketWorkListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	cc := &socketWorkConn{Conn: c, closed: make(chan struct{})}
	l.conns <- cc
	return cc, nil
}

// TestPostfixSessionSocketWork: for Postfix's session the filter writes
// each reply packet in one system call (negotiation, RCPT, end of
// headers: three), and touches the socket's deadlines only around the reads
// and writes that reach the socket, not around each of the 22 packets.
func TestPostfixSessionSocketWork(t *testing.T) {
	for _, spec := range []string{"unix:" + filepath.Join(t.TempDir(), "m.sock"), "inet:0@127.0.0.1"} {
		conns := make(chan *socketWorkConn, 1)
		_, network, addr := serveFilter(t, spec, milter.Options{TempDir: t.TempDir()}, func(ln net.Listener) net.Listener {
			return socketWorkListener{Listener: ln, conns: conns}
		})
		if err := newPostfixSession().run(network, addr); err != nil {
			t.Fatal(err)
		}
		c := <-conns
		select {
		case <-c.closed:
		case <-time.After(5 * time.Second):
			t.Fatalf("%s: the filter did not close the connection after QUIT", spec)
		}
		c.mu.Lock()
		writes, reads, rd, wd := c.writes, c.reads, c.rdeadline, c.wdeadline
		c.mu.Unlock()
		// the negotiation (length, command, 12 bytes of flags, the macro
		// lists) in one write, then continue and accept (5 bytes each)
		if len(writes) != 3 || writes[0] <= 5+12 || writes[1] != 5 || writes[2] != 5 {
			t.Errorf("%s: writes %v, want [>17 5 5] (one per reply packet)", spec, writes)
		}
		// one deadline per socket read and per reply at most (go-milter asks
		// for two per packet: 44 for the 22 packets read, 6 for the replies)
		if rd > reads || wd > len(writes) {
			t.Errorf("%s: %d read deadlines for %d socket reads, %d write deadlines for %d writes", spec, rd, reads, wd, len(writes))
		}
	}
}

// TestHeaderMacrosDropped: the guard drops Postfix's macro packet before
// each header field ("D" "L") and nothing else, also when the packets
// arrive a byte at a time: the header fields and their order still reach
// the filter (the X-Test-Action field makes the scripted engine ask for the
// body, so end of headers answers continue, not the fast path's accept),
// the queue ID comes from the DATA macros (which are not dropped), and the
// session goes on in step to the end of the message.
func TestHeaderMacrosDropped(t *testing.T) {
	_, tcpAddr, logs := serveLogged(t, milter.Options{})
	_, unixNet, unixAddr := serveFilter(t, "unix:"+filepath.Join(t.TempDir(), "m.sock"), milter.Options{TempDir: t.TempDir()}, nil)
	var hdrs []byte
	for _, h := range [][2]string{{"Subject", " x"}, {"X-Test-Action", " add-header"}, {"To", " <b@example.net>"}} {
		hdrs = postfixwire.Packet(hdrs, 'D', "L", "i\x00QIDL\x00")
		hdrs = postfixwire.Packet(hdrs, 'L', h[0], "\x00", h[1], "\x00")
	}
	hdrs = postfixwire.Packet(postfixwire.Packet(hdrs, 'D', "N"), 'N')
	body := postfixwire.Packet(postfixwire.Packet(postfixwire.Packet(nil, 'B', "hello\r\n"), 'D', "E"), 'E')
	for _, tc := range []struct{ network, addr string }{{"tcp", tcpAddr}, {unixNet, unixAddr}} {
		for _, byteWise := range []bool{false, true} {
			name := fmt.Sprintf("%s byte-wise=%v", tc.network, byteWise)
			s := newPostfixSession()
			c, err := net.Dial(tc.network, tc.addr)
			if err != nil {
				t.Fatal(err)
			}
			_ = c.SetDeadline(time.Now().Add(10 * time.Second))
			s.br.Reset(c)
			write := func(p []byte) {
				if !byteWise {
					if _, err := c.Write(p); err != nil {
						t.Fatal(err)
					}
					return
				}
				for i := range p {
					if _, err := c.Write(p[i : i+1]); err != nil {
						t.Fatal(err)
					}
					time.Sleep(50 * time.Microsecond)
				}
			}
			exchange := func(send []byte, want string) { // want: the replies in order
				write(send)
				for _, want := range []byte(want) {
					got, err := s.reply()
					if err != nil {
						t.Fatalf("%s: %v", name, err)
					}
					if got != want {
						t.Fatalf("%s: reply %q, want %q", name, got, want)
					}
				}
			}
			exchange(s.optneg, "O")
			s.negotiated()
			exchange(s.env, "c")
			exchange(s.data, "")
			exchange(hdrs, "c")
			exchange(body, "ha")
			write(s.quit)
			// the filter closes after QUIT: the read ends with EOF, not a timeout
			if _, err := s.reply(); err != io.EOF {
				t.Errorf("%s: after QUIT: %v, want EOF", name, err)
			}
			c.Close()
		}
	}
	// the TCP sessions' log lines: the queue ID of the DATA macros
	if got := strings.Count(logs.String(), "queue_id=C5C3B9B03B0 "); got != 2 {
		t.Errorf("log has %d transactions with the DATA macros' queue ID, want 2:\n%s", got, logs)
	}
}

// TestTCPSocketOptions: an accepted TCP connection has Nagle off (replies
// go out at once) and no keep-alive probes (ReadTimeout and IdleTimeout
// cut off a silent MTA; the probes' setsockopt calls are saved).
func TestTCPSocketOptions(t *testing.T) {
	addr, err := milter.ParseAddress("inet:0@127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	ln, err := milter.Listen(addr, milter.SocketOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		if c, err := net.Dial("tcp", ln.Addr().String()); err == nil {
			time.Sleep(time.Second)
			c.Close()
		}
	}()
	c, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	sc, ok := c.(syscall.Conn)
	if !ok {
		t.Fatalf("%T is not a syscall.Conn", c)
	}
	raw, err := sc.SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	var noDelay, keepAlive int
	var gerr error
	if err := raw.Control(func(fd uintptr) {
		if noDelay, gerr = syscall.GetsockoptInt(int(fd), syscall.IPPROTO_TCP, syscall.TCP_NODELAY); gerr == nil {
			keepAlive, gerr = syscall.GetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_KEEPALIVE)
		}
	}); err != nil || gerr != nil {
		t.Fatal(err, gerr)
	}
	if noDelay == 0 || keepAlive != 0 {
		t.Errorf("TCP_NODELAY %d, SO_KEEPALIVE %d; want on, off", noDelay, keepAlive)
	}
}
