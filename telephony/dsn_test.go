package telephony

import (
	"bytes"
	"context"
	"io"
	"mime"
	"mime/multipart"
	"net/mail"
	"strings"
	"testing"
	"time"
)

const testHeader = "Return-Path: <alice@example.com>\nFrom: Alice <alice@example.com>\nTo: VOICE=+16137637582@voice.example.com\nSubject: Meeting; moved #2 {urgent}\nMessage-ID: <m1@example.com>\nMIME-Version: 1.0\n\nbody must not appear\n"

func testJob(final Attempt) *Job {
	created := time.Date(2026, 11, 23, 15, 0, 0, 0, time.UTC)
	return &Job{
		Version: 1, ID: "0000000000000001-abcdef012345",
		Meta: JobMeta{
			QueueID: "4Xyz1", Sender: "alice@example.com", Recipient: "VOICE=+16137637582@voice.example.com",
			Number: "+16137637582", MessageID: "<m1@example.com>", Subject: "Meeting; moved #2 {urgent}",
			Duration: 6 * time.Second, Notify: "SUCCESS,FAILURE", EnvID: "QQ314159",
			ORcpt: "rfc822;VOICE+3D+2B16137637582@voice.example.com", Header: []byte(testHeader),
		},
		Samples: 48000, Created: created, Attempts: 3, Final: &final,
	}
}

func TestBuildDSNGolden(t *testing.T) {
	end := time.Date(2026, 11, 23, 15, 30, 0, 0, time.UTC)
	tests := []struct {
		name    string
		final   Attempt
		delayed bool // final is the temporary failure of a "delayed" DSN; the job is not final
	}{
		{"failed-busy-expired", Attempt{End: end, Outcome: OutcomeExpired, Status: "4.4.1", Diagnostic: "486 Busy Here"}, false},
		{"failed-unknown", Attempt{End: end, Outcome: OutcomePermFailure, Status: "5.1.1", Diagnostic: "404 Not Found"}, false},
		{"delivered", Attempt{End: end, Outcome: OutcomeDelivered, Status: "2.0.0"}, false},
		{"delayed-busy", Attempt{End: end, Outcome: OutcomeBusy, Status: "4.4.1", Diagnostic: "486 Busy Here"}, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			j := testJob(tc.final)
			j.Expires = j.Created.Add(24 * time.Hour) // set for all: only "delayed" shows it
			in := dsnInput{
				opts: Options{}.WithDefaults().DSN, job: j,
				now: end.Add(time.Minute), boundary: "b0undary", msgID: "test.dsn@localhost",
			}
			if tc.delayed {
				j.Final, in.delayed = nil, &tc.final
			}
			got := buildDSN(in)
			golden(t, "dsn/"+tc.name+".eml", got)
			s := string(got)
			if strings.Contains(s, "body must not appear") {
				t.Fatal("body leaked into text/rfc822-headers")
			}
			if strings.Contains(strings.ReplaceAll(s, "\r\n", ""), "\n") {
				t.Fatal("bare LF in DSN")
			}
			// RFC 3464 §2.3.9: Will-Retry-Until MUST NOT appear in other DSNs.
			tcompare(t, strings.Contains(s, "Will-Retry-Until:"), tc.delayed, "Will-Retry-Until present")
			checkDSNStructure(t, got, tc.final)
		})
	}
}

// TestDelayDSNWanted: RFC 3461 §5.2.5 (a) NOTIFY with DELAY: may; (b) no
// NOTIFY: may (we do); (c) NOTIFY without DELAY: MUST NOT. Never to <>.
func TestDelayDSNWanted(t *testing.T) {
	tests := []struct {
		notify, sender string
		want           bool
		why            string
	}{
		{"", "a@b", true, ""},
		{"DELAY", "a@b", true, ""},
		{"FAILURE,DELAY", "a@b", true, ""},
		{"success, delay", "a@b", true, ""},
		{"Delay", "a@b", true, ""},
		{"FAILURE", "a@b", false, "not-requested"},
		{"SUCCESS,FAILURE", "a@b", false, "not-requested"},
		{"SUCCESS", "a@b", false, "not-requested"},
		{"NEVER", "a@b", false, "not-requested"},
		{"DELAYED", "a@b", false, "not-requested"},
		{"", "", false, "null-sender"},
		{"DELAY", "", false, "null-sender"},
	}
	for _, tc := range tests {
		got, why := delayDSNWanted(&Job{Meta: JobMeta{Notify: tc.notify, Sender: tc.sender}})
		if got != tc.want || why != tc.why {
			t.Errorf("notify=%q sender=%q: got %v %q, want %v %q", tc.notify, tc.sender, got, why, tc.want, tc.why)
		}
	}
}

