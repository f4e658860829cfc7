package milter_test

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"testing"

	"github.com/vpim-milter/vpim-milter/milter"
	"github.com/vpim-milter/vpim-milter/milter/testengine"
	"github.com/vpim-milter/vpim-milter/profile"
	"github.com/vpim-milter/vpim-milter/telephony"
)

func newOfflineFilter(t *testing.T) *milter.Filter {
	t.Helper()
	f, err := milter.New(milter.Options{TempDir: t.TempDir()}, testengine.Engine{}, slog.New(slog.DiscardHandler), nil)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// TestOffline applies plans to a copy of the message with the MTA's header
// index semantics, and keeps the input's line ends.
func TestOffline(t *testing.T) {
	const head = "From: a@example.org\nTo: b@example.net, c@example.net\nSubject: one\nX-Test-Delete: x\nSubject: two\n"
	tests := []struct {
		name    string
		action  string
		rcpts   []string
		verdict profile.Verdict
		reply   string
		out     string
	}{
		{"fast path", "", nil, profile.VerdictAccept, "", head + "\nbody\n"},
		{"edits", "add-header,change-header,delete-header,insert-header", nil, profile.VerdictModify, "",
			"X-Test-Inserted: top\nFrom: a@example.org\nTo: b@example.net, c@example.net\nSubject: changed\nSubject: two\nX-Test-Action: add-header,change-header,delete-header,insert-header\nX-Test-Added: yes\n\nbody\n"},
		{"body", "replace-body", nil, profile.VerdictModify, "", head + "X-Test-Action: replace-body\n\nreplaced body\n"},
		{"reject", "reject", nil, profile.VerdictReject, "550 5.7.1 rejected by test", ""},
		{"all refused", "", []string{"refuse@example.net"}, profile.VerdictReject, "550 5.1.1 refused by test", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			msg := head
			if tc.action != "" {
				msg += "X-Test-Action: " + tc.action + "\n"
			}
			msg += "\nbody\n"
			for _, crlf := range []bool{false, true} {
				in := msg
				want := tc.out
				if crlf {
					in = strings.ReplaceAll(msg, "\n", "\r\n")
					want = strings.ReplaceAll(tc.out, "\n", "\r\n")
				}
				var out bytes.Buffer
				res, err := newOfflineFilter(t).Offline(context.Background(), "", tc.rcpts, strings.NewReader(in), &out)
				if err != nil {
					t.Fatal(err)
				}
				if res.Verdict != tc.verdict || res.Reply.String() != tc.reply {
					t.Errorf("crlf=%v: verdict %s %q, want %s %q", crlf, res.Verdict, res.Reply, tc.verdict, tc.reply)
				}
				if out.String() != want {
					t.Errorf("crlf=%v: output\n%q\nwant\n%q", crlf, out.String(), want)
				}
			}
		})
	}
}

func TestOfflineDefaultEnvelope(t *testing.T) {
	msg := "From: \"A\" <a@example.org>\nTo: b@example.net\nCc: refuse@example.net\nX-Test-Action: add-header\n\nx\n"
	res, err := newOfflineFilter(t).Offline(context.Background(), "", nil, strings.NewReader(msg), nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Refused) != 1 || res.Refused[0].Rcpt != "refuse@example.net" || res.Verdict != profile.VerdictModify {
		t.Errorf("got %+v", res)
	}
}

// TestOfflineCaller (redteam R10): without --from, the header From address is the
// envelope sender for the profile and for the telephony gateway's caller alike; it
// used to reach the gateway as the null sender, which never dials.
func TestOfflineCaller(t *testing.T) {
	msg := "From: \"A\" <caller@example.org>\nTo: VOICE=+3940226338@voice.example.com\n\nx\n"
	for _, tc := range []struct{ from, want string }{
		{"", "caller@example.org"},
		{"<other@example.org>", "other@example.org"},
		{"<>", ""},
	} {
		b := &fakeBridge{}
		f, err := milter.New(milter.Options{TempDir: t.TempDir(), Bridge: b}, testengine.Engine{}, slog.New(slog.DiscardHandler), nil)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := f.Offline(context.Background(), tc.from, nil, strings.NewReader(msg), nil); err != nil {
			t.Fatal(err)
		}
		if len(b.callers) != 1 || b.callers[0].Sender != tc.want {
			t.Errorf("from %q: the gateway was asked by %+v, want sender %q", tc.from, b.callers, tc.want)
		}
	}
}

