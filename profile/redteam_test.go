package profile

import (
	"testing"
)

// TestRedteamRecipientCostFlat (redteam R12): Engine.Recipient re-parsed and
// re-routed the transaction's accepted recipients up to its first
// non-bridge one for every new recipient, so a transaction that starts
// with many copies of one telephone number (Admit admits them all: they
// are one call) and then names ordinary recipients cost
// O(bridge × plain) address parses. Measured against the real daemon with
// go-milter's client: 10,000 copies of VOICE=+3940226338@voice.example.com,
// then 10,000 plain recipients took 68.6 s of RCPT processing (the plain
// half) and 15.6 s at end of message (milter/bridge.go rcptArgs scanned the
// envelope once per bridge recipient), one core busy throughout; Postfix
// caps a transaction at smtpd_recipient_limit (1000 by default), a client
// of the milter socket does not. The work for one recipient must not grow
// with the number of recipients already accepted: allocations per call are
// the same after 10 and after 1,000 bridge recipients (group skips them
// without parsing, plainAtGateway; the milter passes only the two accepted
// recipients that matter, TestRecipientLead).
func TestRedteamRecipientCostFlat(t *testing.T) {
	e, err := New(testOptions())
	if err != nil {
		t.Fatal(err)
	}
	accepted := func(n int) []Rcpt {
		out := make([]Rcpt, n)
		for i := range out {
			out[i] = Rcpt{Addr: "VOICE=+3940226338@voice.example.com"}
		}
		return out
	}
	few, many := accepted(10), accepted(1000)
	next := Rcpt{Addr: "user@vm2.example.net"}
	a10 := testing.AllocsPerRun(20, func() { e.Recipient("a@example.org", next, few) })
	a1000 := testing.AllocsPerRun(20, func() { e.Recipient("a@example.org", next, many) })
	if a1000 > a10+2 {
		t.Errorf("Recipient allocates %.0f times after 10 bridge recipients, %.0f after 1,000: its cost grows with the transaction", a10, a1000)
	}
}
