package profile

import "strings"

// rcptAddr is the part of a recipient address the RCPT policy needs.
type rcptAddr struct {
	local, domain string
	bridge        bool // a VOICE=, VPIM= or AMIS= service selector (RFC 3804 4.2)
}

// parseRcpt splits an envelope address at its last '@' and recognises the
// service selectors that route to the telephony bridge.
func parseRcpt(s string) rcptAddr {
	s = strings.TrimSpace(strings.Trim(s, "<>"))
	var a rcptAddr
	i := strings.LastIndexByte(s, '@')
	if i < 0 {
		a.local = s
	} else {
		a.local, a.domain = s[:i], strings.ToLower(s[i+1:])
	}
	a.bridge = bridgeLocal(a.local)
	return a
}

// bridgeLocal reports whether a local part carries a VOICE=, VPIM= or AMIS=
// selector (RFC 3804 4.2.1-4.2.3), allowing the RFC 3191 quotes and slashes.
func bridgeLocal(local string) bool {
	l := strings.TrimLeft(local, "\"/")
	return hasPrefixFold(l, "VOICE=") || hasPrefixFold(l, "VPIM=") || hasPrefixFold(l, "AMIS=")
}
