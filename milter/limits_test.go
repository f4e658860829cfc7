package milter_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	gomilter "github.com/d--j/go-milter"
	"github.com/emersion/go-message/textproto"

	"github.com/vpim-milter/vpim-milter/milter"
	"github.com/vpim-milter/vpim-milter/milter/testengine"
	"github.com/vpim-milter/vpim-milter/telephony"
)

// serveLogged serves a filter with the scripted engine and opts on a
// loopback port until the test ends; the log goes to the returned buffer.
func serveLogged(t *testing.T, opts milter.Options) (*milter.Filter, string, *lockedBuf) {
	t.Helper()
	if opts.TempDir == "" {
		opts.TempDir = t.TempDir()
	}
	logs := &lockedBuf{}
	f, err := milter.New(opts, testengine.Engine{}, slog.New(slog.NewTextHandler(logs, nil)), nil)
	if err != nil {
		t.Fatal(err)
	}
	_, addr := serveFilterOn(t, f, "inet:0@127.0.0.1")
	return f, addr, logs
}

// lockedBuf is a bytes.Buffer that the filter's goroutines may write while
// the test reads it.
type lockedBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuf) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuf) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// recordingDialer keeps what the milter sent on the connection it dials.
type recordingDialer struct{ got *lockedBuf }

func (d recordingDialer) Dial(network, addr string) (net.Conn, error) {
	c, err := net.Dial(network, addr)
	if err != nil {
		return nil, err
	}
	return recordingConn{Conn: c, got: d.got}, nil
}

type recordingConn struct {
	net.Conn
	got *lockedBuf
}

func (c recordingConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	c.got.Write(p[:n])
	return n, err
}

// TestDataSizeOffers: whatever maximum data size the MTA offers (64K, or
// Sendmail's MaxDataSize 256K and 1M), the milter answers 64 KiB and a
// body replacement larger than the offer goes out in packets of at most
// 65535 bytes. Before, go-milter cut the body at the offered size and then
// refused to write its own packets ("invalid data length: 262143 > 65535"):
// every rewritten message was tempfailed.
func TestDataSizeOffers(t *testing.T) {
	_, addr, _ := serveLogged(t, milter.Options{})
	const size = 3 << 20 // more than the largest offer
	for _, offer := range []gomilter.DataSize{gomilter.DataSize64K, gomilter.DataSize256K, gomilter.DataSize1M} {
		t.Run(fmt.Sprint(offer), func(t *testing.T) {
			rec := &lockedBuf{}
			s := greeted(t, addr, gomilter.WithOfferedMaxData(offer), gomilter.WithDialer(recordingDialer{rec}))
			s.Mail("<a@example.org>", "")
			s.Rcpt("<b@example.net>", "")
			var h textproto.Header
			h.Add("X-Test-Action", fmt.Sprintf("big-body=%d", size))
			if _, err := s.Header(h); err != nil {
				t.Fatal(err)
			}
			mods, act, err := s.BodyReadFrom(strings.NewReader("body\r\n"))
			if err != nil {
				t.Fatal(err)
			}
			if act.Type != gomilter.ActionAccept {
				t.Fatalf("end of message: %s, want accept", act)
			}
			total, chunks := 0, 0
			for _, m := range mods {
				if m.Type == gomilter.ActionReplaceBody {
					total += len(m.Body)
					chunks++
				}
			}
			if total != size {
				t.Errorf("replacement body: %d bytes in %d chunks, want %d", total, chunks, size)
			}
			// The wire: the negotiation answer has no SMFIP_MDS_* bit, and
			// no packet is over 64 KiB.
			raw := []byte(rec.String())
			if len(raw) < 17 || raw[4] != 'O' {
				t.Fatalf("no negotiation answer first: % x", raw[:min(len(raw), 17)])
			}
			if proto := binary.BigEndian.Uint32(raw[13:17]); proto&(0x10000000|0x20000000) != 0 {
				t.Errorf("negotiated protocol %#x asks for a data size over 64K", proto)
			}
			for off := 0; off+4 <= len(raw); {
				n := int(binary.BigEndian.Uint32(raw[off:]))
				if n > 65536 {
					t.Fatalf("packet of %d bytes at offset %d", n, off)
				}
				off += 4 + n
			}
		})
	}
}