func TestDSNWanted(t *testing.T) {
	tests := []struct {
		notify, sender string
		outcome        Outcome
		want           bool
		why            string
	}{
		{"", "a@b", OutcomePermFailure, true, ""},
		{"", "a@b", OutcomeDelivered, false, "not-requested"},
		{"SUCCESS", "a@b", OutcomeDelivered, true, ""},
		{"success,failure", "a@b", OutcomeExpired, true, ""},
		{"SUCCESS", "a@b", OutcomeExpired, false, "not-requested"},
		{"DELAY", "a@b", OutcomePermFailure, false, "not-requested"},
		{"NEVER", "a@b", OutcomePermFailure, false, "not-requested"},
		{"FAILURE", "", OutcomePermFailure, false, "null-sender"},
	}
	for _, tc := range tests {
		j := &Job{Meta: JobMeta{Notify: tc.notify, Sender: tc.sender}, Final: &Attempt{Outcome: tc.outcome}}
		got, why := dsnWanted(j)
		if got != tc.want || why != tc.why {
			t.Errorf("notify=%q sender=%q %s: got %v %q, want %v %q", tc.notify, tc.sender, tc.outcome, got, why, tc.want, tc.why)
		}
	}
}

func TestDecodeXtext(t *testing.T) {
	got, err := decodeXtext("VOICE+3D+2B1613@x")
	tcheck(t, err, "decode")
	tcompare(t, got, "VOICE=+1613@x", "xtext")
	if _, err := decodeXtext("bad+4"); err == nil {
		t.Fatal("short xtext accepted")
	}
	if _, err := decodeXtext("bad+ZZ"); err == nil {
		t.Fatal("non-hex xtext accepted")
	}
}

func TestSendDSN(t *testing.T) {
	sink := newSMTPSink(t)
	o := Options{DSN: DSNOptions{SMTPAddr: sink.Addr}}.WithDefaults().DSN
	msg := buildDSN(dsnInput{opts: o, job: testJob(Attempt{Outcome: OutcomePermFailure, Status: "5.1.1"}), now: time.Unix(0, 0).UTC(), boundary: "b", msgID: "x@y"})
	tcheck(t, sendDSN(context.Background(), o, "alice@example.com", msg), "send")
	m := sink.next(t, 5*time.Second)
	tcompare(t, m.From, "", "null reverse path")
	tcompare(t, strings.Join(m.To, ","), "alice@example.com", "rcpt")
	tcompare(t, m.Data, string(msg), "data")
}

// checkDSNStructure parses the DSN with the standard library, independently
// of the golden file. It returns the per-recipient fields of the
// message/delivery-status part (RFC 3464 §2.3) as "Name: value" lines
// joined by "\n", in order.
func checkDSNStructure(t *testing.T, raw []byte, final Attempt) (recipient string) {
	t.Helper()
	m, err := mail.ReadMessage(bytes.NewReader(raw))
	tcheck(t, err, "parse DSN")
	mt, params, err := mime.ParseMediaType(m.Header.Get("Content-Type"))
	tcheck(t, err, "content-type")
	tcompare(t, mt, "multipart/report", "media type")
	tcompare(t, params["report-type"], "delivery-status", "report-type")
	mr := multipart.NewReader(m.Body, params["boundary"])
	var types []string
	for {
		p, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		tcheck(t, err, "part")
		types = append(types, p.Header.Get("Content-Type"))
		body, _ := io.ReadAll(p)
		if p.Header.Get("Content-Type") == "message/delivery-status" {
			tcompare(t, dsnField(string(body), "Status"), final.Status, "Status")
			// Per-message fields, an empty line, then one recipient's fields.
			_, rcpt, ok := strings.Cut(string(body), "\r\n\r\n")
			tcompare(t, ok, true, "per-recipient fields after the per-message ones")
			recipient = strings.ReplaceAll(strings.TrimSuffix(rcpt, "\r\n"), "\r\n", "\n")
		}
		if p.Header.Get("Content-Type") == "text/rfc822-headers" {
			h, err := mail.ReadMessage(bytes.NewReader(body))
			tcheck(t, err, "original headers")
			tcompare(t, h.Header.Get("Message-ID"), "<m1@example.com>", "original Message-ID")
		}
	}
	tcompare(t, strings.Join(types, " | "), "text/plain; charset=us-ascii | message/delivery-status | text/rfc822-headers", "parts")
	return recipient
}
