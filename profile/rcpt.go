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

// gatewayRecipient reports whether a recipient (parsed by
// parseRecipient) is at one of the telephony gateway domains and is not
// the postmaster there (RFC 5321 4.5.1: postmaster must reach a person,
// never the bridge).
func gatewayRecipient(gateways []string, a addr.Address, domain string) bool {
	return domain != "" && inList(gateways, domain) && a.Special != addr.SpecialPostmaster && !strings.EqualFold(a.Local, addr.SpecialPostmaster)
}