// rawMTA speaks the milter protocol byte by byte, for tests that need
// the MTA to misbehave at a precise moment. It negotiates version 6, all
// actions and no protocol options, so every command gets a reply.
type rawMTA struct {
	t *testing.T
	c net.Conn
}

func dialRaw(t *testing.T, addr string) *rawMTA {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	m := &rawMTA{t: t, c: c}
	if _, err := c.Write(optneg(6, 0x1ff, 0)); err != nil {
		t.Fatal(err)
	}
	if code, _, err := m.read(5 * time.Second); err != nil || code != 'O' {
		t.Fatalf("negotiation: %c %v", code, err)
	}
	return m
}

// read reads one packet within d.
func (m *rawMTA) read(d time.Duration) (byte, []byte, error) {
	m.c.SetReadDeadline(time.Now().Add(d))
	var hdr [4]byte
	if _, err := io.ReadFull(m.c, hdr[:]); err != nil {
		return 0, nil, err
	}
	b := make([]byte, binary.BigEndian.Uint32(hdr[:]))
	if _, err := io.ReadFull(m.c, b); err != nil {
		return 0, nil, err
	}
	return b[0], b[1:], nil
}

// cmd sends one command and returns the code of its reply.
func (m *rawMTA) cmd(p []byte) byte {
	m.t.Helper()
	if _, err := m.c.Write(p); err != nil {
		m.t.Fatal(err)
	}
	code, _, err := m.read(5 * time.Second)
	if err != nil {
		m.t.Fatalf("reply to %c: %v", p[4], err)
	}
	return code
}

// TestMaxSessions: past MaxSessions open connections the next one is
// closed at once (its MTA applies milter_default_action); a place that
// frees is taken again; the refusals are logged.
func TestMaxSessions(t *testing.T) {
	f, addr, logs := serveLogged(t, milter.Options{MaxSessions: 3})
	var open []*rawMTA
	for i := 0; i < 3; i++ {
		open = append(open, dialRaw(t, addr))
	}
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	c.Write(optneg(6, 0x1ff, 0))
	c.SetReadDeadline(time.Now().Add(3 * time.Second))
	if n, err := c.Read(make([]byte, 64)); n != 0 || (err != io.EOF && !errors.Is(err, net.ErrClosed) && !strings.Contains(fmt.Sprint(err), "reset")) {
		t.Fatalf("fourth connection: read %d bytes, %v; want it closed", n, err)
	}
	c.Close()
	if n := f.Conns(); n != 3 {
		t.Errorf("%d connections counted, want 3", n)
	}
	open[0].c.Close()
	deadline := time.Now().Add(3 * time.Second)
	for f.Conns() != 2 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	dialRaw(t, addr) // negotiates: the place is free again
	if !strings.Contains(logs.String(), "MTA connections refused: max_sessions are open") {
		t.Errorf("no log line for the refusal:\n%s", logs)
	}
}

