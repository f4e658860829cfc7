package telephony

import (
	"bytes"
	"io"
	"mime"
	"mime/multipart"
	"net/mail"
	"strings"
	"testing"
	"time"
)

// FuzzBuildDSN: whatever header block, diagnostic or addresses a job holds,
// the DSN stays a well-formed three-part multipart/report with CRLF lines.
func FuzzBuildDSN(f *testing.F) {
	f.Add([]byte(testHeader), "486 Busy Here", "alice@example.com", "rfc822;a+2Bb@c")
	f.Add([]byte("X: y\r\n--b0undary--\r\n"), "x\r\ny", "<>", "bogus")
	f.Fuzz(func(t *testing.T, header []byte, diag, sender, orcpt string) {
		j := testJob(Attempt{End: time.Unix(1, 0), Outcome: OutcomePermFailure, Status: "5.1.1", Diagnostic: diag})
		j.Meta.Header, j.Meta.Sender, j.Meta.ORcpt = header, sender, orcpt
		raw := buildDSN(dsnInput{opts: Options{}.WithDefaults().DSN, job: j, now: time.Unix(2, 0), boundary: "dsn-" + strings.Repeat("7", 24), msgID: "x@y"})
		if strings.ContainsAny(strings.ReplaceAll(string(raw), "\r\n", ""), "\r\n") {
			t.Fatal("bare CR or LF")
		}
		m, err := mail.ReadMessage(bytes.NewReader(raw))
		if err != nil {
			t.Fatalf("parse: %v", err)
		}
		_, params, err := mime.ParseMediaType(m.Header.Get("Content-Type"))
		if err != nil {
			t.Fatal(err)
		}
		mr := multipart.NewReader(m.Body, params["boundary"])
		n := 0
		for {
			p, err := mr.NextPart()
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatalf("part %d: %v", n, err)
			}
			if n == 1 {
				body, _ := io.ReadAll(p)
				if got := dsnField(string(body), "Status"); got != "5.1.1" {
					t.Fatalf("status %q", got)
				}
			}
			n++
		}
		if n != 3 {
			t.Fatalf("%d parts", n)
		}
	})
}

// FuzzPolicyCheck: no panics; an accepted number is dialable and matches
// no deny prefix.
func FuzzPolicyCheck(f *testing.F) {
	f.Add("alice@example.com", "+16137637582")
	f.Add("", "+1900-555")
	f.Add("x@corp.example", "0039 40 226338")
	p, err := NewPolicy(Options{HomeCountry: "+1", OutdialAllow: []string{"+1", "+39"}, OutdialDeny: []string{"+1900", "+3989"},
		AllowedSenders: []string{"alice@example.com", "corp.example"}})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, sender, number string) {
		if p.Check(sender, number) != nil {
			return
		}
		n := normalizeNumber(number)
		if !isDialable(n) || strings.HasPrefix(n, "+1900") || strings.HasPrefix(n, "+3989") {
			t.Fatalf("accepted %q (%q)", number, n)
		}
	})
}
