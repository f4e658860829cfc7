package telephony

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// admitReply is Admit's answer as "code enhanced rule", "" when admitted.
func admitReply(g *Gateway, a *Admission, rcpt string) string {
	err := g.Admit(a, rcpt)
	var re *RejectError
	switch {
	case err == nil:
		return ""
	case errors.As(err, &re):
		return fmt.Sprintf("%d %s %s", re.Code, re.Enhanced, re.Rule)
	}
	return err.Error()
}

// TestGatewayAdmitAddresses (issue 9 item 6): every address at a gateway
// domain that is not a dialable VOICE=, VPIM= or AMIS= number is refused
// with 553 5.1.3, never delivered as mail.
func TestGatewayAdmitAddresses(t *testing.T) {
	g, _ := testGateway(t, false)
	for _, tc := range []struct{ rcpt, want string }{
		{"VOICE=+3940226338@voice.example.com", ""},
		{"\"/VOICE=+3940226338/\"@voice.example.com", ""},
		{"VPIM=+3940226338@voice.example.com", ""},
		{"VOICE=+39(0)226338@voice.example.com", "553 5.1.3 address"},
		{"VOICE=+39(0)40226338@voice.example.com", "553 5.1.3 address"},
		{"VOICE=＋３９４０２２６３３８@voice.example.com", "553 5.1.3 address"},
		{"VOICE=+３９４０２２６３３８@voice.example.com", "553 5.1.3 address"},
		{"FAX=+3940226338@voice.example.com", "553 5.1.3 address"},
		{"SMS=+3940226338@voice.example.com", "553 5.1.3 address"},
		{"@relay.example.net:VOICE=+3940226338@voice.example.com", "553 5.1.3 address"},
		{"@a.example,@b.example:VOICE=+3940226338@voice.example.com", "553 5.1.3 address"},
		{"+19005551234@voice.example.com", "553 5.1.3 address"},
		{"+3940226338@voice.example.com", "553 5.1.3 address"},
		{"7035255550/EXT=227@voice.example.com", "553 5.1.3 address"},
		{"TEL=+3940226338@voice.example.com", "553 5.1.3 address"},
		{"john.doe@voice.example.com", "553 5.1.3 address"},
		{"VOICE=+39402263p38@voice.example.com", "553 5.1.3 address"},
		{"VOICE=*67+3940226338@voice.example.com", "553 5.1.3 address"},
		{"AMIS=mbox123@voice.example.com", "553 5.1.3 address"},
	} {
		a := &Admission{Caller: Caller{Sender: "caller@example.org"}}
		if got := admitReply(g, a, tc.rcpt); got != tc.want {
			t.Errorf("%s: %q, want %q", tc.rcpt, got, tc.want)
		}
	}
}

// twelveSpellings are one number (+3940226338) written twelve ways; the
// gateway's home country is +39.
func twelveSpellings() []string {
	return []string{
		"VOICE=+3940226338@voice.example.com",
		"VOICE=+39-40-226338@voice.example.com",
		"VOICE=+39.40.226338@voice.example.com",
		"VOICE=+39-402-26338@voice.example.com",
		"voice=+3940226338@voice.example.com",
		"Voice=+39.4022.6338@voice.example.com",
		"\"/VOICE=+3940226338/\"@voice.example.com",
		"VOICE=003940226338@voice.example.com",
		"VOICE=0039-40-226338@voice.example.com",
		"VOICE=40226338@voice.example.com",
		"VPIM=+3940226338@voice.example.com",
		"VOICE=+3940226338/T33S=1@voice.example.com",
	}
}

