package profile

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"
)

// FuzzEvaluate parses and evaluates arbitrary messages, for an IVM and for
// a desktop recipient, and writes the rewritten body: it must never panic,
// and a rewritten body must parse.
func FuzzEvaluate(f *testing.F) {
	files, _ := filepath.Glob("../testdata/messages/*.eml")
	for _, name := range files {
		if b, err := os.ReadFile(name); err == nil {
			f.Add(b)
		}
	}
	e, err := New(testOptions())
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, msg []byte) {
		if len(msg) > 32<<10 {
			return // keep executions fast; size limits are tested in TestHostile
		}
		for _, rcpt := range []string{"user@example.org", desktopRcpt} {
			in, err := ReadInput(bytes.NewReader(msg))
			if err != nil {
				return
			}
			in.Envelope.Rcpts = []Rcpt{{Addr: rcpt}}
			rep, err := e.Evaluate(context.Background(), in)
			if err != nil {
				t.Fatalf("evaluate for %s: %v", rcpt, err)
			}
			for _, fd := range rep.Findings {
				if fd.Rule == "" || fd.Level == "" {
					t.Fatalf("finding without rule/level: %+v", fd)
				}
			}
			if rep.Plan.Body != nil {
				var out bytes.Buffer
				if err := rep.Plan.Body.WriteBody(&out); err != nil {
					t.Fatalf("write body for %s: %v", rcpt, err)
				}
				h := rep.Plan.ApplyHeader(in.Header)
				if _, err := Parse(h, bytes.NewReader(out.Bytes()), Limits{}); err != nil {
					t.Fatalf("re-parse for %s: %v", rcpt, err)
				}
			}
		}
	})
}

// FuzzAcceptedTarget: the shortcut Recipient takes for accepted recipients
// (plainAtGateway, redteam R12) agrees with route for any address: what it calls
// the bridge's, route sends to the bridge.
func FuzzAcceptedTarget(f *testing.F) {
	for _, s := range []string{
		"VOICE=+3940226338@voice.example.com", "<VOICE=+3940226338@Voice.Example.COM>", "postmaster@voice.example.com",
		`"postmaster"@voice.example.com`, `post\master@voice.example.com`, "non-mail-user@voice.example.com",
		"a@b@voice.example.com", "VOICE=+39%voice.example.com@relay.example.org", "voice.example.com!VOICE=+39@x.example",
		"joe@mail.example.org", "@voice.example.com", " <x@voice.example.com> ", "x@voice.example.com.",
	} {
		f.Add(s)
	}
	o := testOptions()
	o.VoiceDomains = append(o.VoiceDomains, "voice.example.com")
	e, err := New(o)
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if e.plainAtGateway(s) {
			if res := e.route("a@example.org", Rcpt{Addr: s}); res.Target != TargetBridge || res.Reject != nil {
				t.Fatalf("%q: plainAtGateway, but route gives %+v", s, res)
			}
		}
	})
}
