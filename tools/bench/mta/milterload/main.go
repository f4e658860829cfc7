// Command milterload drives a milter the way Postfix 3.7 does for one plain
// message per SMTP session, without Postfix: it measures what the milter
// process costs per transaction (CPU time, and with perf the system calls and
// context switches) when nothing else on the machine depends on it.
//
//	milterload -addr unix:/path/milter.sock -n 20000 -c 10 [-gap 300us] [-pid PID]
//
// Each of -c workers repeats, on a new connection per transaction: option
// negotiation (version 6, every action and protocol step offered, as Postfix
// does), then the packets Postfix sends in the groups it sends them (one
// write each): the connect/HELO/MAIL macros with MAIL and RCPT; the DATA
// macros; the header fields with their macros and end of headers; after the
// reply, abort, abort, quit (Postfix ends every session so), and close.
// Where the filter continues after the headers, a 2 KB body chunk and end of
// message follow. -gap pauses before each group, as Postfix waits for its
// SMTP client between them: the filter then goes idle and is woken for each
// group, as under a real MTA, instead of finding the next packet already
// queued. Steps the filter negotiated away are not sent, replies it
// negotiated away are not awaited. Any reply but continue (RCPT) and accept
// (end of headers or message) is an error: the run checks the filter passes
// the message.
//
// With -pid it reads /proc/PID/stat before and after and prints the CPU time
// of that process per transaction (user + system, every thread). Compare
// ratios of two filters measured the same way, not absolute numbers.
// tools/bench/mta/README.md shows how to use it with perf.
package main

import (
	"bufio"
	"encoding/binary"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/vpim-milter/vpim-milter/internal/postfixwire"
)

func main() {
	addr := flag.String("addr", "", "milter address: unix:/path, inet:PORT@HOST or HOST:PORT")
	n := flag.Int("n", 10000, "transactions")
	c := flag.Int("c", 10, "parallel connections")
	pid := flag.Int("pid", 0, "report the CPU time of this process per transaction")
	gap := flag.Duration("gap", 0, "pause before each group of packets, as an MTA waits for its client (0: none, the filter runs flat out)")
	flag.Parse()
	network, address, err := parseAddr(*addr)
	if err != nil || *n < 1 || *c < 1 {
		fmt.Fprintln(os.Stderr, "usage: milterload -addr unix:/path|inet:PORT@HOST [-n N] [-c C] [-pid PID]")
		os.Exit(2)
	}
	cpu0, err := cpuTicks(*pid)
	if err != nil {
		fmt.Fprintln(os.Stderr, "milterload:", err)
		os.Exit(1)
	}
	var next atomic.Int64
	var failed atomic.Int64
	var firstErr sync.Once
	var wg sync.WaitGroup
	start := time.Now()
	for w := 0; w < *c; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			t := newTransaction()
			t.gap = *gap
			for next.Add(1) <= int64(*n) {
				if err := t.run(network, address); err != nil {
					failed.Add(1)
					firstErr.Do(func() { fmt.Fprintln(os.Stderr, "milterload:", err) })
				}
			}
		}()
	}
	wg.Wait()
	d := time.Since(start)
	fmt.Printf("transactions %d  failed %d  %.2f s  %.0f/s", *n, failed.Load(), d.Seconds(), float64(*n)/d.Seconds())
	if *pid != 0 {
		cpu1, err := cpuTicks(*pid)
		if err == nil {
			fmt.Printf("  milter cpu %.1f us/transaction", float64(cpu1-cpu0)*1e6/float64(clockTicks)/float64(*n))
		}
	}
	fmt.Println()
	if failed.Load() > 0 {
		os.Exit(1)
	}
}

// clockTicks is USER_HZ, the unit of /proc/PID/stat times (100 on Linux).
const clockTicks = 100

// cpuTicks returns utime + stime of pid (0: none).
func cpuTicks(pid int) (int64, error) {
	if pid == 0 {
		return 0, nil
	}
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0, err
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return 0, errors.New("malformed /proc stat")
	}
	f := strings.Fields(s[i+1:])
	if len(f) < 13 {
		return 0, errors.New("malformed /proc stat")
	}
	u, err1 := strconv.ParseInt(f[11], 10, 64)
	st, err2 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, errors.New("malformed /proc stat")
	}
	return u + st, nil
}

func parseAddr(s string) (network, address string, err error) {
	switch {
	case strings.HasPrefix(s, "unix:"):
		return "unix", s[5:], nil
	case strings.HasPrefix(s, "/"):
		return "unix", s, nil
	case strings.HasPrefix(s, "inet:"):
		rest := s[5:]
		if port, host, ok := strings.Cut(rest, "@"); ok {
			return "tcp", net.JoinHostPort(host, port), nil
		}
		return "tcp", rest, nil
	case s != "":
		return "tcp", s, nil
	}
	return "", "", errors.New("no address")
}

// transaction holds one worker's packets and buffers, reused for every
// transaction so that the load generator costs little next to the filter.
type transaction struct {
	buf    []byte
	br     *bufio.Reader
	optneg []byte
	body   []byte // body chunk, end-of-message macros, end of message
	quit   []byte
	qid    int
	gap    time.Duration
}

// send writes p after the configured pause.
func (t *transaction) send(conn net.Conn, p []byte) error {
	if t.gap > 0 {
		time.Sleep(t.gap)
	}
	_, err := conn.Write(p)
	return err
}