// TestGatewayDedupe (issue 9 item 5): 200 copies of one recipient and 12
// spellings of its number in one message are all admitted and make one job;
// a sixth distinct number is refused with 452 4.5.3, and spellings of an
// admitted number do not count towards the cap.
func TestGatewayDedupe(t *testing.T) {
	s, err := OpenSpool(filepath.Join(t.TempDir(), "spool"))
	tcheck(t, err, "spool")
	g, err := NewGateway(Options{HomeCountry: "+39", AllowedSenders: []string{"@example.org"}, OutdialAllow: []string{"+39"}, TempDir: t.TempDir()}, s)
	tcheck(t, err, "gateway")
	a := &Admission{Caller: Caller{Sender: "caller@example.org"}}
	defer a.Close()
	var rcpts []Recipient
	for range 200 {
		rcpts = append(rcpts, Recipient{Addr: "VOICE=+3940226338@voice.example.com"})
	}
	for _, r := range twelveSpellings() {
		rcpts = append(rcpts, Recipient{Addr: r})
	}
	for _, r := range rcpts {
		if got := admitReply(g, a, r.Addr); got != "" {
			t.Fatalf("%s: %s", r.Addr, got)
		}
	}
	for i := 1; i <= 4; i++ {
		r := fmt.Sprintf("VOICE=+39402263%02d@voice.example.com", i)
		tcompare(t, admitReply(g, a, r), "", r)
		rcpts = append(rcpts, Recipient{Addr: r})
	}
	tcompare(t, admitReply(g, a, "VOICE=+3940226399@voice.example.com"), "452 4.5.3 max-calls", "sixth number")
	tcompare(t, admitReply(g, a, "VOICE=0039-40226301@voice.example.com"), "", "a spelling of an admitted number")
	m := &Message{Sender: "caller@example.org", Recipients: rcpts, Voice: ulawVoice([]byte{1, 2, 3, 4}), Admission: a}
	tcheck(t, g.HandOff(context.Background(), m), "hand-off")
	ids, err := s.List(dirNew)
	tcheck(t, err, "list")
	numbers := map[string]string{}
	for _, id := range ids {
		j, err := s.Load(dirNew, id)
		tcheck(t, err, "load")
		numbers[j.Meta.Number] = j.Meta.Recipient
	}
	tcompare(t, len(ids), 5, "jobs")
	tcompare(t, numbers["+3940226338"], "VOICE=+3940226338@voice.example.com", "the first recipient gives the job its address")
}

// TestGatewayHandOffChecksUnadmitted: recipients HandOff gets without an
// Admission go through the policy there, and are deduped too.
func TestGatewayHandOffChecksUnadmitted(t *testing.T) {
	g, s := testGateway(t, true)
	m := &Message{Sender: "caller@example.org", Voice: ulawVoice([]byte{1, 2}), Recipients: []Recipient{
		{Addr: "VOICE=+3940226338@voice.example.com"}, {Addr: "VOICE=+39-40-226338@voice.example.com"}}}
	tcheck(t, g.HandOff(context.Background(), m), "hand-off")
	ids, _ := s.List(dirNew)
	tcompare(t, len(ids), 1, "jobs")
	m.Recipients = append(m.Recipients, Recipient{Addr: "VOICE=+19005551234@voice.example.com"})
	var re *RejectError
	if err := g.HandOff(context.Background(), m); !errors.As(err, &re) || re.Rule != RulePremium {
		t.Fatalf("%v, want a premium refusal", err)
	}
}

// rateGateway is a gateway with the given rate limits on a spool at dir
// whose clock is *now.
func rateGateway(t *testing.T, dir string, now *time.Time, limits RateLimitOptions) (*Gateway, *Spool) {
	t.Helper()
	s, err := openSpool(dir, osFS{}, func() time.Time { return *now })
	tcheck(t, err, "spool")
	g, err := NewGateway(Options{HomeCountry: "+39", AllowedSenders: []string{"@example.org"}, AllowedLogins: []string{"*"}, TrustedNetworks: []string{"192.0.2.0/24"},
		OutdialAllow: []string{"+39"}, RateLimit: limits, MaxCallsPerMessage: 10, TempDir: t.TempDir()}, s)
	tcheck(t, err, "gateway")
	return g, s
}

// transact runs one transaction for caller to numbers and hands it off; it
// returns Admit's replies.
func transact(t *testing.T, g *Gateway, c Caller, numbers ...string) []string {
	t.Helper()
	a := &Admission{Caller: c}
	defer a.Close()
	var replies []string
	var rcpts []Recipient
	for _, n := range numbers {
		r := "VOICE=" + n + "@voice.example.com"
		reply := admitReply(g, a, r)
		replies = append(replies, reply)
		if reply == "" {
			rcpts = append(rcpts, Recipient{Addr: r})
		}
	}
	if len(rcpts) > 0 {
		tcheck(t, g.HandOff(context.Background(), &Message{Sender: c.Sender, Recipients: rcpts, Voice: ulawVoice([]byte{1, 2}), Admission: a}), "hand-off")
	}
	return replies
}

