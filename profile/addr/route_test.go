package addr

import "testing"

// TestParseRoutedDomain (redteam R4): an address an MTA still delivers to a
// domain although it is not an RFC 5322 addr-spec stays invalid, but Parse
// names that domain, so a caller routing by domain (the gateway domains of
// the telephony bridge) refuses it instead of passing it on as mail.
// Through a real Postfix, RCPT TO:<VOICE=+3940226302@voice.example.com.>,
// <voice.example.com!VOICE=+3940226305> and
// <"VOICE=+3940226310@voice.example.com"> were accepted and delivered to
// VOICE=+39…@voice.example.com as ordinary mail, although README says every
// address at a gateway domain is called or refused with 553 5.1.3 and
// "never delivered as mail": Postfix strips the root dot (trivial-rewrite),
// swaps the bang path (swap_bangpath = yes) and routes a quoted local part
// on its last "@" (its internal form), while Parse gave no domain for them.
func TestParseRoutedDomain(t *testing.T) {
	cases := []struct {
		name, in      string
		local, domain string
		err           string
	}{
		{"root dot", "VOICE=+3940226302@Voice.Example.com.", "VOICE=+3940226302", "voice.example.com", `domain: trailing "." (RFC 5321 4.1.2)`},
		{"root dot in brackets", "<2722@example.com.>", "2722", "example.com", `domain: trailing "." (RFC 5321 4.1.2)`},
		{"bang path", "voice.example.com!VOICE=+3940226305", "voice.example.com!VOICE=+3940226305", "voice.example.com", "missing @domain"},
		{"bang path, two hops", "gw.example!relay.example!joe", "gw.example!relay.example!joe", "gw.example", "missing @domain"},
		{"whole address quoted", `"VOICE=+3940226310@voice.example.com"`, "VOICE=+3940226310@voice.example.com", "voice.example.com", "missing @domain"},
		// no domain an MTA would deliver to: nothing is made up
		{"two root dots", "joe@example.com..", "", "", "domain: empty label (RFC 5321 4.1.2)"},
		{"bare local part", "joe", "joe", "", "missing @domain"},
		{"bang path to a bad host", "-bad-!joe", "-bad-!joe", "", "missing @domain"},
		{"quoted at sign, bad domain", `"joe@"`, "joe@", "", "missing @domain"},
		{"only a dot", "joe@.", "", "", "domain: empty label (RFC 5321 4.1.2)"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			a := Parse(c.in)
			if a.Valid || a.Error != c.err || a.Local != c.local || a.Domain != c.domain {
				t.Errorf("Parse(%q) = valid %v, error %q, local %q, domain %q; want invalid, %q, %q, %q",
					c.in, a.Valid, a.Error, a.Local, a.Domain, c.err, c.local, c.domain)
			}
			if a.IsVoice() || a.DialString() != "" {
				t.Errorf("Parse(%q): an invalid address is no voice address and has nothing to dial", c.in)
			}
		})
	}
}
