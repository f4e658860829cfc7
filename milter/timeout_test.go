package milter_test

import (
	"io"
	"strings"
	"testing"
	"time"

	"github.com/vpim-milter/vpim-milter/milter"
)

// TestReadTimeout: inside a transaction an MTA that goes silent is cut
// off after ReadTimeout (IdleTimeout is far longer), and so is one that
// trickles a packet in a byte at a time: the timeout holds for the whole
// packet, not for each byte.
func TestReadTimeout(t *testing.T) {
	_, addr, _ := serveLogged(t, milter.Options{ReadTimeout: 400 * time.Millisecond, IdleTimeout: 30 * time.Second})
	for _, trickle := range []bool{false, true} {
		m := dialRaw(t, addr)
		if code := m.cmd(packet('M', cstr("<a@example.org>"))); code != 'c' {
			t.Fatalf("MAIL: %c", code)
		}
		start := time.Now()
		if trickle {
			rcpt := packet('R', cstr("<b@example.net>"))
			go func() {
				for i := range rcpt {
					if _, err := m.c.Write(rcpt[i : i+1]); err != nil {
						return // closed: the timeout worked
					}
					time.Sleep(150 * time.Millisecond)
				}
			}()
		}
		if _, _, err := m.read(10 * time.Second); err != io.EOF {
			t.Fatalf("trickle=%v: %v, want EOF", trickle, err)
		}
		if d := time.Since(start); d < 350*time.Millisecond || d > 2*time.Second {
			t.Errorf("trickle=%v: closed after %v, want about 400ms", trickle, d)
		}
	}
}

// TestWriteTimeout: when the MTA stops reading while the filter replaces a
// large body, the write gives up after WriteTimeout and the message is
// tempfailed (the connection is lost for the MTA either way).
func TestWriteTimeout(t *testing.T) {
	_, addr, logs := serveLogged(t, milter.Options{WriteTimeout: 300 * time.Millisecond})
	m := dialRaw(t, addr)
	m.cmd(packet('M', cstr("<a@example.org>")))
	m.cmd(packet('R', cstr("<b@example.net>")))
	m.cmd(packet('L', cstr("X-Test-Action"), cstr("big-body=67108864")))
	if code := m.cmd(packet('N')); code != 'c' {
		t.Fatalf("end of headers: %c", code)
	}
	m.cmd(packet('B', []byte("body\r\n")))
	start := time.Now()
	if _, err := m.c.Write(packet('E')); err != nil {
		t.Fatal(err)
	}
	// not reading: the socket buffers fill up and the filter's write waits
	for !strings.Contains(logs.String(), "i/o timeout") {
		if time.Since(start) > 10*time.Second {
			t.Fatalf("no write timeout after 10 s:\n%s", logs)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("the write gave up after %v, want about 300ms after the buffers filled", d)
	}
	if !strings.Contains(logs.String(), "verdict=tempfail") {
		t.Errorf("the message was not tempfailed:\n%s", logs)
	}
}
