package milter_test

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	gomilter "github.com/d--j/go-milter"
	"github.com/emersion/go-message/textproto"

	"github.com/vpim-milter/vpim-milter/milter"
)

// fuzzBound is how long one input may occupy the milter: by then the
// connection must be closed, the session over and its resources released.
const fuzzBound = 2 * time.Second

// fuzzReadLimit caps what the harness reads back. A body replacement the
// input asked for (X-Test-Action: big-body=N) is cut there by closing the
// connection, which the milter must survive too.
const fuzzReadLimit = 4 << 20

// fuzzServeEvery is how often (in inputs) the harness runs a normal
// transaction to show the daemon still serves. The first input always does.
const fuzzServeEvery = 16

// The bits of FuzzSession's mode argument.
const (
	fuzzRaw    = 1 << iota // send data as is, without the option negotiation packet
	fuzzAbrupt             // close the connection after writing instead of half-closing it
)

// fuzzOptions makes every limit reachable by a small input: bodies spill to
// a file after 512 bytes, 16 KiB is oversize, 20 fields or 4 KiB of header
// overflow, evaluation gives up after 20 ms (X-Test-Action: sleep=...)
// and long evaluations send progress every 5 ms.
func fuzzOptions(tmp string) milter.Options {
	return milter.Options{
		TempDir:          tmp,
		BodyMaxMemory:    512,
		BodyMaxSize:      16 << 10,
		MaxHeaders:       20,
		MaxHeaderBytes:   4 << 10,
		EvalTimeout:      20 * time.Millisecond,
		ProgressInterval: 5 * time.Millisecond,
		DrainTimeout:     time.Second,
	}
}

