package milter

import (
	"bytes"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	gomilter "github.com/d--j/go-milter"

	"github.com/vpim-milter/vpim-milter/milter/testengine"
	"github.com/vpim-milter/vpim-milter/profile"
)

// fakeModifier is the go-milter modifier of one stage with the negotiated
// protocol; the methods the failure paths do not use are not implemented.
type fakeModifier struct {
	gomilter.Modifier
	protocol gomilter.OptProtocol
}

func (f fakeModifier) Protocol() gomilter.OptProtocol { return f.protocol }
func (f fakeModifier) Version() uint32                { return 6 }
func (f fakeModifier) Get(gomilter.MacroName) string  { return "" }
func (f fakeModifier) Progress() error                { return nil }

// rcptPanicEngine is the scripted engine, panicking at RCPT for panic@example.net.
type rcptPanicEngine struct{ testengine.Engine }

func (e rcptPanicEngine) Recipient(from string, r profile.Rcpt, accepted []profile.Rcpt) profile.RcptResult {
	if r.Addr == "panic@example.net" {
		panic("test: panic at RCPT")
	}
	return e.Engine.Recipient(from, r, accepted)
}

// answerString is a callback's answer as the MTA would read it.
func answerString(resp *gomilter.Response, err error) string {
	if err != nil {
		return "error " + err.Error()
	}
	return resp.String()
}

// TestFailureInNoReplyStage (redteam R3): a failure at a stage whose reply the
// MTA negotiated away (SMFIP_NR_MAIL, SMFIP_NR_HDR, SMFIP_NR_BODY, as Postfix and
// Sendmail do when the milter asks) or whose reply refuses one recipient only
// (RCPT) is answered at every later stage that replies, and the transaction ends
// at the first that can end it. It used to be answered where nobody read it, the
// end of message then found no transaction and answered continue: Postfix
// delivered the message unchecked.
func TestFailureInNoReplyStage(t *testing.T) {
	const tempfail = `response=reply_code action=temp_fail code=451 reason="451 4.3.0 temporary failure in the voice-mail filter, try again later"`
	noReply := gomilter.OptNoMailReply | gomilter.OptNoHeaderReply | gomilter.OptNoBodyReply
	panicAt := func(s *session, m gomilter.Modifier, stage gomilter.OptProtocol) (resp *gomilter.Response, err error) {
		defer s.guard(m, stage, &resp, &err)
		panic("test: panic in a callback")
	}
	tests := []struct {
		name        string
		protocol    gomilter.OptProtocol
		errorAction Action
		fail        string // mail, rcpt, header, body (spool error), body-panic
		want        string // the answers to MAIL, RCPT x2, header, EOH, body, EOM, up to the one that ends the transaction
	}{
		{"MAIL, no reply", noReply, "", "mail", "response=continue | " + tempfail + " | " + tempfail + " | response=continue | " + tempfail},
		{"MAIL, reply", 0, "", "mail", tempfail},
		{"RCPT", noReply, "", "rcpt", "response=continue | response=continue | " + tempfail + " | response=continue | " + tempfail},
		{"header, no reply", noReply, "", "header", "response=continue | response=continue | response=continue | response=continue | " + tempfail},
		{"header, reply", 0, "", "header", "response=continue | response=continue | response=continue | " + tempfail},
		{"body spool error, no reply", noReply, "", "body", "response=continue | response=continue | response=continue | response=continue | response=continue | response=continue | " + tempfail},
		{"body spool error, reply", 0, "", "body", "response=continue | response=continue | response=continue | response=continue | response=continue | " + tempfail},
		{"body panic, no reply", noReply, "", "body-panic", "response=continue | response=continue | response=continue | response=continue | response=continue | response=continue | " + tempfail},
		{"body spool error, error_action accept", noReply, ActionAccept, "body", "response=continue | response=continue | response=continue | response=continue | response=continue | response=continue | response=accept"},
		{"MAIL, error_action accept", noReply, ActionAccept, "mail", "response=continue | response=continue | response=continue | response=continue | response=accept"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tmp := filepath.Join(t.TempDir(), "spill")
			if err := os.Mkdir(tmp, 0o700); err != nil {
				t.Fatal(err)
			}
			var logbuf bytes.Buffer
			f, err := New(Options{TempDir: tmp, BodyMaxMemory: 64, ErrorAction: tc.errorAction}, rcptPanicEngine{},
				slog.New(slog.NewTextHandler(&logbuf, nil)), nil)
			if err != nil {
				t.Fatal(err)
			}
			if tc.fail == "body" {
				// The body cannot be spooled: its temporary file cannot be created.
				if err := os.Remove(tmp); err != nil {
					t.Fatal(err)
				}
			}
			m := fakeModifier{protocol: tc.protocol}
			s := &session{f: f}
			var got []string
			step := func(resp *gomilter.Response, err error) bool {
				got = append(got, answerString(resp, err))
				return resp != nil && resp.Continue()
			}
			rcpt2 := "<c@example.net>"
			if tc.fail == "rcpt" {
				rcpt2 = "<panic@example.net>"
			}
			steps := []func() (*gomilter.Response, error){
				func() (*gomilter.Response, error) {
					if tc.fail == "mail" {
						return panicAt(s, m, gomilter.OptNoMailReply)
					}
					return s.MailFrom("a@example.org", "", m)
				},
				func() (*gomilter.Response, error) { return s.RcptTo("<b@example.net>", "", m) },
				func() (*gomilter.Response, error) { return s.RcptTo(rcpt2, "", m) },
				func() (*gomilter.Response, error) {
					if tc.fail == "header" {
						return panicAt(s, m, gomilter.OptNoHeaderReply)
					}
					return s.Header("X-Test-Action", "add-header", m)
				},
				func() (*gomilter.Response, error) { return s.Headers(m) },
				func() (*gomilter.Response, error) {
					if tc.fail == "body-panic" {
						return panicAt(s, m, gomilter.OptNoBodyReply)
					}
					return s.BodyChunk(bytes.Repeat([]byte("x"), 100), m)
				},
				func() (*gomilter.Response, error) { return s.EndOfMessage(m) },
			}
			for i, st := range steps {
				resp, err := st()
				// A refused RCPT goes on with the next one; anything else that
				// does not continue ends the transaction, at the MTA as here.
				if !step(resp, err) && i != 1 && i != 2 {
					break
				}
			}
			if g := strings.Join(got, " | "); g != tc.want {
				t.Errorf("answers:\n got %s\nwant %s", g, tc.want)
			}
			// One line for the failed transaction (a panic before MAIL has made one: its own line).
			if n := strings.Count(logbuf.String(), "msg=transaction ") + strings.Count(logbuf.String(), `msg="panic in milter callback"`); n != 1 {
				t.Errorf("%d log lines for the transaction, want 1:\n%s", n, logbuf.String())
			}
			// The next transaction on the connection starts clean.
			s.Abort(m)
			if _, err := s.MailFrom("a@example.org", "", m); err != nil {
				t.Fatal(err)
			}
			if a := answerString(s.RcptTo("<b@example.net>", "", m)); a != "response=continue" {
				t.Errorf("RCPT of the next transaction: %s", a)
			}
			s.Cleanup(m)
			if ents, _ := os.ReadDir(tmp); len(ents) != 0 {
				t.Errorf("temporary files left: %v", ents)
			}
		})
	}
}