func newTransaction() *transaction {
	t := &transaction{br: bufio.NewReaderSize(nil, 4096)}
	// version 6, actions 0x1ff, protocol 0x1fffff: what Postfix 3.7 offers
	t.optneg = postfixwire.Negotiate(nil)
	t.quit = postfixwire.Quit(nil)
	t.body = postfixwire.Packet(nil, 'B', strings.Repeat("0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcd\r\n", 32))
	t.body = postfixwire.Packet(postfixwire.Packet(t.body, 'D', "E", "i\x00QUEUEID0000\x00"), 'E')
	return t
}

func (t *transaction) run(network, address string) error {
	conn, err := net.Dial(network, address)
	if err != nil {
		return err
	}
	defer conn.Close()
	if tc, ok := conn.(*net.TCPConn); ok {
		_ = tc.SetNoDelay(false) // like Postfix (libc sockets, Nagle on)
	}
	_ = conn.SetDeadline(time.Now().Add(30 * time.Second))
	t.br.Reset(conn)
	if err := t.send(conn, t.optneg); err != nil {
		return err
	}
	cmd, data, err := t.read()
	if err != nil {
		return fmt.Errorf("negotiate: %w", err)
	}
	if cmd != 'O' || len(data) < 12 {
		return fmt.Errorf("negotiate: reply %q", cmd)
	}
	proto := binary.BigEndian.Uint32(data[8:12])
	t.qid++
	qid := fmt.Sprintf("Q%011X", t.qid)

	t.buf = postfixwire.Envelope(t.buf[:0], proto)
	if err := t.send(conn, t.buf); err != nil {
		return err
	}
	// replies: connect, HELO, MAIL unless negotiated away, then RCPT
	for _, r := range []struct {
		skip bool
		what string
	}{
		{proto&(postfixwire.NoConnect|postfixwire.NRConn) != 0, "connect"},
		{proto&(postfixwire.NoHelo|postfixwire.NRHelo) != 0, "HELO"},
		{proto&(postfixwire.NoMail|postfixwire.NRMail) != 0, "MAIL"},
		{proto&(postfixwire.NoRcpt|postfixwire.NRRcpt) != 0, "RCPT"},
	} {
		if r.skip {
			continue
		}
		if err := t.expect(r.what, 'c'); err != nil {
			return err
		}
	}
	t.buf = postfixwire.Data(t.buf[:0], proto, qid)
	if err := t.send(conn, t.buf); err != nil {
		return err
	}
	if proto&(postfixwire.NoData|postfixwire.NRData) == 0 {
		if err := t.expect("DATA", 'c'); err != nil {
			return err
		}
	}
	t.buf = postfixwire.HeaderGroup(t.buf[:0], proto, qid)
	if err := t.send(conn, t.buf); err != nil {
		return err
	}
	// header replies (unless NR_HDR), then end of headers
	if proto&(postfixwire.NoHdrs|postfixwire.NRHdr) == 0 {
		for i := 0; i < postfixwire.Headers; i++ {
			if err := t.expect("header", 'c'); err != nil {
				return err
			}
		}
	}
	if proto&(postfixwire.NoEOH|postfixwire.NREOH) == 0 {
		cmd, _, err := t.read()
		if err != nil {
			return fmt.Errorf("end of headers: %w", err)
		}
		switch cmd {
		case 'a':
		case 'c':
			if err := t.bodyAndEOM(conn, proto); err != nil {
				return err
			}
		default:
			return fmt.Errorf("end of headers: reply %q, want accept or continue", cmd)
		}
	}
	return t.send(conn, t.quit)
}

func (t *transaction) bodyAndEOM(conn net.Conn, proto uint32) error {
	if err := t.send(conn, t.body); err != nil {
		return err
	}
	if proto&(postfixwire.NoBody|postfixwire.NRBody) == 0 {
		cmd, _, err := t.read()
		if err != nil {
			return fmt.Errorf("body: %w", err)
		}
		if cmd == 'a' {
			return nil
		}
	}
	for {
		cmd, _, err := t.read()
		if err != nil {
			return fmt.Errorf("end of message: %w", err)
		}
		switch cmd {
		case 'a', 'c':
			return nil
		case 'p', 'h', 'm', 'i', '+', '-', '2', 'b', 'e', 'q':
			continue // progress or a modification
		default:
			return fmt.Errorf("end of message: reply %q", cmd)
		}
	}
}

func (t *transaction) expect(what string, want byte) error {
	cmd, _, err := t.read()
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	if cmd != want {
		return fmt.Errorf("%s: reply %q, want %q", what, cmd, want)
	}
	return nil
}

// read returns one reply packet; data is valid until the next read.
func (t *transaction) read() (byte, []byte, error) {
	var hdr [4]byte
	if _, err := io.ReadFull(t.br, hdr[:]); err != nil {
		return 0, nil, err
	}
	n := binary.BigEndian.Uint32(hdr[:])
	if n == 0 || n > 1<<20 {
		return 0, nil, fmt.Errorf("reply length %d", n)
	}
	if cap(t.buf) < int(n) {
		t.buf = make([]byte, n)
	}
	p := t.buf[:n]
	if _, err := io.ReadFull(t.br, p); err != nil {
		return 0, nil, err
	}
	return p[0], p[1:], nil
}