// TestGatewayRateLimit (issue 9 item 5): calls are counted per sender (the
// login when there is one) and per number over a sliding window, on calls
// handed off; the excess is refused at RCPT with 450 4.7.1. Transactions
// that end without a hand-off give their counts back; the counts survive a
// new Gateway (reload) and a restart (read back from the spool).
func TestGatewayRateLimit(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "spool")
	now := time.Date(2026, 12, 6, 10, 0, 0, 0, time.UTC)
	limits := RateLimitOptions{PerSender: Rate{Count: 3, Per: time.Hour}, PerNumber: Rate{Count: 2, Per: 10 * time.Minute}}
	g, _ := rateGateway(t, dir, &now, limits)
	bob := Caller{Sender: "bob@example.org", Client: "192.0.2.1"}
	tcompare(t, strings.Join(transact(t, g, bob, "+3940226301", "+3940226302"), ","), ",", "two calls")
	tcompare(t, strings.Join(transact(t, g, bob, "+3940226303", "+3940226304"), ","), ",450 4.7.1 rate-sender", "third call, fourth over the limit")

	// An aborted transaction gives its counts back.
	a := &Admission{Caller: Caller{Sender: "carol@example.org", Client: "192.0.2.2"}}
	tcompare(t, admitReply(g, a, "VOICE=+3940226305@voice.example.com"), "", "held")
	tcompare(t, admitReply(g, a, "VOICE=+3940226305@voice.example.com"), "", "the same number again")
	a.Close()
	carol := Caller{Sender: "carol@example.org", Client: "192.0.2.2"}
	tcompare(t, strings.Join(transact(t, g, carol, "+3940226305", "+3940226306", "+3940226307"), ","), ",,", "carol's three calls")

	// Per number, whoever asks; the login is the sender's key.
	alice := Caller{Sender: "x@example.org", Login: "alice"}
	tcompare(t, strings.Join(transact(t, g, alice, "+3940226310"), ","), "", "first call to 10")
	tcompare(t, strings.Join(transact(t, g, Caller{Sender: "y@example.org", Login: "alice2"}, "+3940226310"), ","), "", "second call to 10")
	tcompare(t, strings.Join(transact(t, g, Caller{Sender: "z@example.org", Login: "alice3"}, "+3940226310"), ","), "450 4.7.1 rate-number", "third call to 10")
	tcompare(t, strings.Join(transact(t, g, Caller{Sender: "bob@example.org", Login: "alice"}, "+3940226311", "+3940226312", "+3940226313"), ","), ",,450 4.7.1 rate-sender",
		"alice's login is counted, not the envelope sender")

	// A reload (a new Gateway on the same spool) keeps the counts.
	g2, err := NewGateway(Options{HomeCountry: "+39", AllowedSenders: []string{"@example.org"}, OutdialAllow: []string{"+39"}, RateLimit: limits, TempDir: t.TempDir()}, g.spool)
	tcheck(t, err, "reload")
	tcompare(t, strings.Join(transact(t, g2, bob, "+3940226320"), ","), "450 4.7.1 rate-sender", "bob after a reload")

	// A restart reads them back from the spool.
	g3, _ := rateGateway(t, dir, &now, limits)
	tcompare(t, strings.Join(transact(t, g3, bob, "+3940226320"), ","), "450 4.7.1 rate-sender", "bob after a restart")
	tcompare(t, strings.Join(transact(t, g3, Caller{Sender: "v@example.org", Login: "erin"}, "+3940226310"), ","), "450 4.7.1 rate-number", "number 10 after a restart")

	// The window moves on.
	now = now.Add(11 * time.Minute)
	tcompare(t, strings.Join(transact(t, g3, Caller{Sender: "w@example.org", Login: "dave"}, "+3940226310"), ","), "", "number 10 after its window")
	tcompare(t, strings.Join(transact(t, g3, bob, "+3940226321"), ","), "450 4.7.1 rate-sender", "bob's hour is not over")
	now = now.Add(50 * time.Minute)
	tcompare(t, strings.Join(transact(t, g3, bob, "+3940226321"), ","), "", "bob after his hour")

	// "off" counts nothing.
	g4, _ := rateGateway(t, filepath.Join(t.TempDir(), "spool"), &now, RateLimitOptions{PerSender: RateOff(), PerNumber: RateOff()})
	for i := range 30 {
		tcompare(t, strings.Join(transact(t, g4, bob, "+3940226338"), ","), "", fmt.Sprintf("call %d without limits", i))
	}
}

