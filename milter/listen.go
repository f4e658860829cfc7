package milter

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"os"
	"os/user"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Address is a parsed milter socket specification.
type Address struct {
	Network string // "unix", "tcp", "tcp4" or "tcp6"
	Addr    string // socket path, or host:port
}

// String renders the address in the form net.Listen understands, prefixed by its network.
func (a Address) String() string { return a.Network + ":" + a.Addr }

// Spec renders the address in the socket form ParseAddress reads:
// "unix:/path", "inet:PORT@HOST" or "inet6:PORT@HOST".
func (a Address) Spec() string {
	host, port, err := net.SplitHostPort(a.Addr)
	switch {
	case a.Network == "unix":
		return "unix:" + a.Addr
	case err != nil:
		return a.String()
	case a.Network == "tcp6":
		return "inet6:" + port + "@" + host
	}
	return "inet:" + port + "@" + host
}

// ParseAddress parses the socket forms used by Sendmail and Postfix:
//
//	unix:/path  local:/path  /path
//	inet:PORT@HOST  inet6:PORT@HOST   (Sendmail, libmilter)
//	inet:HOST:PORT  inet6:[HOST]:PORT (Postfix)
func ParseAddress(s string) (Address, error) {
	s = strings.TrimSpace(s)
	if strings.HasPrefix(s, "/") {
		return Address{Network: "unix", Addr: s}, nil
	}
	scheme, rest, ok := strings.Cut(s, ":")
	if !ok || rest == "" {
		return Address{}, fmt.Errorf("milter: address %q: want unix:/path, inet:port@host or inet:host:port", s)
	}
	switch strings.ToLower(scheme) {
	case "unix", "local":
		if !strings.HasPrefix(rest, "/") {
			return Address{}, fmt.Errorf("milter: address %q: unix socket path must be absolute", s)
		}
		return Address{Network: "unix", Addr: rest}, nil
	case "inet", "inet4", "tcp", "inet6", "tcp6":
		network := "tcp4"
		if strings.HasSuffix(strings.ToLower(scheme), "6") {
			network = "tcp6"
		}
		var host, port string
		if p, h, ok := strings.Cut(rest, "@"); ok {
			port, host = p, h
		} else {
			var err error
			host, port, err = net.SplitHostPort(rest)
			if err != nil {
				// Bare port: Sendmail's inet:8895 means all interfaces.
				if _, perr := strconv.Atoi(rest); perr == nil {
					host, port = "", rest
				} else {
					return Address{}, fmt.Errorf("milter: address %q: %w", s, err)
				}
			}
		}
		host = strings.TrimSuffix(strings.TrimPrefix(host, "["), "]")
		n, err := strconv.Atoi(port)
		if err != nil || n < 0 || n > 65535 {
			return Address{}, fmt.Errorf("milter: address %q: port %q is not a number from 0 to 65535", s, port)
		}
		return Address{Network: network, Addr: net.JoinHostPort(host, port)}, nil
	}
	return Address{}, fmt.Errorf("milter: address %q: unknown scheme %q (want unix, local, inet or inet6)", s, scheme)
}

