//go:build integration

package harness

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"net/smtp"
	"net/textproto"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// Submit submits msg (lines ending in \n; sent with CRLF) from from to rcpts over SMTP at
// addr (host:port) and returns the reply code and text that ended the transaction: the
// reply to DATA, or to the first command refused (250 "ok" when it was accepted).
func Submit(t testing.TB, addr, from string, rcpts []string, msg string) (int, string) {
	t.Helper()
	return SubmitWith(t, addr, SubmitOptions{}, from, rcpts, msg)
}

// SubmitOptions are how SubmitWith connects: from which loopback address, and with which
// SMTP AUTH credentials.
type SubmitOptions struct {
	// LocalAddr is the client's own address, e.g. "127.0.0.2" (any of 127.0.0.0/8 works on
	// Linux); "" lets the kernel choose (127.0.0.1).
	LocalAddr string
	// Auth, if not nil, authenticates after EHLO (smtp.PlainAuth works on loopback
	// without TLS).
	Auth smtp.Auth
}

// SubmitWith is Submit with o's client address and SMTP AUTH. A refused AUTH ends the
// transaction with its reply, like a refused command.
func SubmitWith(t testing.TB, addr string, o SubmitOptions, from string, rcpts []string, msg string) (int, string) {
	t.Helper()
	d := net.Dialer{Timeout: 30 * time.Second}
	if o.LocalAddr != "" {
		d.LocalAddr = &net.TCPAddr{IP: net.ParseIP(o.LocalAddr)}
	}
	conn, err := d.Dial("tcp", addr)
	if err != nil {
		t.Fatalf("dial %s: %v", addr, err)
	}
	host, _, _ := net.SplitHostPort(addr)
	c, err := smtp.NewClient(conn, host)
	if err != nil {
		conn.Close()
		t.Fatalf("smtp %s: %v", addr, err)
	}
	defer c.Close()
	reply := func(err error) (int, string) {
		t.Helper()
		var te *textproto.Error
		if errors.As(err, &te) {
			return te.Code, te.Msg
		}
		t.Fatalf("smtp %s: %v", addr, err)
		return 0, ""
	}
	if err := c.Hello("client.example.org"); err != nil {
		return reply(err)
	}
	if o.Auth != nil {
		if err := c.Auth(o.Auth); err != nil {
			return reply(err)
		}
	}
	if err := c.Mail(from); err != nil {
		return reply(err)
	}
	for _, r := range rcpts {
		if err := c.Rcpt(r); err != nil {
			return reply(err)
		}
	}
	w, err := c.Data()
	if err != nil {
		return reply(err)
	}
	if _, err := io.WriteString(w, strings.ReplaceAll(msg, "\n", "\r\n")); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		return reply(err)
	}
	_ = c.Quit()
	return 250, "ok"
}

// MessageID is the Message-ID header value of the message Send sends with id.
func MessageID(id string) string { return "<" + id + "@harness.test>" }

// Send submits a small message with Message-ID MessageID(id) from sender@example.org to
// rcpt at 127.0.0.1:port; see Submit.
func Send(t testing.TB, port, id, rcpt string) (int, string) {
	t.Helper()
	msg := fmt.Sprintf("From: sender@example.org\nTo: %s\nSubject: harness %s\nMessage-ID: %s\n\nbody %s\n", rcpt, id, MessageID(id), id)
	return Submit(t, "127.0.0.1:"+port, "sender@example.org", []string{rcpt}, msg)
}

// Delivered is one message an instance's smtp-sink received.
type Delivered struct {
	File   string               // the sink's file
	Rcpts  []string             // envelope recipients (the sink's X-Rcpt-Args lines)
	Header textproto.MIMEHeader // the sink's X-* trace lines, then the message header
	Raw    string               // the whole file, LF line ends
	Body   string               // the message body
}

// Message is the message as the sink received it: Raw without smtp-sink's own lines (its
// X-* records and the three-line Received field that ends them, smtp-sink(1) DUMP FILE
// FORMAT) and without the empty line the sink appends.
func (d Delivered) Message() string {
	raw := strings.TrimSuffix(d.Raw, "\n")
	seen := false // inside the sink's Received field
	for i := 0; i < len(raw); {
		end := strings.IndexByte(raw[i:], '\n')
		if end < 0 {
			return ""
		}
		line := raw[i : i+end]
		switch {
		case seen && line != "" && line[0] != ' ' && line[0] != '\t':
			return raw[i:] // the message's first field, which may be a Received of its own
		case strings.HasPrefix(line, "Received:"):
			seen = true
		}
		i += end + 1
	}
	return ""
}

// ReadSink parses the smtp-sink dump files in dir: the sink's own X-* trace lines
// (X-Rcpt-Args carries each recipient), then the message. A file whose header is not
// complete yet (still being written) is left out.
func ReadSink(t testing.TB, dir string) []Delivered {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		t.Fatal(err)
	}
	var out []Delivered
	for _, e := range ents {
		p := filepath.Join(dir, e.Name())
		b, err := os.ReadFile(p)
		if err != nil || !bytes.Contains(b, []byte("\n\n")) && !bytes.Contains(b, []byte("\r\n\r\n")) {
			continue // still being written
		}
		raw := strings.ReplaceAll(string(b), "\r\n", "\n")
		d := Delivered{File: p, Raw: raw}
		hdr, body, _ := strings.Cut(raw, "\n\n")
		// smtp-sink ends each dump with one newline of its own.
		d.Body = strings.TrimSuffix(body, "\n")
		tp := textproto.NewReader(bufio.NewReader(strings.NewReader(hdr + "\n\n")))
		d.Header, _ = tp.ReadMIMEHeader()
		for _, v := range d.Header.Values("X-Rcpt-Args") {
			if f := strings.Fields(v); len(f) > 0 {
				d.Rcpts = append(d.Rcpts, strings.Trim(f[0], "<>"))
			}
		}
		out = append(out, d)
	}
	return out
}

// SinkIDs returns the Message-IDs of the messages in the sink directory dir.
func SinkIDs(t testing.TB, dir string) []string {
	t.Helper()
	var ids []string
	for _, d := range ReadSink(t, dir) {
		ids = append(ids, d.Header.Values("Message-Id")...)
	}
	return ids
}