// TestIdleTimeout: a negotiated connection silent outside a transaction
// is closed after IdleTimeout; inside a transaction (after MAIL) the
// longer ReadTimeout applies, and after the end of the message the idle
// limit is back.
func TestIdleTimeout(t *testing.T) {
	_, addr, _ := serveLogged(t, milter.Options{IdleTimeout: 400 * time.Millisecond, ReadTimeout: 10 * time.Second})
	idle := dialRaw(t, addr)
	start := time.Now()
	if _, _, err := idle.read(5 * time.Second); err != io.EOF {
		t.Fatalf("idle connection: %v, want EOF", err)
	}
	if d := time.Since(start); d < 350*time.Millisecond || d > 2*time.Second {
		t.Errorf("idle connection closed after %v, want about 400ms", d)
	}

	busy := dialRaw(t, addr)
	if code := busy.cmd(packet('M', cstr("<a@example.org>"))); code != 'c' {
		t.Fatalf("MAIL: %c", code)
	}
	time.Sleep(time.Second) // well past IdleTimeout, inside the transaction
	if code := busy.cmd(packet('R', cstr("<b@example.net>"))); code != 'c' {
		t.Fatalf("RCPT after a second: %c", code)
	}
	busy.cmd(packet('L', cstr("X-Test-Action"), cstr("add-header")))
	busy.cmd(packet('N'))
	busy.c.Write(packet('E'))
	for {
		code, _, err := busy.read(5 * time.Second)
		if err != nil {
			t.Fatal(err)
		}
		if code == 'a' {
			break
		}
	}
	start = time.Now()
	if _, _, err := busy.read(5 * time.Second); err != io.EOF {
		t.Fatalf("after the end of message: %v, want EOF", err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("closed %v after the end of message, want about 400ms", d)
	}
}

// TestBodyMemoryTotal: the bodies of all sessions together keep at most
// BodyMemoryTotal in memory (more goes to temporary files), a packet over
// 64 KiB that finds no room ends its connection, and everything is given
// back when the sessions end.
func TestBodyMemoryTotal(t *testing.T) {
	f, addr, _ := serveLogged(t, milter.Options{BodyMemoryTotal: 200 << 10, BodyMaxMemory: 150 << 10})
	var sessions []*rawMTA
	for i := 0; i < 3; i++ {
		m := dialRaw(t, addr)
		m.cmd(packet('M', cstr("<a@example.org>")))
		m.cmd(packet('R', cstr("<b@example.net>")))
		m.cmd(packet('L', cstr("X-Test-Action"), cstr("add-header")))
		m.cmd(packet('N'))
		m.cmd(packet('B', bytes.Repeat([]byte("x"), 60000)))
		m.cmd(packet('B', bytes.Repeat([]byte("y"), 60000)))
		sessions = append(sessions, m)
		if used := f.BodyMemory(); used > 200<<10 {
			t.Fatalf("after %d sessions: %d bytes in memory, over the total of 200 KiB", i+1, used)
		}
	}
	if used := f.BodyMemory(); used != 120000 {
		t.Errorf("%d bytes in memory, want 120000: one body fits, the others spilled", used)
	}
	// A 100 KB header field: no room left for it, the connection ends.
	big := dialRaw(t, addr)
	big.cmd(packet('M', cstr("<a@example.org>")))
	big.c.Write(packet('L', cstr("X-Big"), cstr(strings.Repeat("z", 100000))))
	if _, _, err := big.read(3 * time.Second); err == nil {
		t.Fatal("a header packet over the memory budget was answered")
	}
	for _, m := range sessions {
		m.c.Close()
	}
	deadline := time.Now().Add(3 * time.Second)
	for f.BodyMemory() != 0 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if used := f.BodyMemory(); used != 0 {
		t.Errorf("%d bytes still counted after the sessions ended", used)
	}
}

// slowGateway is the real gateway, slowed down after it staged the jobs,
// so a test can act while the milter holds them.
type slowGateway struct {
	*telephony.Gateway
	delay time.Duration
}

func (g slowGateway) Stage(ctx context.Context, m *telephony.Message) (*telephony.Staged, error) {
	st, err := g.Gateway.Stage(ctx, m)
	select {
	case <-time.After(g.delay):
	case <-ctx.Done():
	}
	return st, err
}

// TestBridgeJobsOnlyOnAccept: with the real gateway and spool, the jobs of
// a message become callable (new/) only when the message is accepted. A
// transaction tempfailed after the hand-off (the MTA cannot take the
// body replacement), one the MTA aborts while the milter works, and one
// whose connection the MTA drops leave no job, neither in new/ nor in
// staging/. Before, the jobs were in new/ from the hand-off on, and each
// MTA retry called again.
func TestBridgeJobsOnlyOnAccept(t *testing.T) {
	for _, tc := range []struct {
		name string
		run  func(t *testing.T, addr string)
		jobs int
		log  string
	}{
		{"accepted", func(t *testing.T, addr string) {
			if act := voiceTxn(t, addr, gomilter.AllClientSupportedActionMasks, "add-header"); act != "accept" {
				t.Errorf("end of message: %s, want accept", act)
			}
		}, 1, ""},
		{"tempfailed after the hand-off", func(t *testing.T, addr string) {
			// The MTA does not allow body changes: the plan fails after
			// the jobs were staged.
			act := voiceTxn(t, addr, gomilter.AllClientSupportedActionMasks&^gomilter.OptChangeBody, "replace-body")
			if !strings.Contains(act, "451 4.3.0") {
				t.Errorf("end of message: %s, want 451 4.3.0", act)
			}
		}, 0, ""},
		{"aborted by the MTA", func(t *testing.T, addr string) {
			m := rawVoice(t, addr)
			time.Sleep(150 * time.Millisecond) // the milter holds the staged jobs
			m.c.Write(packet('A'))
			for { // the answer to the end of message still comes: a tempfail
				code, data, err := m.read(5 * time.Second)
				if err != nil {
					t.Fatalf("no answer after the abort: %v", err)
				}
				if code == 'y' {
					if !bytes.HasPrefix(data, []byte("451 4.3.0")) {
						t.Errorf("answer %q, want 451 4.3.0", data)
					}
					break
				}
			}
			m.c.Close()
		}, 0, "MTA gave up waiting"},
		{"connection dropped", func(t *testing.T, addr string) {
			m := rawVoice(t, addr)
			time.Sleep(150 * time.Millisecond)
			m.c.Close()
		}, 0, "MTA gave up waiting"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			spool, err := telephony.OpenSpool(filepath.Join(t.TempDir(), "spool"))
			if err != nil {
				t.Fatal(err)
			}
			g, err := telephony.NewGateway(telephony.Options{AllowedSenders: []string{"*"}, OutdialAllow: []string{"+39"}, TempDir: t.TempDir()}, spool)
			if err != nil {
				t.Fatal(err)
			}
			f, addr, logs := serveLogged(t, milter.Options{Bridge: slowGateway{g, 500 * time.Millisecond}, ProgressInterval: 50 * time.Millisecond})
			tc.run(t, addr)
			deadline := time.Now().Add(5 * time.Second)
			for f.Sessions() != 0 && time.Now().Before(deadline) {
				time.Sleep(10 * time.Millisecond)
			}
			time.Sleep(100 * time.Millisecond)
			count := func(state string) int {
				ents, err := os.ReadDir(filepath.Join(spool.Dir(), state))
				if err != nil {
					t.Fatal(err)
				}
				return len(ents)
			}
			if n := count("new"); n != tc.jobs {
				t.Errorf("%d jobs in new/, want %d\n%s", n, tc.jobs, logs)
			}
			if n := count("staging"); n != 0 {
				t.Errorf("%d jobs left in staging/", n)
			}
			if tc.log != "" && !strings.Contains(logs.String(), tc.log) {
				t.Errorf("log lacks %q:\n%s", tc.log, logs)
			}
		})
	}
}

