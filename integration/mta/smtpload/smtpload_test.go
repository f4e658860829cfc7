package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"net/textproto"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"
)

// fakeServer is a minimal SMTP server; decide returns the reply to the end of DATA for the
// message with the given X-Load-ID, or "" to drop the connection instead of answering.
type fakeServer struct {
	ln     net.Listener
	mailRe string // reply to MAIL, e.g. "451 4.7.1 try later"; "" = 250
	decide func(id string) string
	mu     sync.Mutex
	stored []string // IDs the server answered 2xx for
}

func startFake(t *testing.T, mailReply string, decide func(string) string) *fakeServer {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &fakeServer{ln: ln, mailRe: mailReply, decide: decide}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go s.serve(c)
		}
	}()
	t.Cleanup(func() { ln.Close() })
	return s
}

func (s *fakeServer) serve(nc net.Conn) {
	defer nc.Close()
	c := textproto.NewConn(nc)
	c.PrintfLine("220 fake ESMTP")
	for {
		line, err := c.ReadLine()
		if err != nil {
			return
		}
		verb := strings.ToUpper(firstWord(line))
		switch verb {
		case "EHLO":
			c.PrintfLine("250-fake\r\n250 8BITMIME")
		case "MAIL":
			if s.mailRe != "" {
				c.PrintfLine("%s", s.mailRe)
			} else {
				c.PrintfLine("250 2.1.0 ok")
			}
		case "RCPT", "RSET":
			c.PrintfLine("250 2.0.0 ok")
		case "DATA":
			c.PrintfLine("354 go on")
			body, err := io.ReadAll(c.DotReader())
			if err != nil {
				return
			}
			id, _ := loadID(bytes.NewReader(body))
			reply := s.decide(id)
			if reply == "" {
				return // drop mid-transaction
			}
			if reply[0] == '2' {
				s.mu.Lock()
				s.stored = append(s.stored, id)
				s.mu.Unlock()
			}
			c.PrintfLine("%s", reply)
		case "QUIT":
			c.PrintfLine("221 bye")
			return
		default:
			c.PrintfLine("500 what")
		}
	}
}

func idNumber(id string) int {
	var run string
	var n int
	fmt.Sscanf(strings.Replace(id, ".", " ", 1), "%s %d", &run, &n)
	return n
}

func TestSend(t *testing.T) {
	tests := []struct {
		name     string
		mail     string
		decide   func(string) string
		perConn  int
		want     Counts
		accepted int
	}{
		{"all accepted", "", func(string) string { return "250 2.0.0 queued" }, 1,
			Counts{Sent: 20, Accepted: 20}, 20},
		{"all accepted, 5 per connection", "", func(string) string { return "250 2.0.0 queued" }, 5,
			Counts{Sent: 20, Accepted: 20}, 20},
		{"tempfail at MAIL", "451 4.7.1 Service unavailable - try again later", nil, 3,
			Counts{Sent: 20, Tempfail: 20}, 0},
		{"odd tempfail at end of data", "", func(id string) string {
			if idNumber(id)%2 == 1 {
				return "451 4.7.1 try later"
			}
			return "250 2.0.0 queued"
		}, 4, Counts{Sent: 20, Accepted: 10, Tempfail: 10}, 10},
		{"reject multiples of 5", "", func(id string) string {
			if idNumber(id)%5 == 0 {
				return "550 5.7.1 rejected by test"
			}
			return "250 ok"
		}, 1, Counts{Sent: 20, Accepted: 16, Reject: 4}, 16},
		{"dropped connection is an error", "", func(id string) string {
			if idNumber(id) == 7 {
				return ""
			}
			return "250 ok"
		}, 2, Counts{Sent: 20, Accepted: 19, Error: 1}, 19},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			srv := startFake(t, tc.mail, tc.decide)
			o := SendOptions{Addr: srv.ln.Addr().String(), N: 20, Sessions: 3, PerConn: tc.perConn,
				Size: 300, Run: "t", From: "a@example.org", To: "b@vm.example.net", Timeout: 5 * time.Second}
			var mu sync.Mutex
			var got []string
			var errs bytes.Buffer
			cnt := Send(o, func(id string) { mu.Lock(); got = append(got, id); mu.Unlock() }, &errs)
			if cnt != tc.want {
				t.Errorf("counts = %v, want %v (errors: %s)", cnt, tc.want, errs.String())
			}
			if len(got) != tc.accepted {
				t.Errorf("accepted IDs = %d, want %d", len(got), tc.accepted)
			}
			srv.mu.Lock()
			stored := slices.Clone(srv.stored)
			srv.mu.Unlock()
			sort.Strings(got)
			sort.Strings(stored)
			if !slices.Equal(got, stored) {
				t.Errorf("accepted %v, server stored %v", got, stored)
			}
			if tc.want.Error > 0 && !strings.Contains(errs.String(), "t.000007") {
				t.Errorf("error log does not name the failed message: %q", errs.String())
			}
		})
	}
}

func TestSendDialError(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // nothing listens any more
	o := SendOptions{Addr: addr, N: 3, Sessions: 2, PerConn: 1, Run: "d", From: "a@x", To: "b@y", Timeout: time.Second}
	cnt := Send(o, func(string) {}, io.Discard)
	if want := (Counts{Sent: 3, Error: 3}); cnt != want {
		t.Errorf("counts = %v, want %v", cnt, want)
	}
}