// Listen opens the listener for addr. TCP connections are wrapped so that
// the kernel acknowledges every segment at once (TCP_QUICKACK before each
// read): the MTA sends several small packets the milter does not answer, and
// Nagle on its side plus delayed ACKs on ours would otherwise stall each
// transaction by 40 ms. A stale unix socket left by a crashed process is
// removed; a live one is an error, and so is a path that holds anything
// but a socket (a mistyped listen must not delete a file).
func Listen(addr Address, so SocketOptions) (net.Listener, error) {
	if addr.Network != "unix" {
		// No TCP keep-alive probes, as with libmilter: a silent MTA is cut
		// off by IdleTimeout and ReadTimeout, and Go's default (probes
		// after 15 s) costs four setsockopt calls on every connection, one
		// per message with Postfix.
		lc := net.ListenConfig{KeepAlive: -1}
		ln, err := lc.Listen(context.Background(), addr.Network, addr.Addr)
		if err != nil {
			return nil, fmt.Errorf("milter: listen %s: %w", addr, err)
		}
		return quickAckListener{ln.(*net.TCPListener)}, nil
	}
	if st, err := os.Lstat(addr.Addr); err == nil {
		if st.Mode().Type() != os.ModeSocket {
			return nil, fmt.Errorf("milter: listen %s: %s exists and is not a socket (%s); refusing to replace it", addr, addr.Addr, fileKind(st.Mode()))
		}
		if c, err := net.Dial("unix", addr.Addr); err == nil {
			c.Close()
			return nil, fmt.Errorf("milter: listen %s: socket is in use by another process", addr)
		}
		if err := os.Remove(addr.Addr); err != nil {
			return nil, fmt.Errorf("milter: listen %s: remove stale socket: %w", addr, err)
		}
	}
	ln, err := net.Listen("unix", addr.Addr)
	if err != nil {
		return nil, fmt.Errorf("milter: listen %s: %w", addr, err)
	}
	mode := so.Mode
	if mode == 0 {
		mode = 0o660
	}
	if err := os.Chmod(addr.Addr, mode); err != nil {
		ln.Close()
		return nil, fmt.Errorf("milter: chmod %s: %w", addr.Addr, err)
	}
	if so.Group != "" {
		gid, err := lookupGroup(so.Group)
		if err == nil {
			err = os.Chown(addr.Addr, -1, gid)
		}
		if err != nil {
			ln.Close()
			return nil, fmt.Errorf("milter: socket group %q: %w", so.Group, err)
		}
	}
	return ln, nil
}

// fileKind names the type of a file mode for an error message.
func fileKind(m os.FileMode) string {
	switch {
	case m.IsRegular():
		return "a regular file"
	case m.IsDir():
		return "a directory"
	case m&os.ModeSymlink != 0:
		return "a symbolic link"
	}
	return "mode " + m.String()
}

func lookupGroup(name string) (int, error) {
	if n, err := strconv.Atoi(name); err == nil {
		return n, nil
	}
	g, err := user.LookupGroup(name)
	if err != nil {
		return 0, err
	}
	return strconv.Atoi(g.Gid)
}

type quickAckListener struct{ *net.TCPListener }

func (l quickAckListener) Accept() (net.Conn, error) {
	c, err := l.TCPListener.AcceptTCP()
	if err != nil {
		return nil, err
	}
	// Go has set TCP_NODELAY on every TCP connection already.
	raw, err := c.SyscallConn()
	if err != nil {
		return c, nil
	}
	return &quickAckConn{TCPConn: c, raw: raw}, nil
}

// quickAckConn re-arms TCP_QUICKACK before every read: Linux clears it
// again after a while, so setting it once at accept is not enough.
type quickAckConn struct {
	*net.TCPConn
	raw syscall.RawConn
}

func (c *quickAckConn) Read(b []byte) (int, error) {
	_ = c.raw.Control(setQuickAck)
	return c.TCPConn.Read(b)
}

func setQuickAck(fd uintptr) {
	_ = syscall.SetsockoptInt(int(fd), syscall.IPPROTO_TCP, syscall.TCP_QUICKACK, 1)
}

// MaxPacket is the largest milter packet the daemon accepts: a 1 MiB body
// chunk (the largest data size milter v6 negotiates) plus room for the
// command byte. go-milter would allocate whatever length a packet claims, up
// to 512 MiB, before reading it; the guard closes such connections first.
// We negotiate 64 KiB (negotiate), so an MTA sends larger packets only for
// a header field over 64 KiB (Postfix's header_size_limit is 100 KiB);
// those count against Options.BodyMemoryTotal while they are read.
const MaxPacket = 1<<20 + 1024

