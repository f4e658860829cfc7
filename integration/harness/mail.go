//go:build integration

package harness

import (
	"errors"
	"fmt"
	"net/smtp"
	"net/textproto"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// MessageID is the Message-ID header value of the message Send sends with id.
func MessageID(id string) string { return "<" + id + "@harness.test>" }

// Send submits one message to 127.0.0.1:port and returns the reply code and text that
// ended the transaction (250 "queued" when it was accepted).
func Send(t testing.TB, port, id, rcpt string) (int, string) {
	t.Helper()
	c, err := smtp.Dial("127.0.0.1:" + port)
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	defer c.Close()
	reply := func(err error) (int, string) {
		var te *textproto.Error
		if errors.As(err, &te) {
			return te.Code, te.Msg
		}
		t.Fatalf("smtp: %v", err)
		return 0, ""
	}
	if err := c.Hello("client.example.org"); err != nil {
		return reply(err)
	}
	if err := c.Mail("sender@example.org"); err != nil {
		return reply(err)
	}
	if err := c.Rcpt(rcpt); err != nil {
		return reply(err)
	}
	w, err := c.Data()
	if err != nil {
		return reply(err)
	}
	fmt.Fprintf(w, "From: sender@example.org\r\nTo: %s\r\nSubject: harness %s\r\nMessage-ID: %s\r\n\r\nbody %s\r\n", rcpt, id, MessageID(id), id)
	if err := w.Close(); err != nil {
		return reply(err)
	}
	c.Quit()
	return 250, "queued"
}

// SinkIDs returns the Message-IDs of the messages in the sink directory dir.
func SinkIDs(t testing.TB, dir string) []string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(dir, "*"))
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, line := range strings.Split(string(b), "\n") {
			if v, ok := strings.CutPrefix(line, "Message-ID: "); ok {
				ids = append(ids, strings.TrimSpace(v))
			}
		}
	}
	return ids
}
