package main

import (
	"bufio"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/textproto"
	"os"
	"strings"
	"sync"
	"time"
)

// Outcome is the SMTP fate of one message.
type Outcome int

// The outcomes smtpload counts. A message is Accepted only when the server answered 2xx to
// the end of DATA; a 4xx or 5xx at any step (banner, EHLO, MAIL, RCPT, DATA, end of data)
// makes it Tempfail or Reject; anything without a definite SMTP answer is Error.
const (
	Accepted Outcome = iota
	Tempfail
	Reject
	Error
)

// String names the outcome as it appears in the summary line.
func (o Outcome) String() string {
	switch o {
	case Accepted:
		return "accepted"
	case Tempfail:
		return "tempfail"
	case Reject:
		return "reject"
	default:
		return "error"
	}
}

// classify maps the error of an SMTP step to an outcome: nil is Accepted, a
// *textproto.Error by its reply class (RFC 5321 4.2.1), everything else is Error.
func classify(err error) Outcome {
	if err == nil {
		return Accepted
	}
	var te *textproto.Error
	if errors.As(err, &te) {
		switch te.Code / 100 {
		case 4:
			return Tempfail
		case 5:
			return Reject
		}
	}
	return Error
}

// SendOptions configures one load run.
type SendOptions struct {
	Addr     string        // SMTP server host:port
	N        int           // messages in total
	Sessions int           // parallel SMTP sessions
	PerConn  int           // messages per connection before QUIT and reconnect
	Size     int           // approximate body size in bytes
	Run      string        // run identifier, part of every message ID
	From     string        // envelope sender
	To       string        // envelope recipient
	Timeout  time.Duration // per SMTP step
}

// Counts sums the outcomes of a run.
type Counts struct {
	Sent, Accepted, Tempfail, Reject, Error int
}

// String is the one-line summary crash.sh parses.
func (c Counts) String() string {
	return fmt.Sprintf("sent=%d accepted=%d tempfail=%d reject=%d error=%d",
		c.Sent, c.Accepted, c.Tempfail, c.Reject, c.Error)
}

func (c *Counts) add(o Outcome) {
	c.Sent++
	switch o {
	case Accepted:
		c.Accepted++
	case Tempfail:
		c.Tempfail++
	case Reject:
		c.Reject++
	default:
		c.Error++
	}
}

// messageID is the unique ID of message i of a run; it is the X-Load-ID header value and
// the local part of the Message-ID.
func messageID(run string, i int) string { return fmt.Sprintf("%s.%06d", run, i) }

// buildMessage returns message i with CRLF line ends and a body of about size bytes.
func buildMessage(o SendOptions, i int, now time.Time) string {
	id := messageID(o.Run, i)
	var b strings.Builder
	fmt.Fprintf(&b, "From: <%s>\r\nTo: <%s>\r\nSubject: smtpload %s\r\n", o.From, o.To, id)
	fmt.Fprintf(&b, "Date: %s\r\nMessage-ID: <%s@smtpload.test>\r\nX-Load-ID: %s\r\n", now.Format(time.RFC1123Z), id, id)
	b.WriteString("MIME-Version: 1.0\r\nContent-Type: text/plain; charset=us-ascii\r\n\r\n")
	line := "smtpload test body line 0123456789 abcdefghijklmnopqrstuvwxyz\r\n"
	for n := 0; n < o.Size; n += len(line) {
		b.WriteString(line)
	}
	return b.String()
}

// result is the outcome of message i; err explains Error outcomes.
type result struct {
	i   int
	out Outcome
	err error
}

// session sends the messages whose numbers arrive on work, reconnecting every PerConn
// messages and after any connection-level failure.
func session(o SendOptions, work <-chan int, results chan<- result) {
	var c *textproto.Conn
	var nc net.Conn
	sent := 0
	closeConn := func(quit bool) {
		if c == nil {
			return
		}
		if quit {
			nc.SetDeadline(time.Now().Add(o.Timeout))
			if id, err := c.Cmd("QUIT"); err == nil {
				c.StartResponse(id)
				c.ReadResponse(221)
				c.EndResponse(id)
			}
		}
		c.Close()
		c, nc, sent = nil, nil, 0
	}
	defer closeConn(true)
	for i := range work {
		if c == nil {
			var err error
			nc, c, err = dial(o)
			if err != nil {
				results <- result{i, classify(err), err}
				continue
			}
		}
		err := sendOne(o, nc, c, i)
		out := classify(err)
		results <- result{i, out, err}
		sent++
		switch {
		case out == Error:
			closeConn(false) // connection state unknown
		case sent >= o.PerConn:
			closeConn(true)
		case out != Accepted:
			// RFC 5321 4.1.1.5: reset the transaction before the next one
			if err := step(nc, c, o.Timeout, "RSET", 250); err != nil {
				closeConn(false)
			}
		}
	}
}