// smallPacket is the largest packet read without asking the memory
// budget: the 64 KiB data size (command byte included) that libmilter and
// go-milter use.
const smallPacket = 1 << 16

// guardListener wraps every accepted connection in a frameGuard. Filter.Serve
// puts it around every listener, so no byte reaches go-milter unchecked. It
// also keeps the open connections under Options.MaxSessions: one more is
// closed at once, and the MTA applies its milter_default_action.
type guardListener struct {
	net.Listener
	f *Filter
}

func (l guardListener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		if !l.f.admitConn() {
			c.Close()
			continue
		}
		return &frameGuard{Conn: c, br: bufio.NewReaderSize(c, 8<<10), f: l.f}, nil
	}
}

// errPacketTooLarge ends a connection whose packet claims more than MaxPacket bytes.
var errPacketTooLarge = errors.New("milter: packet length exceeds the limit")

// errMalformedPacket ends a connection whose packet go-milter cannot parse
// without crashing the daemon.
var errMalformedPacket = errors.New("milter: malformed packet")

// frameGuard follows the milter framing (4-byte big-endian length, then
// that many bytes: the command byte and its data) in the byte stream and
// fails the read that would hand go-milter a packet it cannot take: a
// length over MaxPacket, or a packet its parser would panic on (check). A
// panic there is in go-milter's connection goroutine, out of reach of any
// recover of ours, and takes the whole daemon down. After a failed read
// every further read fails too; go-milter then closes the connection and
// the MTA applies its milter_default_action, as for any broken milter
// connection.
//
// It also buffers reads: go-milter reads each packet with two calls (length,
// then data), and an MTA sends many small packets at once (header fields
// without replies), so one system call now serves many packets.
type frameGuard struct {
	net.Conn
	br      *bufio.Reader
	err     error // why the stream was refused; sticky
	hdr     [4]byte
	nhdr    int    // bytes of the length field seen
	left    uint32 // payload bytes still to pass
	packets int    // complete packets passed
	cmd     byte   // command byte of the current packet
	seen    uint32 // payload bytes of the current packet passed, command byte included
	nulAt   uint32 // payload offset of the first NUL after the command byte; 0: none yet

	f        *Filter // the memory budget, IdleTimeout and the connection count; nil in tests
	inTx     bool    // between MAIL and the end of the message (or an abort)
	reserved int64   // memory budget held for the current large packet
	closed   sync.Once

	// Deadlines. go-milter runs without read and write timeouts (New):
	// it would set and clear a deadline around every packet, 50 timer
	// updates and clock reads for a plain message although 5 reads reach
	// the socket. The guard applies Options.ReadTimeout per packet and
	// WriteTimeout per write itself, to the socket, when a read or write
	// reaches it (arm, Write). rdl and wdl are what go-milter asks for
	// anyway (it gives the negotiation 1 second).
	rdl, rdlSet time.Time
	wdl, wdlSet time.Time
	pktDeadline time.Time // read deadline of the packet being read
	pktArmed    bool      // pktDeadline is set for the packet being read

	hold [5]byte // a packet's length and command, sent together with its data
	held bool
	wbuf [512]byte // hold and data of a small packet (every reply but a modification), for one write
}

// errMemoryBudget ends a connection whose packet over 64 KiB finds no room
// in Options.BodyMemoryTotal.
var errMemoryBudget = errors.New("milter: packet larger than 64 KiB and no room in body_memory_total")

// errMTAGone fails the SMFIR_PROGRESS write when the MTA hung up or sent a
// command while it should be waiting for our answer (frameGuard.Write).
var errMTAGone = errors.New("milter: the MTA gave up waiting for the answer")

// NegotiationTimeout is how long a new connection may take to send its
// first packet (the option negotiation). go-milter allows 1 second, which a
// loaded MTA host misses, turning into false tempfails.
const NegotiationTimeout = 30 * time.Second

