package profile

import (
	"strings"

	"github.com/vpim-milter/vpim-milter/profile/addr"
)

// parseRecipient reads an envelope recipient for the RCPT policy: the
// address addr.Parse makes of it, and its domain in lower case. For an
// address Parse cannot take apart the domain is everything after the last
// '@': a malformed local part still has a domain that decides its policy
// (a broken VOICE= address on a gateway domain must not go out as mail).
func parseRecipient(s string) (addr.Address, string) {
	s = strings.TrimSpace(strings.Trim(strings.TrimSpace(s), "<>"))
	a := addr.Parse(s)
	if a.Domain != "" {
		return a, a.Domain
	}
	return a, strings.ToLower(envelopeDomain(s))
}

// envelopeDomain is everything after the last '@' of an envelope address,
// as written ("" without one); it does not allocate.
func envelopeDomain(s string) string {
	if i := strings.LastIndexByte(s, '@'); i >= 0 {
		return s[i+1:]
	}
	return ""
}

// bridgeLocal reports whether a local part carries a VOICE=, VPIM= or AMIS=
// selector (RFC 3804 4.2.1-4.2.3), allowing the RFC 3191 quotes and slashes.
func bridgeLocal(local string) bool {
	l := strings.TrimLeft(local, "\"/")
	return hasPrefixFold(l, "VOICE=") || hasPrefixFold(l, "VPIM=") || hasPrefixFold(l, "AMIS=")
}