// TestOfflineBridgeRefusal (redteam R11): a message the bridge refuses at hand-off
// (audio over telephony.max_audio: 552 5.3.4) is handed to nobody, as one the engine
// refuses: no bridge recipient and no "hand to bridge" step; the plan ends in the
// refusal. A temporary refusal (spool full) likewise.
func TestOfflineBridgeRefusal(t *testing.T) {
	msg := "From: caller@example.org\nTo: VOICE=+3940226338@voice.example.com, b@example.net\nX-Test-Action: add-header\n" +
		"MIME-Version: 1.0\nContent-Type: audio/basic\nContent-Transfer-Encoding: base64\n\n" + strings.Repeat("////////////\n", 100)
	for _, tc := range []struct {
		err     *telephony.RejectError
		verdict profile.Verdict
		want    string
	}{
		{&telephony.RejectError{Code: 552, Enhanced: "5.3.4", Text: "voice message too long for the telephony bridge"}, profile.VerdictReject,
			"[add header X-Test-Added: yes | reject 552 5.3.4 voice message too long for the telephony bridge]"},
		{&telephony.RejectError{Code: 452, Enhanced: "4.3.1", Text: "insufficient system storage"}, profile.VerdictTempfail,
			"[add header X-Test-Added: yes | tempfail 452 4.3.1 insufficient system storage]"},
	} {
		b := &fakeBridge{handOffErr: tc.err}
		f, err := milter.New(milter.Options{TempDir: t.TempDir(), Bridge: b}, testengine.Engine{}, slog.New(slog.DiscardHandler), nil)
		if err != nil {
			t.Fatal(err)
		}
		res, err := f.Offline(context.Background(), "", nil, strings.NewReader(msg), nil)
		if err != nil {
			t.Fatal(err)
		}
		if res.Report == nil {
			t.Fatalf("%d: no report: %+v", tc.err.Code, res)
		}
		var acts []string
		for _, a := range res.Report.Plan.Actions {
			acts = append(acts, a.String())
		}
		if res.Verdict != tc.verdict || res.Reply.Code != tc.err.Code || len(res.Report.Bridge) != 0 || res.Report.Bridge == nil ||
			strings.Join(acts, " | ") != strings.Trim(tc.want, "[]") {
			t.Errorf("%d: verdict %s %s, bridge %q, actions %q; want %s, no bridge recipient, actions %s",
				tc.err.Code, res.Verdict, res.Reply, res.Report.Bridge, acts, tc.verdict, tc.want)
		}
	}
}

func TestOfflineSkipsMboxFromLine(t *testing.T) {
	msg := "From MAILER-DAEMON Mon Jan  1 12:34:56 2024\nFrom: a@example.org\nTo: b@example.net\nX-Test-Action: add-header\n\nx\n"
	var out bytes.Buffer
	res, err := newOfflineFilter(t).Offline(context.Background(), "", nil, strings.NewReader(msg), &out)
	if err != nil {
		t.Fatal(err)
	}
	want := "From: a@example.org\nTo: b@example.net\nX-Test-Action: add-header\nX-Test-Added: yes\n\nx\n"
	if res.Verdict != profile.VerdictModify || out.String() != want {
		t.Errorf("got %s %q, want modify %q", res.Verdict, out.String(), want)
	}
}

// leadEngine is the scripted engine, recording the accepted recipients Recipient got.
type leadEngine struct {
	testengine.Engine
	got *[]string
}

func (e leadEngine) Recipient(from string, rcpt profile.Rcpt, accepted []profile.Rcpt) profile.RcptResult {
	var as []string
	for _, a := range accepted {
		as = append(as, a.Addr)
	}
	*e.got = append(*e.got, strings.Join(as, " "))
	return e.Engine.Recipient(from, rcpt, accepted)
}

// TestRecipientLead (redteam R12): the milter hands Engine.Recipient only the accepted
// recipients that matter, the first one and the first one not for the bridge, so that a
// RCPT costs the same after 10 recipients as after 10,000; it used to pass them all.
func TestRecipientLead(t *testing.T) {
	var got []string
	f, err := milter.New(milter.Options{TempDir: t.TempDir(), Bridge: &fakeBridge{}}, leadEngine{got: &got}, slog.New(slog.DiscardHandler), nil)
	if err != nil {
		t.Fatal(err)
	}
	rcpts := []string{"VOICE=+1@gw.example", "VOICE=+2@gw.example", "refuse@example.net", "a@example.net", "VOICE=+3@gw.example", "b@example.net", "c@example.net"}
	if _, err := f.Offline(context.Background(), "s@example.org", rcpts, strings.NewReader("Subject: x\n\nx\n"), nil); err != nil {
		t.Fatal(err)
	}
	want := []string{"", "VOICE=+1@gw.example", "VOICE=+1@gw.example", "VOICE=+1@gw.example",
		"VOICE=+1@gw.example a@example.net", "VOICE=+1@gw.example a@example.net", "VOICE=+1@gw.example a@example.net"}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("Recipient got the accepted recipients\n%q\nwant\n%q", got, want)
	}
}