// SetReadDeadline keeps the deadline go-milter asks for; the socket gets
// it with the next read that reaches it (arm).
func (g *frameGuard) SetReadDeadline(t time.Time) error {
	g.rdl = t
	return nil
}

// SetWriteDeadline keeps the deadline go-milter asks for; the socket gets
// it with the next write (Write).
func (g *frameGuard) SetWriteDeadline(t time.Time) error {
	g.wdl = t
	return nil
}

// SetDeadline sets both deadlines.
func (g *frameGuard) SetDeadline(t time.Time) error {
	_ = g.SetReadDeadline(t)
	return g.SetWriteDeadline(t)
}

// Write passes go-milter's writes to the MTA. go-milter writes a packet
// in two parts, its length and command, then its data: the first part is
// held and goes out with the second, in one system call (and over TCP one
// segment), the way libmilter writes a packet. Before an SMFIR_PROGRESS
// packet, which the session sends only at end of message, while the MTA
// waits for the answer and sends nothing, it checks whether the MTA has
// hung up or sent a command meanwhile (an abort; a timeout closes the
// connection): then the write fails with errMTAGone and the session knows
// that its answer would go nowhere. The check reads nothing away: a byte
// that arrived stays buffered for go-milter.
func (g *frameGuard) Write(b []byte) (int, error) {
	if len(b) == 5 && b[0] == 0 && b[1] == 0 && b[2] == 0 && b[3] == 1 && b[4] == 'p' {
		if err := g.peerGone(); err != nil {
			return 0, err
		}
	}
	if !g.held && len(b) == 5 && binary.BigEndian.Uint32(b) > 1 {
		// the first part of a packet with data: go-milter's next write
		// is the data (internal/wire WritePacket)
		copy(g.hold[:], b)
		g.held = true
		return len(b), nil
	}
	// WriteTimeout for this write, unless go-milter asked for a deadline
	wdl := g.wdl
	if wdl.IsZero() && g.f != nil && g.f.options().WriteTimeout > 0 {
		wdl = time.Now().Add(g.f.options().WriteTimeout)
	}
	if !wdl.Equal(g.wdlSet) {
		if err := g.Conn.SetWriteDeadline(wdl); err != nil {
			return 0, err
		}
		g.wdlSet = wdl
	}
	if !g.held {
		return g.Conn.Write(b)
	}
	g.held = false
	var err error
	if len(g.hold)+len(b) <= len(g.wbuf) {
		n := copy(g.wbuf[:], g.hold[:])
		n += copy(g.wbuf[n:], b)
		_, err = g.Conn.Write(g.wbuf[:n])
	} else {
		bufs := net.Buffers{g.hold[:], b} // writev: no copy of a body chunk
		_, err = bufs.WriteTo(g.Conn)
	}
	if err != nil {
		return 0, err
	}
	return len(b), nil
}

// peerGone looks, without waiting, whether the MTA closed the connection
// or sent anything: recv(2) with MSG_PEEK|MSG_DONTWAIT on the socket, so
// nothing is consumed. (A read deadline cannot do it: Go fails a read
// whose deadline has passed before it looks at the socket.) A connection
// without a file descriptor (tests) is peeked through the buffered reader
// with a deadline of a few milliseconds.
func (g *frameGuard) peerGone() error {
	sent := fmt.Errorf("%w: it sent a command while it should wait", errMTAGone)
	switch {
	case g.err != nil:
		return fmt.Errorf("%w: %w", errMTAGone, g.err)
	case g.br.Buffered() > 0:
		return sent
	}
	if sc, ok := g.Conn.(syscall.Conn); ok {
		raw, err := sc.SyscallConn()
		if err == nil {
			var n int
			var rerr error
			var one [1]byte
			cerr := raw.Read(func(fd uintptr) bool {
				n, _, rerr = syscall.Recvfrom(int(fd), one[:], syscall.MSG_PEEK|syscall.MSG_DONTWAIT)
				return true
			})
			switch {
			case cerr != nil:
				return fmt.Errorf("%w: %w", errMTAGone, cerr)
			case errors.Is(rerr, syscall.EAGAIN):
				return nil // nothing to read: still waiting
			case rerr != nil:
				return fmt.Errorf("%w: %w", errMTAGone, rerr)
			case n == 0:
				return fmt.Errorf("%w: it closed the connection", errMTAGone)
			}
			return sent
		}
	}
	_ = g.Conn.SetReadDeadline(time.Now().Add(5 * time.Millisecond))
	_, err := g.br.Peek(1)
	_ = g.Conn.SetReadDeadline(time.Time{})
	g.rdlSet = time.Time{}
	var ne net.Error
	switch {
	case err == nil:
		return sent
	case errors.As(err, &ne) && ne.Timeout():
		return nil
	}
	return fmt.Errorf("%w: %w", errMTAGone, err)
}