// dial connects and greets; the error is a *textproto.Error when the server answered.
func dial(o SendOptions) (net.Conn, *textproto.Conn, error) {
	nc, err := net.DialTimeout("tcp", o.Addr, o.Timeout)
	if err != nil {
		return nil, nil, fmt.Errorf("smtpload: dial %s: %w", o.Addr, err)
	}
	c := textproto.NewConn(nc)
	nc.SetDeadline(time.Now().Add(o.Timeout))
	if _, _, err := c.ReadResponse(220); err != nil {
		c.Close()
		return nil, nil, fmt.Errorf("smtpload: banner: %w", err)
	}
	if err := step(nc, c, o.Timeout, "EHLO smtpload.test", 250); err != nil {
		c.Close()
		return nil, nil, err
	}
	return nc, c, nil
}

// step sends one command and expects a reply of class code/100.
func step(nc net.Conn, c *textproto.Conn, timeout time.Duration, cmd string, code int) error {
	nc.SetDeadline(time.Now().Add(timeout))
	id, err := c.Cmd("%s", cmd)
	if err != nil {
		return fmt.Errorf("smtpload: %s: %w", cmd, err)
	}
	c.StartResponse(id)
	defer c.EndResponse(id)
	if _, _, err := c.ReadResponse(code / 100); err != nil {
		return fmt.Errorf("smtpload: %s: %w", firstWord(cmd), err)
	}
	return nil
}

func firstWord(s string) string {
	if i := strings.IndexByte(s, ' '); i > 0 {
		return s[:i]
	}
	return s
}

// sendOne runs one mail transaction (RFC 5321 3.3) for message i.
func sendOne(o SendOptions, nc net.Conn, c *textproto.Conn, i int) error {
	if err := step(nc, c, o.Timeout, "MAIL FROM:<"+o.From+">", 250); err != nil {
		return err
	}
	if err := step(nc, c, o.Timeout, "RCPT TO:<"+o.To+">", 250); err != nil {
		return err
	}
	if err := step(nc, c, o.Timeout, "DATA", 354); err != nil {
		return err
	}
	nc.SetDeadline(time.Now().Add(o.Timeout))
	w := c.DotWriter()
	if _, err := io.WriteString(w, buildMessage(o, i, time.Now())); err != nil {
		return fmt.Errorf("smtpload: data: %w", err)
	}
	if err := w.Close(); err != nil {
		return fmt.Errorf("smtpload: data: %w", err)
	}
	if _, _, err := c.ReadResponse(2); err != nil {
		return fmt.Errorf("smtpload: end of data: %w", err)
	}
	return nil
}

// Send runs the load and calls accepted with the ID of every accepted message as soon as
// its reply arrives. errLog receives one line per Error outcome.
func Send(o SendOptions, accepted func(id string), errLog io.Writer) Counts {
	work := make(chan int)
	results := make(chan result)
	var wg sync.WaitGroup
	for s := 0; s < o.Sessions; s++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			session(o, work, results)
		}()
	}
	go func() {
		for i := 1; i <= o.N; i++ {
			work <- i
		}
		close(work)
	}()
	go func() {
		wg.Wait()
		close(results)
	}()
	var cnt Counts
	for r := range results {
		cnt.add(r.out)
		switch r.out {
		case Accepted:
			accepted(messageID(o.Run, r.i))
		case Error:
			fmt.Fprintf(errLog, "smtpload: message %s: %v\n", messageID(o.Run, r.i), r.err)
		}
	}
	return cnt
}

func runSend(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("send", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var o SendOptions
	fs.StringVar(&o.Addr, "addr", "127.0.0.1:2525", "SMTP server `host:port`")
	fs.IntVar(&o.N, "n", 100, "number of messages")
	fs.IntVar(&o.Sessions, "s", 10, "parallel sessions")
	fs.IntVar(&o.PerConn, "per-conn", 1, "messages per connection")
	fs.IntVar(&o.Size, "size", 1024, "approximate body size in bytes")
	fs.StringVar(&o.Run, "run", fmt.Sprintf("run%d", os.Getpid()), "run identifier (part of every message ID)")
	fs.StringVar(&o.From, "from", "load@example.org", "envelope sender")
	fs.StringVar(&o.To, "to", "user@vm.example.net", "envelope recipient")
	fs.DurationVar(&o.Timeout, "timeout", 120*time.Second, "timeout per SMTP step")
	ids := fs.String("ids", "", "write accepted message IDs to this `file`")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if o.N < 1 || o.Sessions < 1 || o.PerConn < 1 || o.Size < 0 {
		fmt.Fprintln(stderr, "smtpload: -n, -s and -per-conn must be >= 1, -size >= 0")
		return 2
	}
	accepted := func(string) {}
	if *ids != "" {
		f, err := os.Create(*ids)
		if err != nil {
			fmt.Fprintf(stderr, "smtpload: %v\n", err)
			return 2
		}
		defer f.Close()
		bw := bufio.NewWriter(f)
		defer bw.Flush()
		// flushed per line so that a watcher (crash.sh) sees progress
		accepted = func(id string) {
			fmt.Fprintln(bw, id)
			bw.Flush()
		}
	}
	cnt := Send(o, accepted, stderr)
	fmt.Fprintln(stdout, cnt)
	if cnt.Error > 0 {
		return 1
	}
	return 0
}
