//go:build integration

package integration

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/vpim-milter/vpim-milter/integration/harness"
	"github.com/vpim-milter/vpim-milter/internal/testport"
	"github.com/vpim-milter/vpim-milter/milter"
	"github.com/vpim-milter/vpim-milter/milter/testengine"
)

func testMessage(id, action string) string {
	return fmt.Sprintf("From: Sender <sender@example.org>\nTo: b@example.net\nSubject: original %s\nMessage-ID: <%s@example.org>\nX-Test-Delete: remove me\nX-Test-Action: %s\n\nbody of %s\n", id, id, action, id)
}

// TestModifications proves, through mail the MTA really delivered, every
// modification the milter applies, on Postfix and on Sendmail.
func TestModifications(t *testing.T) {
	for _, k := range harness.MTAs() {
		t.Run(k.Name, func(t *testing.T) {
			port, _ := inProcessFilter(t, testengine.Engine{}, milter.Options{})
			m := startMTA(t, k, port)
			cases := []struct {
				action string
				rcpts  []string
				check  func(t *testing.T, d harness.Delivered)
			}{
				{"add-header", nil, func(t *testing.T, d harness.Delivered) {
					if got := d.Header.Get("X-Test-Added"); got != "yes" {
						t.Errorf("X-Test-Added = %q, want yes", got)
					}
				}},
				{"change-header", nil, func(t *testing.T, d harness.Delivered) {
					if got := d.Header.Values("Subject"); len(got) != 1 || got[0] != "changed" {
						t.Errorf("Subject = %q, want [changed]", got)
					}
				}},
				{"delete-header", nil, func(t *testing.T, d harness.Delivered) {
					if got := d.Header.Values("X-Test-Delete"); len(got) != 0 {
						t.Errorf("X-Test-Delete still there: %q", got)
					}
				}},
				{"replace-body", nil, func(t *testing.T, d harness.Delivered) {
					if d.Body != "replaced body\n" {
						t.Errorf("body = %q, want %q", d.Body, "replaced body\n")
					}
				}},
				{"big-body=2500000", nil, func(t *testing.T, d harness.Delivered) {
					if len(d.Body) < 2400000 {
						t.Fatalf("body is %d bytes, want the 2.5 MB replacement", len(d.Body))
					}
					want := strings.ReplaceAll(testengine.BigBodyLine(0)+testengine.BigBodyLine(1), "\r\n", "\n")
					if !strings.HasPrefix(d.Body, want) {
						t.Errorf("body starts %q, want %q", d.Body[:80], want)
					}
					last := strings.ReplaceAll(testengine.BigBodyLine(2500000/64-1), "\r\n", "\n")
					if !strings.Contains(d.Body, last) {
						t.Errorf("body lacks its last full line %q", last)
					}
				}},
				{"del-rcpt=c@example.net", []string{"b@example.net", "c@example.net"}, func(t *testing.T, d harness.Delivered) {
					if strings.Join(d.Rcpts, ",") != "b@example.net" {
						t.Errorf("delivered to %v, want only b@example.net", d.Rcpts)
					}
				}},
			}
			for i, c := range cases {
				t.Run(c.action, func(t *testing.T) {
					before := len(m.Delivered(t))
					rcpts := c.rcpts
					if rcpts == nil {
						rcpts = []string{"b@example.net"}
					}
					id := fmt.Sprintf("mod%d", i)
					if code, text := m.Submit(t, "sender@example.org", rcpts, testMessage(id, c.action)); code != 250 {
						t.Fatalf("send: %d %s", code, text)
					}
					msgs := m.WaitDelivered(t, before+1, 30*time.Second)
					for _, d := range msgs {
						if strings.Contains(d.Raw, "<"+id+"@example.org>") {
							c.check(t, d)
							return
						}
					}
					t.Fatalf("message %s not found among %d delivered", id, len(msgs))
				})
			}
			t.Run("reject", func(t *testing.T) {
				code, text := m.Submit(t, "sender@example.org", []string{"b@example.net"}, testMessage("rej", "reject"))
				if code != 550 || text != "5.7.1 rejected by test" {
					t.Errorf("reply %d %q, want 550 \"5.7.1 rejected by test\"", code, text)
				}
			})
			t.Run("tempfail", func(t *testing.T) {
				code, text := m.Submit(t, "sender@example.org", []string{"b@example.net"}, testMessage("tmp", "tempfail"))
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
	for _, k := range harness.MTAs() {
		t.Run(k.Name, func(t *testing.T) {
			down := testport.Reserve(t, 1) // held: the MTA's connection is refused
			port := down.Port(0)
			m := startMTA(t, k, port)
			msg := testMessage("down", "add-header")
			code, text := m.Submit(t, "sender@example.org", []string{"b@example.net"}, msg)
			if code/100 != 4 {
				t.Fatalf("with the milter down: %d %s, want a 4xx", code, text)
			}
			t.Logf("milter down: %d %s", code, text)
			down.Release()
			addr, err := milter.ParseAddress(fmt.Sprintf("inet:%d@127.0.0.1", port))
			if err != nil {
				t.Fatal(err)
			}
			harness.ServeMilter(t, testengine.Engine{}, addr, milter.Options{})
			var delivered bool
			for i := 0; i < 20 && !delivered; i++ { // the client retries, as a real one would
				code, text = m.Submit(t, "sender@example.org", []string{"b@example.net"}, msg)
				delivered = code == 250
				if !delivered {
					time.Sleep(500 * time.Millisecond)
				}
			}
			if !delivered {
				t.Fatalf("after the milter came back: %d %s", code, text)
			}
			d := m.WaitDelivered(t, 1, 30*time.Second)[0]
			if d.Header.Get("X-Test-Added") != "yes" || !strings.Contains(d.Raw, "<down@example.org>") {
				t.Errorf("delivered message is not the filtered one:\n%s", d.Raw)
			}
		})
	}
}