// Close closes the connection and gives back what it held: its place
// under MaxSessions and the memory of a large packet being read.
func (g *frameGuard) Close() error {
	err := g.Conn.Close()
	g.closed.Do(func() {
		if g.f != nil {
			g.f.mem.release(g.reserved)
			g.reserved = 0
			g.f.connDone()
		}
	})
	return err
}

func (g *frameGuard) Read(b []byte) (int, error) {
	if g.err != nil {
		return 0, g.err
	}
	if g.nhdr == 0 && g.left == 0 && g.packets > 0 {
		if g.err = g.skipHeaderMacros(); g.err != nil {
			return 0, g.err
		}
	}
	if err := g.arm(1); err != nil {
		return 0, err
	}
	n, err := g.br.Read(b)
	for i := 0; i < n; {
		if g.left > 0 {
			k := min(uint32(n-i), g.left)
			g.inspect(b[i : i+int(k)])
			g.left -= k
			i += int(k)
			if g.left == 0 {
				if g.err = g.check(); g.err != nil {
					return 0, g.err
				}
				g.packets++
				g.pktArmed = false
				g.track()
			}
			continue
		}
		g.hdr[g.nhdr] = b[i]
		g.nhdr++
		i++
		if g.nhdr == 4 {
			g.nhdr = 0
			g.left = uint32(g.hdr[0])<<24 | uint32(g.hdr[1])<<16 | uint32(g.hdr[2])<<8 | uint32(g.hdr[3])
			g.cmd, g.seen, g.nulAt = 0, 0, 0
			switch {
			case g.left > MaxPacket:
				g.err = errPacketTooLarge
			case g.left == 0:
				// go-milter reads the command byte of an empty packet
				// out of range (internal/wire ReadPacket).
				g.err = fmt.Errorf("%w: empty packet", errMalformedPacket)
			case g.left > smallPacket && g.f != nil:
				// go-milter allocates the whole packet now, before its
				// bytes arrive: a slow sender would pin it.
				if g.f.mem.reserve(int64(g.left)) {
					g.reserved = int64(g.left)
				} else {
					g.err = errMemoryBudget
				}
			}
			if g.err != nil {
				return 0, g.err
			}
		}
	}
	return n, err
}

// arm gives the socket its read deadline before a read that needs n bytes
// and may reach the socket for them. The first packet (the negotiation)
// gets go-milter's deadline, NegotiationTimeout at least. Every later
// packet gets ReadTimeout from the moment the guard starts waiting for it,
// and a negotiated connection outside a transaction IdleTimeout at most;
// the deadline holds for the whole packet, however its bytes trickle in.
func (g *frameGuard) arm(n int) error {
	if g.br.Buffered() >= n {
		return nil
	}
	var t time.Time
	switch {
	case g.packets == 0:
		t = g.rdl
		if !t.IsZero() {
			if min := time.Now().Add(NegotiationTimeout); t.Before(min) {
				t = min
			}
		}
	case g.pktArmed:
		t = g.pktDeadline
	default:
		if g.f != nil {
			now := time.Now()
			o := g.f.options()
			if o.ReadTimeout > 0 {
				t = now.Add(o.ReadTimeout)
			}
			if idle := now.Add(o.IdleTimeout); !g.inTx && (t.IsZero() || idle.Before(t)) {
				t = idle
			}
		}
		g.pktDeadline, g.pktArmed = t, true
	}
	if t.Equal(g.rdlSet) {
		return nil
	}
	if err := g.Conn.SetReadDeadline(t); err != nil {
		return err
	}
	g.rdlSet = t
	return nil
}