// FuzzSession feeds arbitrary bytes to a serving filter over a unix socket
// ("garbage on the milter socket: a defined verdict, bounded memory and
// time, never a crash"). Unless mode has fuzzRaw, data follows a valid
// SMFIC_OPTNEG packet offering protocol version 6, every action and the
// protocol mask proto, so the fuzzer works on the commands after the
// negotiation. For every input the milter must close the connection within
// fuzzBound after the input ends, and then hold no more connections,
// sessions, descriptors or temporary files than before it; every
// fuzzServeEvery inputs a normal transaction must still succeed. A panic in
// go-milter's connection goroutine, where no recover of ours reaches, takes
// the fuzz worker down like the daemon, and the fuzzer reports the crash.
func FuzzSession(f *testing.F) {
	tmp := f.TempDir()
	conns := &connCounter{}
	filter, _, sock := serveFilter(f, "unix:"+filepath.Join(f.TempDir(), "m.sock"), fuzzOptions(tmp), conns.wrap)
	// The checks compare with the state before each input, so that a leak
	// fails the input that caused it and no later one (the fuzzer's
	// minimizer relies on that).
	type state struct{ conns, sessions, fds, files int }
	snapshot := func(tb testing.TB) state {
		ents, _ := os.ReadDir(tmp)
		return state{int(conns.accepted.Load() - conns.closed.Load()), filter.Sessions(), countFDs(tb), len(ents)}
	}
	released := func(tb testing.TB, before state) error {
		now := snapshot(tb)
		switch {
		case now.conns > before.conns:
			return fmt.Errorf("%d connections open on the milter's side, %d before", now.conns, before.conns)
		case now.sessions > before.sessions:
			return fmt.Errorf("%d sessions open, %d before", now.sessions, before.sessions)
		case now.fds > before.fds:
			return fmt.Errorf("%d file descriptors open, %d before", now.fds, before.fds)
		case now.files > before.files:
			ents, _ := os.ReadDir(tmp)
			return fmt.Errorf("temporary files left: %v", ents)
		}
		return nil
	}
	idle := snapshot(f)
	fuzzServes(f, sock)
	for _, s := range fuzzSeeds(f, sock) {
		f.Add(s.mode, s.proto, s.data)
	}
	if err := settle(func() error { return released(f, idle) }); err != nil {
		f.Fatalf("after capturing the seeds: %v", err)
	}
	var inputs atomic.Int64

	f.Fuzz(func(t *testing.T, mode uint8, proto uint32, data []byte) {
		in := data
		if mode&fuzzRaw == 0 {
			in = append(optneg(6, uint32(gomilter.AllClientSupportedActionMasks), proto), data...)
		}
		before := snapshot(t)
		accepted := conns.accepted.Load()
		c, err := net.Dial("unix", sock)
		if err != nil {
			t.Fatalf("dial: %v", err)
		}
		defer c.Close()
		// Wait for the milter's end of the connection, so that all it does
		// with this input happens while this input is the one under test.
		if err := settle(func() error {
			if conns.accepted.Load() == accepted {
				return errors.New("the milter did not accept the connection")
			}
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		_ = c.SetDeadline(time.Now().Add(fuzzBound))
		werr := make(chan error, 1)
		var sent atomic.Int64
		go func() {
			n, err := c.Write(in)
			sent.Store(int64(n))
			if mode&fuzzAbrupt != 0 {
				c.Close()
			} else {
				_ = c.(*net.UnixConn).CloseWrite()
			}
			werr <- err
		}()
		n, rerr := io.Copy(io.Discard, io.LimitReader(c, fuzzReadLimit))
		c.Close()
		err = <-werr
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			t.Fatalf("the milter stopped reading: %d of %d input bytes sent in %v", sent.Load(), len(in), fuzzBound)
		}
		if errors.As(rerr, &ne) && ne.Timeout() {
			t.Fatalf("the milter kept the connection open %v after the input ended (%d reply bytes read)", fuzzBound, n)
		}
		if err := settle(func() error { return released(t, before) }); err != nil {
			t.Fatalf("%v, %v after the connection closed", err, fuzzBound)
		}
		if inputs.Add(1)%fuzzServeEvery == 1 {
			fuzzServes(t, sock)
			if err := settle(func() error { return released(t, before) }); err != nil {
				t.Fatalf("%v, %v after a normal transaction", err, fuzzBound)
			}
		}
	})
}

// fuzzServes runs one fast-path transaction (no X-Test-Action: accepted at
// the end of the header) and fails unless the milter accepts it.
func fuzzServes(tb testing.TB, sock string) {
	tb.Helper()
	c := gomilter.NewClient("unix", sock, gomilter.WithActions(gomilter.AllClientSupportedActionMasks))
	s, err := c.Session(nil)
	if err != nil {
		tb.Fatalf("the milter no longer serves: %v", err)
	}
	defer s.Close()
	if err := fuzzHello(s); err != nil {
		tb.Fatalf("the milter no longer serves: %v", err)
	}
	var h textproto.Header
	h.Add("Subject", "still serving")
	act, err := fuzzScript(s, "<a@example.org>", "<b@example.net>", h)
	if err != nil {
		tb.Fatalf("the milter no longer serves: %v", err)
	}
	if act.Type != gomilter.ActionAccept {
		tb.Fatalf("the milter no longer serves: end of header: got %v, want Accept", act)
	}
}

// fuzzHello sends CONNECT and HELO, which the negotiated protocol skips
// (only their macros go out).
func fuzzHello(s *gomilter.ClientSession) error {
	if _, err := s.Conn("client.example", gomilter.FamilyInet, 25, "192.0.2.1"); err != nil {
		return err
	}
	_, err := s.Helo("client.example")
	return err
}

// fuzzScript sends MAIL, RCPT and the header, and returns the reply to the
// end of the header.
func fuzzScript(s *gomilter.ClientSession, from, rcpt string, h textproto.Header) (*gomilter.Action, error) {
	if _, err := s.Mail(from, "SIZE=100"); err != nil {
		return nil, err
	}
	act, err := s.Rcpt(rcpt, "")
	if err != nil || act.StopProcessing() {
		return act, err
	}
	return s.Header(h)
}

type fuzzSeed struct {
	mode  uint8
	proto uint32
	data  []byte
}

// fuzzSeeds returns the seed corpus: sessions recorded from go-milter's
// client against the running filter (each also as a raw seed, negotiation
// included), followed by hand-made broken streams.
func fuzzSeeds(tb testing.TB, sock string) []fuzzSeed {
	tb.Helper()
	header := func(kv ...string) textproto.Header {
		var h textproto.Header
		for i := len(kv) - 2; i >= 0; i -= 2 {
			h.Add(kv[i], kv[i+1])
		}
		return h
	}
	full := func(action, body string) func(*gomilter.ClientSession) error {
		return func(s *gomilter.ClientSession) error {
			act, err := fuzzScript(s, "<a@example.org>", "<b@example.net>", header(
				"From", "a@example.org", "To", "b@example.net", "Subject", "hello",
				"X-Test-Delete", "x", "X-Test-Action", action))
			if err != nil {
				return err
			}
			if act.Type != gomilter.ActionContinue {
				return fmt.Errorf("end of header: got %v, want Continue", act)
			}
			_, _, err = s.BodyReadFrom(strings.NewReader(body))
			return err
		}
	}
	scripts := []func(*gomilter.ClientSession) error{
		full("add-header,change-header,delete-header,insert-header", "short body\r\n"),
		full("replace-body,quarantine", strings.Repeat("spilled to a file\r\n", 40)),
		full("add-rcpt=c@example.net,del-rcpt=b@example.net", "hi\r\n"),
		full("reject", "hi\r\n"),
		full("tempfail", "hi\r\n"),
		full("panic", "hi\r\n"),
		full("big-body=70000", "hi\r\n"),
		full("sleep=50ms", "hi\r\n"),
		full("bogus", "hi\r\n"),
		full("add-header", strings.Repeat("x", 17<<10)), // oversize: the milter asks to skip the rest
		func(s *gomilter.ClientSession) error { // fast path, abort, a second transaction
			if _, err := fuzzScript(s, "<a@example.org>", "<b@example.net>", header("Subject", "fast")); err != nil {
				return err
			}
			if err := s.Abort(nil); err != nil {
				return err
			}
			return full("add-header", "second\r\n")(s)
		},
		func(s *gomilter.ClientSession) error { // refused recipient
			_, err := fuzzScript(s, "<a@example.org>", "<refuse@example.net>", header("Subject", "x"))
			return err
		},
		func(s *gomilter.ClientSession) error { // too many header fields
			var kv []string
			for i := 0; i < 25; i++ {
				kv = append(kv, "X-Filler", strings.Repeat("f", i))
			}
			_, err := fuzzScript(s, "<a@example.org>", "<b@example.net>", header(append(kv, "X-Test-Action", "add-header")...))
			return err
		},
		func(s *gomilter.ClientSession) error { // header macros, dropped mid-body
			if _, err := s.Mail("<>", ""); err != nil {
				return err
			}
			if _, err := s.Rcpt("<b@example.net>", "NOTIFY=NEVER"); err != nil {
				return err
			}
			if _, err := s.DataStart(); err != nil {
				return err
			}
			if _, err := s.HeaderField("X-Test-Action", "add-header", map[gomilter.MacroName]string{gomilter.MacroQueueId: "Q2"}); err != nil {
				return err
			}
			if _, err := s.HeaderEnd(); err != nil {
				return err
			}
			_, err := s.BodyChunk(bytes.Repeat([]byte("b"), 2000))
			return err
		},
		func(s *gomilter.ClientSession) error { // SMFIC_QUIT_NC and a new transaction
			if _, err := fuzzScript(s, "<a@example.org>", "<b@example.net>", header("Subject", "one")); err != nil {
				return err
			}
			if err := s.Reset(nil); err != nil {
				return err
			}
			if err := fuzzHello(s); err != nil {
				return err
			}
			_, err := fuzzScript(s, "<a@example.org>", "<b@example.net>", header("Subject", "two"))
			return err
		},
	}
	var seeds []fuzzSeed
	var proto uint32
	for i, script := range scripts {
		rec := &bytes.Buffer{}
		macros := gomilter.NewMacroBag()
		macros.Set(gomilter.MacroQueueId, "Q1")
		macros.Set(gomilter.MacroAuthAuthen, "alice")
		macros.Set(gomilter.MacroDaemonName, "smtpd")
		c := gomilter.NewClient("unix", sock, gomilter.WithActions(gomilter.AllClientSupportedActionMasks), gomilter.WithDialer(recordDialer{rec}))
		s, err := c.Session(macros)
		if err != nil {
			tb.Fatalf("seed %d: %v", i, err)
		}
		if err := fuzzHello(s); err != nil {
			tb.Fatalf("seed %d: %v", i, err)
		}
		if err := script(s); err != nil {
			tb.Fatalf("seed %d: %v", i, err)
		}
		_ = s.Close()
		raw := rec.Bytes()
		neg := 4 + int(binary.BigEndian.Uint32(raw))
		proto = binary.BigEndian.Uint32(raw[neg-4:])
		seeds = append(seeds,
			fuzzSeed{0, proto, raw[neg:]},
			fuzzSeed{fuzzRaw, 0, raw},
			fuzzSeed{fuzzAbrupt, proto, raw[neg:]},
		)
	}

	mail := packet('M', cstr("<a@example.org>"), cstr("SIZE=10"))
	rcpt := packet('R', cstr("<b@example.net>"))
	hdr := packet('L', cstr("X-Test-Action"), cstr("add-header"))
	eoh, eom := packet('N'), packet('E')
	cat := func(p ...[]byte) []byte { return bytes.Join(p, nil) }
	broken := [][]byte{
		{0, 0, 0, 0},             // zero-length packet: no command byte
		{0xff, 0xff, 0xff, 0xff}, // 4 GiB claim
		{0, 0x10, 0x04, 0x01},    // one byte over MaxPacket
		{0, 0, 0},                // truncated length
		mail[:9],                 // truncated packet
		packet('Z', []byte("x")), // unknown command
		packet('?'),
		packet('O', optneg(6, 0, 0)[5:]), // second negotiation
		cat(packet('B', []byte("early body\r\n")), eom),          // body before MAIL
		cat(mail, rcpt, eom),                                     // end of message without a header
		cat(eoh, hdr, eom),                                       // header commands without MAIL
		cat(mail, rcpt, hdr, eoh, packet('B'), eom, eom),         // empty body chunk, EOM twice
		cat(mail, rcpt, hdr, eoh, packet('A'), packet('A'), eom), // abort, then EOM
		cat(mail, packet('K'), mail, rcpt, hdr, eoh, eom),        // QUIT_NC mid-transaction
		cat(packet('Q'), mail),                                   // data after QUIT
		packet('L', cstr("Subject")),                             // header with one string
		packet('L'),
		packet('D'),                                                  // empty macro packet
		packet('D', []byte("M"), cstr("i"), cstr("Q1"), cstr("odd")), // odd macro list
		packet('D', []byte("Zx\x00y\x00")),                           // macros for an unknown command
		packet('U', []byte("XFOO bar")),                              // unknown SMTP command, no NUL
		packet('H', []byte("helo.example")),                          // HELO without NUL
		packet('M', []byte("<a@example.org>")),                       // MAIL without NUL
		cat(mail, packet('R', []byte("<b@example.net>"))),            // RCPT without NUL
		packet('M'), packet('R'), // empty MAIL, RCPT
		packet('C', []byte("host")),            // CONNECT without NUL
		packet('C', cstr("host")),              // CONNECT without a family
		packet('C', cstr("host"), []byte("4")), // CONNECT without a port
		packet('C', cstr("host"), []byte("4\x00\x19"), cstr("999.0.0.1")),
		packet('C', cstr("host"), []byte("6\x00\x19"), cstr("IPv6:[::1]")),
		packet('C', cstr("host"), []byte("U")),
	}
	for _, b := range broken {
		seeds = append(seeds, fuzzSeed{0, proto, b})
	}
	for _, b := range [][]byte{
		nil,
		[]byte("EHLO example.org\r\n"),
		{0, 0, 0, 0},
		optneg(1, 0, 0),
		optneg(99, 0xffffffff, 0xffffffff),
		packet('O', []byte{0, 0, 0, 6}),
		cat(optneg(2, 0, 0), mail, rcpt, hdr, eoh, eom),
	} {
		seeds = append(seeds, fuzzSeed{fuzzRaw, 0, b})
	}
	return seeds
}

// packet frames one milter command: 4-byte length, command byte, data.
func packet(code byte, data ...[]byte) []byte {
	d := bytes.Join(data, nil)
	out := binary.BigEndian.AppendUint32(nil, uint32(1+len(d)))
	return append(append(out, code), d...)
}

func cstr(s string) []byte { return append([]byte(s), 0) }

// optneg is the MTA's SMFIC_OPTNEG packet.
func optneg(version, actions, proto uint32) []byte {
	d := binary.BigEndian.AppendUint32(nil, version)
	d = binary.BigEndian.AppendUint32(d, actions)
	d = binary.BigEndian.AppendUint32(d, proto)
	return packet('O', d)
}

// settle polls check until it returns nil or fuzzBound has passed, and
// returns its last error.
func settle(check func() error) error {
	deadline := time.Now().Add(fuzzBound)
	for {
		err := check()
		if err == nil || time.Now().After(deadline) {
			return err
		}
		time.Sleep(100 * time.Microsecond)
	}
}

// connCounter counts the connections a listener accepted and those of them
// closed (by the milter: go-milter closes its end last thing).
type connCounter struct {
	accepted, closed atomic.Int64
}

func (c *connCounter) wrap(ln net.Listener) net.Listener { return countingListener{ln, c} }

type countingListener struct {
	net.Listener
	c *connCounter
}

func (l countingListener) Accept() (net.Conn, error) {
	conn, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	l.c.accepted.Add(1)
	return &countedConn{Conn: conn, c: l.c}, nil
}

type countedConn struct {
	net.Conn
	c    *connCounter
	once sync.Once
}

func (c *countedConn) Close() error {
	err := c.Conn.Close()
	c.once.Do(func() { c.c.closed.Add(1) })
	return err
}

// recordDialer records everything the client writes.
type recordDialer struct{ w *bytes.Buffer }

func (d recordDialer) Dial(network, addr string) (net.Conn, error) {
	c, err := net.Dial(network, addr)
	if err != nil {
		return nil, err
	}
	return recordConn{Conn: c, w: d.w}, nil
}

type recordConn struct {
	net.Conn
	w *bytes.Buffer
}

func (c recordConn) Write(p []byte) (int, error) {
	c.w.Write(p)
	return c.Conn.Write(p)
}