// TestGatewayRateLimitClient (redteam R13): a caller without a login is counted by
// its client address, not by its envelope sender, which it writes as it likes: a
// trusted client that gives every message another MAIL FROM still meets the limit, in
// the running daemon and after a restart (the spool's jobs keep the client). The login
// wins over the address; with neither, the envelope sender counts.
func TestGatewayRateLimitClient(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "spool")
	now := time.Date(2026, 12, 6, 10, 0, 0, 0, time.UTC)
	limits := RateLimitOptions{PerSender: Rate{Count: 2, Per: time.Hour}, PerNumber: RateOff()}
	g, _ := rateGateway(t, dir, &now, limits)
	var got []string
	for i, c := range []Caller{
		{Sender: "a1@example.org", Client: "192.0.2.7"},
		{Sender: "a2@example.org", Client: "192.0.2.7"},
		{Sender: "a3@example.org", Client: "192.0.2.7"},             // third call from the client
		{Sender: "a4@example.org", Client: "IPv6:::ffff:192.0.2.7"}, // the same address, mapped
		{Sender: "a5@example.org", Client: "192.0.2.8"},             // another client
		{Sender: "a6@example.org", Client: "192.0.2.7", Login: "alice"},
	} {
		got = append(got, strings.Join(transact(t, g, c, fmt.Sprintf("+39402263%02d", i)), ","))
	}
	tcompare(t, strings.Join(got, "|"), "||450 4.7.1 rate-sender|450 4.7.1 rate-sender||", "calls by client")

	g2, _ := rateGateway(t, dir, &now, limits) // a restart
	tcompare(t, strings.Join(transact(t, g2, Caller{Sender: "a7@example.org", Client: "192.0.2.7"}, "+3940226350"), ","), "450 4.7.1 rate-sender", "the client after a restart")
	tcompare(t, strings.Join(transact(t, g2, Caller{Sender: "b@example.org", Login: "bob", Client: "192.0.2.7"}, "+3940226351", "+3940226352", "+3940226353"), ","),
		",,450 4.7.1 rate-sender", "bob's login, from the same client")

	// Without login and client address (an MTA that does not send {client_addr}) the
	// envelope sender is all there is.
	tcompare(t, senderKey("", "", "<C@Example.org>"), "sender:from:c@example.org", "no login, no client")
	tcompare(t, senderKey("", "not an address", "c@example.org"), "sender:from:c@example.org", "a client that is no address")
	tcompare(t, senderKey("", "[2001:DB8::1]", "c@example.org"), "sender:client:2001:db8::1", "IPv6 client")
}

// TestGatewayRateLimitConcurrent: transactions that are between RCPT and
// end of message at the same time hold their counts, so together they
// cannot pass the limit.
func TestGatewayRateLimitConcurrent(t *testing.T) {
	now := time.Date(2026, 12, 6, 10, 0, 0, 0, time.UTC)
	g, _ := rateGateway(t, filepath.Join(t.TempDir(), "spool"), &now, RateLimitOptions{PerSender: Rate{Count: 2, Per: time.Hour}, PerNumber: RateOff()})
	var open []*Admission
	var replies []string
	for i := range 4 {
		a := &Admission{Caller: Caller{Sender: "bob@example.org", Login: "bob"}}
		open = append(open, a)
		replies = append(replies, admitReply(g, a, fmt.Sprintf("VOICE=+394022633%d@voice.example.com", i)))
	}
	tcompare(t, strings.Join(replies, ","), ",,450 4.7.1 rate-sender,450 4.7.1 rate-sender", "replies")
	for _, a := range open {
		a.Close()
	}
}

// TestParseRate: the configuration syntax of rate_limit.
func TestParseRate(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"20/1h", "20/1h"}, {" 3 / 30m ", "3/30m"}, {"100/24h", "100/24h"}, {"5/90s", "5/1m30s"}, {"off", "off"}, {"OFF", "off"},
		{"0/1h", "error"}, {"-1/1h", "error"}, {"20", "error"}, {"20/", "error"}, {"20/1ms", "error"}, {"x/1h", "error"}, {"", "error"},
	} {
		r, err := ParseRate(tc.in)
		got := r.String()
		if err != nil {
			got = "error"
		}
		tcompare(t, got, tc.want, tc.in)
	}
}

// TestGatewayMessageID (issue 9 item 12): a Message-ID with control
// characters or 1,000 characters long no longer fails Enqueue (and so
// tempfails on every retry): the job gets it cleaned and cut to 998 bytes.
func TestGatewayMessageID(t *testing.T) {
	long := "<" + strings.Repeat("a", 996) + "é@example.org>"
	for _, tc := range []struct{ name, id, want string }{
		{"control characters", "<a\x01b\x7fc\x00d\x1b[31m@example.org>", "<abcd[31m@example.org>"},
		{"tab", "<a\tb@example.org>", "<a b@example.org>"},
		{"1000 characters", long, long[:997]},
		{"invalid UTF-8", "<a\xffb@example.org>", "<ab@example.org>"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g, s := testGateway(t, true)
			m := &Message{Sender: "caller@example.org", Recipients: []Recipient{{Addr: "VOICE=+3940226338@voice.example.com"}},
				Header: []byte("Message-ID: " + tc.id + "\r\n"), Voice: ulawVoice([]byte{1, 2})}
			tcheck(t, g.HandOff(context.Background(), m), "hand-off")
			ids, _ := s.List(dirNew)
			tcompare(t, len(ids), 1, "jobs")
			j, err := s.Load(dirNew, ids[0])
			tcheck(t, err, "load")
			tcompare(t, j.Meta.MessageID, tc.want, "message-id")
		})
	}
}