func TestClassify(t *testing.T) {
	tests := []struct {
		err  error
		want Outcome
	}{
		{nil, Accepted},
		{&textproto.Error{Code: 451, Msg: "4.7.1 later"}, Tempfail},
		{fmt.Errorf("smtpload: MAIL: %w", &textproto.Error{Code: 421, Msg: "bye"}), Tempfail},
		{&textproto.Error{Code: 550, Msg: "5.7.1 no"}, Reject},
		{&textproto.Error{Code: 354, Msg: "odd"}, Error},
		{errors.New("connection reset"), Error},
	}
	for _, tc := range tests {
		if got := classify(tc.err); got != tc.want {
			t.Errorf("classify(%v) = %v, want %v", tc.err, got, tc.want)
		}
	}
}

func TestBuildMessage(t *testing.T) {
	o := SendOptions{Run: "r1", From: "a@example.org", To: "b@vm.example.net", Size: 100}
	m := buildMessage(o, 42, time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC))
	want := "From: <a@example.org>\r\nTo: <b@vm.example.net>\r\nSubject: smtpload r1.000042\r\n" +
		"Date: Mon, 23 Nov 2026 12:00:00 +0000\r\nMessage-ID: <r1.000042@smtpload.test>\r\nX-Load-ID: r1.000042\r\n" +
		"MIME-Version: 1.0\r\nContent-Type: text/plain; charset=us-ascii\r\n\r\n" +
		strings.Repeat("smtpload test body line 0123456789 abcdefghijklmnopqrstuvwxyz\r\n", 2)
	if m != want {
		t.Errorf("message =\n%q\nwant\n%q", m, want)
	}
}

func writeSink(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func sinkFile(id string) string {
	return "X-Client-Addr: 127.0.0.1\r\nX-Rcpt-Args: <b@vm.example.net>\r\nReceived: from x\r\n\tby y\r\n" +
		"Subject: s\r\nX-Load-ID: " + id + "\r\n\r\nX-Load-ID: body-not-header\r\n"
}

func TestVerify(t *testing.T) {
	tests := []struct {
		name     string
		accepted []string
		files    map[string]string
		want     string
		ok       bool
	}{
		{"exactly once", []string{"r.1", "r.2"},
			map[string]string{"a": sinkFile("r.1"), "b": sinkFile("r.2")},
			"accepted=2 delivered=2 once=2 duplicated=0 missing=0 unexpected=0 foreign=0", true},
		{"duplicate", []string{"r.1", "r.2"},
			map[string]string{"a": sinkFile("r.1"), "b": sinkFile("r.2"), "c": sinkFile("r.2")},
			"accepted=2 delivered=3 once=1 duplicated=1 missing=0 unexpected=0 foreign=0", false},
		{"missing", []string{"r.1", "r.2"},
			map[string]string{"a": sinkFile("r.1")},
			"accepted=2 delivered=1 once=1 duplicated=0 missing=1 unexpected=0 foreign=0", false},
		{"delivered but tempfailed", []string{"r.1"},
			map[string]string{"a": sinkFile("r.1"), "b": sinkFile("r.3")},
			"accepted=1 delivered=2 once=1 duplicated=0 missing=0 unexpected=1 foreign=0", false},
		{"foreign file and header only in body", []string{"r.1"},
			map[string]string{"a": sinkFile("r.1"), "b": "Subject: x\r\n\r\nX-Load-ID: r.9\r\n"},
			"accepted=1 delivered=1 once=1 duplicated=0 missing=0 unexpected=0 foreign=1", true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tally, err := Verify(tc.accepted, writeSink(t, tc.files))
			if err != nil {
				t.Fatal(err)
			}
			if got := tally.String(); got != tc.want {
				t.Errorf("tally = %s\nwant    %s", got, tc.want)
			}
			if tally.OK() != tc.ok {
				t.Errorf("OK() = %v, want %v", tally.OK(), tc.ok)
			}
		})
	}
}

func TestRunVerifyExitStatus(t *testing.T) {
	dir := writeSink(t, map[string]string{"a": sinkFile("r.1")})
	ids := filepath.Join(t.TempDir(), "ids")
	tests := []struct {
		ids  string
		want int
		out  string
	}{
		{"r.1\n", 0, "accepted=1 delivered=1 once=1 duplicated=0 missing=0 unexpected=0 foreign=0\n"},
		{"r.1\nr.2\n\n", 1, "accepted=2 delivered=1 once=1 duplicated=0 missing=1 unexpected=0 foreign=0\n"},
	}
	for _, tc := range tests {
		if err := os.WriteFile(ids, []byte(tc.ids), 0o644); err != nil {
			t.Fatal(err)
		}
		var out, errOut bytes.Buffer
		if got := run([]string{"verify", "-ids", ids, "-sink", dir}, &out, &errOut); got != tc.want {
			t.Errorf("exit = %d, want %d (stderr %q)", got, tc.want, errOut.String())
		}
		if out.String() != tc.out {
			t.Errorf("stdout = %q, want %q", out.String(), tc.out)
		}
	}
	if got := run(nil, io.Discard, io.Discard); got != 2 {
		t.Errorf("no command: exit = %d, want 2", got)
	}
}

func ExampleCounts() {
	fmt.Println(Counts{Sent: 2000, Accepted: 1200, Tempfail: 800})
	// Output: sent=2000 accepted=1200 tempfail=800 reject=0 error=0
}
