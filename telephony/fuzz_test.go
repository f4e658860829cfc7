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

// FuzzPolicyCheckNumber: no panics; an admitted number is dialable, is its own
// normalised form, matches no deny prefix, is in no premium range (the allow
// patterns are shorter than every range), is no emergency number, also not
// behind an access digit, and a local one has at most maxLocal digits.
func FuzzPolicyCheckNumber(f *testing.F) {
	f.Add("+16137637582")
	f.Add("+1900-555")
	f.Add("0039 40 226338")
	f.Add("0019005551234")
	f.Add("0899123456")
	p, err := NewPolicy(Options{HomeCountry: "+39", OutdialAllow: []string{"+1", "+39", "0"}, OutdialDeny: []string{"+1900", "+3989"}})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, number string) {
		n, err := p.CheckNumber(number)
		if err != nil {
			return
		}
		if !isDialable(n) || strings.HasPrefix(n, "+1900") || strings.HasPrefix(n, "+3989") || strings.HasPrefix(n, "+449") {
			t.Fatalf("accepted %q as %q", number, n)
		}
		for _, pr := range p.premium {
			if strings.HasPrefix(n, pr.prefix) && (pr.maxLen == 0 || len(n) <= pr.maxLen) {
				t.Fatalf("accepted %q as %q, in premium range %s (%s)", number, n, pr.prefix, pr.what)
			}
		}
		if !strings.HasPrefix(n, "+") && (len(n) > maxLocal || contains(p.home.emergency, n) || p.emergencyBehindPrefix(n)) {
			t.Fatalf("accepted %q as local %q", number, n)
		}
		if again, err := p.CheckNumber(n); err != nil || again != n {
			t.Fatalf("%q → %q → %q, %v", number, n, again, err)
		}
	})
}

// FuzzNormalizeDial: for any input and any home plan, the normaliser
// never panics and returns either an error or "+" and 1-15 digits not
// starting with 0, or local digits; a "+" result is a fixed point.
func FuzzNormalizeDial(f *testing.F) {
	for _, s := range []string{"0019005551234", "+1 (613) 763-7582", "8765551234", "0899123456", "00", "011", "0011", "118", "+", "9p1", "８１０"} {
		f.Add(s, uint8(0))
	}
	plans := dialPlans()
	f.Fuzz(func(t *testing.T, s string, plan uint8) {
		var home *dialPlan
		if int(plan) < len(plans) {
			home = &plans[plan]
		}
		nn, err := normalizeDial(s, home)
		if err != nil {
			return
		}
		switch nn.kind {
		case kindE164:
			d := strings.TrimPrefix(nn.n, "+")
			if len(d) == len(nn.n) || len(d) < 1 || len(d) > 15 || !allDigits(d) || d[0] == '0' {
				t.Fatalf("%q → E.164 %q", s, nn.n)
			}
			if again, err := normalizeDial(nn.n, home); err != nil || again != nn {
				t.Fatalf("%q → %q → %q, %v", s, nn.n, again.n, err)
			}
		case kindLocal:
			if !allDigits(nn.n) || len(nn.n) > maxLocal || nn.n[0] == '0' {
				t.Fatalf("%q → local %q", s, nn.n)
			}
		default:
			t.Fatalf("kind %d", nn.kind)
		}
	})
}