// skipHeaderMacros drops, at a packet boundary, the SMFIC_MACRO packets
// for a header field ("D" "L"): Postfix sends one before every header
// field, go-milter parses each into a map it deletes after the field, and
// nothing reads them: session.Header uses no macro. Four of the 22 packets
// of a plain message, and a seventh of the allocations, cost nothing now.
// Every other packet passes, macros of every other stage too. A packet that
// cannot be dropped whole (its bytes do not arrive) ends the stream as
// go-milter would end it.
func (g *frameGuard) skipHeaderMacros() error {
	for {
		// length and command; a 5-byte packet (QUIT, ABORT) ends here: a
		// sixth byte may never come
		if err := g.arm(5); err != nil {
			return err
		}
		p, _ := g.br.Peek(5)
		if len(p) < 5 || p[4] != 'D' {
			return nil
		}
		size := binary.BigEndian.Uint32(p)
		if size < 2 || size > smallPacket {
			return nil
		}
		// the macro stage
		if err := g.arm(6); err != nil {
			return err
		}
		if p, _ = g.br.Peek(6); len(p) < 6 || p[5] != 'L' {
			return nil
		}
		if err := g.arm(4 + int(size)); err != nil {
			return err
		}
		if _, err := g.br.Discard(4 + int(size)); err != nil {
			return err
		}
		g.packets++
		g.pktArmed = false
	}
}

// track follows the transaction state of a complete, checked packet, for
// IdleTimeout, and gives back the memory of a large one.
func (g *frameGuard) track() {
	if g.reserved > 0 && g.f != nil {
		g.f.mem.release(g.reserved)
		g.reserved = 0
	}
	switch g.cmd {
	case 'M': // SMFIC_MAIL
		g.inTx = true
	case 'E', 'A', 'K', 'Q': // SMFIC_BODYEOB, SMFIC_ABORT, SMFIC_QUIT_NC, SMFIC_QUIT
		g.inTx = false
	}
}

// inspect notes what check needs to know of p, the next payload bytes of
// the current packet.
func (g *frameGuard) inspect(p []byte) {
	if g.seen == 0 {
		g.cmd = p[0]
	}
	if g.nulAt == 0 && (g.cmd == 'C' || g.cmd == 'M' || g.cmd == 'R') {
		from := 0
		if g.seen == 0 {
			from = 1 // the command byte
		}
		if k := bytes.IndexByte(p[from:], 0); k >= 0 {
			g.nulAt = g.seen + uint32(from+k)
		}
	}
	g.seen += uint32(len(p))
}

// check refuses a complete packet that go-milter v0.10.2 would panic on
// (session.go processMsg): it slices past the end of SMFIC_CONNECT,
// SMFIC_MAIL and SMFIC_RCPT data whose first string has no NUL, and reads
// the family byte of SMFIC_CONNECT without checking it is there. libmilter
// refuses these packets too; no MTA sends them.
func (g *frameGuard) check() error {
	switch g.cmd {
	case 'C', 'M', 'R':
		if g.nulAt == 0 {
			return fmt.Errorf("%w: %q command without a NUL-terminated string", errMalformedPacket, g.cmd)
		}
		if g.cmd == 'C' && g.nulAt+1 >= g.seen {
			return fmt.Errorf("%w: connect command without a protocol family", errMalformedPacket)
		}
	}
	return nil
}