// voiceHeader is a single-part µ-law voice message to a telephone number.
var voiceHeader = [][2]string{{"From", "caller@example.org"}, {"To", "VOICE=+3940226338@voice.example.com"}, {"Subject", "call me"},
	{"Mime-Version", "1.0"}, {"Content-Type", "audio/basic"}, {"Content-Transfer-Encoding", "base64"}}

// voiceTxn sends one voice message with go-milter's client (MTA actions
// as given, X-Test-Action as given) and returns the end-of-message action.
func voiceTxn(t *testing.T, addr string, actions gomilter.OptAction, action string) string {
	t.Helper()
	s := greeted(t, addr, gomilter.WithActions(actions))
	defer s.Close() // before the next transaction, not at the end of the test
	s.Mail("<caller@example.org>", "")
	if a, err := s.Rcpt("<VOICE=+3940226338@voice.example.com>", ""); err != nil || a.StopProcessing() {
		t.Fatalf("rcpt: %v %v", a, err)
	}
	var h textproto.Header
	h.Add("X-Test-Action", action)
	for i := len(voiceHeader) - 1; i >= 0; i-- {
		h.Add(voiceHeader[i][0], voiceHeader[i][1])
	}
	if _, err := s.Header(h); err != nil {
		t.Fatal(err)
	}
	_, a, err := s.BodyReadFrom(strings.NewReader("AAECAwQFBgc=\r\n"))
	if err != nil {
		t.Fatal(err)
	}
	if a.Type == gomilter.ActionAccept {
		return "accept"
	}
	return a.String()
}

// rawVoice sends a voice message up to and including the end of message,
// without waiting for the answer.
func rawVoice(t *testing.T, addr string) *rawMTA {
	m := dialRaw(t, addr)
	m.cmd(packet('M', cstr("<caller@example.org>")))
	if code := m.cmd(packet('R', cstr("<VOICE=+3940226338@voice.example.com>"))); code != 'c' {
		t.Fatalf("RCPT: %c", code)
	}
	m.cmd(packet('L', cstr("X-Test-Action"), cstr("add-header")))
	for _, f := range voiceHeader {
		m.cmd(packet('L', cstr(f[0]), cstr(" "+f[1])))
	}
	m.cmd(packet('N'))
	m.cmd(packet('B', []byte("AAECAwQFBgc=\r\n")))
	m.c.Write(packet('E'))
	return m
}
