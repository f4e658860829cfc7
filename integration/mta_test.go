//go:build integration

package integration

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/vpim-milter/vpim-milter/milter"
	"github.com/vpim-milter/vpim-milter/milter/testengine"
)

func testMessage(id, action string) string {
	return fmt.Sprintf("From: Sender <sender@example.org>\nTo: b@example.net\nSubject: original %s\nMessage-ID: <%s@example.org>\nX-Test-Delete: remove me\nX-Test-Action: %s\n\nbody of %s\n", id, id, action, id)
}

// TestModifications proves, through mail the MTA really delivered, every
// modification the milter applies, on Postfix and on Sendmail.
func TestModifications(t *testing.T) {
	for _, k := range kinds {
		t.Run(k.name, func(t *testing.T) {
			port, _ := inProcessFilter(t, testengine.Engine{}, milter.Options{})
			m := startMTA(t, k, port)
			cases := []struct {
				action string
				rcpts  []string
				check  func(t *testing.T, d delivered)
			}{
				{"add-header", nil, func(t *testing.T, d delivered) {
					if got := d.header.Get("X-Test-Added"); got != "yes" {
						t.Errorf("X-Test-Added = %q, want yes", got)
					}
				}},
				{"change-header", nil, func(t *testing.T, d delivered) {
					if got := d.header.Values("Subject"); len(got) != 1 || got[0] != "changed" {
						t.Errorf("Subject = %q, want [changed]", got)
					}
				}},
				{"delete-header", nil, func(t *testing.T, d delivered) {
					if got := d.header.Values("X-Test-Delete"); len(got) != 0 {
						t.Errorf("X-Test-Delete still there: %q", got)
					}
				}},
				{"replace-body", nil, func(t *testing.T, d delivered) {
					if d.body != "replaced body\n" {
						t.Errorf("body = %q, want %q", d.body, "replaced body\n")
					}
				}},
				{"big-body=2500000", nil, func(t *testing.T, d delivered) {
					if len(d.body) < 2400000 {
						t.Fatalf("body is %d bytes, want the 2.5 MB replacement", len(d.body))
					}
					want := strings.ReplaceAll(testengine.BigBodyLine(0)+testengine.BigBodyLine(1), "\r\n", "\n")
					if !strings.HasPrefix(d.body, want) {
						t.Errorf("body starts %q, want %q", d.body[:80], want)
					}
					last := strings.ReplaceAll(testengine.BigBodyLine(2500000/64-1), "\r\n", "\n")
					if !strings.Contains(d.body, last) {
						t.Errorf("body lacks its last full line %q", last)
					}
				}},
				{"del-rcpt=c@example.net", []string{"b@example.net", "c@example.net"}, func(t *testing.T, d delivered) {
					if strings.Join(d.rcpts, ",") != "b@example.net" {
						t.Errorf("delivered to %v, want only b@example.net", d.rcpts)
					}
				}},
			}
			for i, c := range cases {
				t.Run(c.action, func(t *testing.T) {
					before := len(readSink(t, m.vars["SINK_DIR"]))
					rcpts := c.rcpts
					if rcpts == nil {
						rcpts = []string{"b@example.net"}
					}
					id := fmt.Sprintf("mod%d", i)
					if code, text := m.send(t, "sender@example.org", rcpts, testMessage(id, c.action)); code != 250 {
						t.Fatalf("send: %d %s", code, text)
					}
					msgs := m.waitDelivered(t, before+1, 30*time.Second)
					for _, d := range msgs {
						if strings.Contains(d.raw, "<"+id+"@example.org>") {
							c.check(t, d)
							return
						}
					}
					t.Fatalf("message %s not found among %d delivered", id, len(msgs))
				})
			}
			t.Run("reject", func(t *testing.T) {
				code, text := m.send(t, "sender@example.org", []string{"b@example.net"}, testMessage("rej", "reject"))
				if code != 550 || text != "5.7.1 rejected by test" {
					t.Errorf("reply %d %q, want 550 \"5.7.1 rejected by test\"", code, text)
				}
			})
			t.Run("tempfail", func(t *testing.T) {
				code, text := m.send(t, "sender@example.org", []string{"b@example.net"}, testMessage("tmp", "tempfail"))
				if code != 451 || text != "4.7.1 tempfail by test" {
					t.Errorf("reply %d %q, want 451 \"4.7.1 tempfail by test\"", code, text)
				}
			})
		})
	}
}

// TestMilterDown: with the milter down the MTA tempfails, and the same
// message is delivered once the milter is back: nothing is lost.
func TestMilterDown(t *testing.T) {
	for _, k := range kinds {
		t.Run(k.name, func(t *testing.T) {
			port := freePort(t)
			m := startMTA(t, k, port)
			msg := testMessage("down", "add-header")
			code, text := m.send(t, "sender@example.org", []string{"b@example.net"}, msg)
			if code/100 != 4 {
				t.Fatalf("with the milter down: %d %s, want a 4xx", code, text)
			}
			t.Logf("milter down: %d %s", code, text)
			_, _ = inProcessFilterOn(t, port)
			var delivered bool
			for i := 0; i < 20 && !delivered; i++ { // the client retries, as a real one would
				code, text = m.send(t, "sender@example.org", []string{"b@example.net"}, msg)
				delivered = code == 250
				if !delivered {
					time.Sleep(500 * time.Millisecond)
				}
			}
			if !delivered {
				t.Fatalf("after the milter came back: %d %s", code, text)
			}
			d := m.waitDelivered(t, 1, 30*time.Second)[0]
			if d.header.Get("X-Test-Added") != "yes" || !strings.Contains(d.raw, "<down@example.org>") {
				t.Errorf("delivered message is not the filtered one:\n%s", d.raw)
			}
		})
	}
}

func inProcessFilterOn(t *testing.T, port int) (int, func()) {
	t.Helper()
	addr, _ := milter.ParseAddress(fmt.Sprintf("inet:%d@127.0.0.1", port))
	return inProcessFilterAt(t, testengine.Engine{}, addr)
}
