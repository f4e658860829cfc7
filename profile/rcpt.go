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
// never the bridge). A local part that routes to a gateway domain counts as
// at that domain (localRouted).
func gatewayRecipient(gateways []string, a addr.Address, domain string) bool {
	if domain == "" || a.Special == addr.SpecialPostmaster || strings.EqualFold(a.Local, addr.SpecialPostmaster) {
		return false
	}
	if inList(gateways, domain) {
		return true
	}
	local := a.Local
	if local == "" {
		// An address Parse cannot take apart (VOICE=…%gw.@host: a dot
		// ends the local part) still has one, which an MTA may route.
		in := strings.TrimSpace(strings.Trim(strings.TrimSpace(a.Input), "<>"))
		if i := strings.LastIndexByte(in, '@'); i >= 0 {
			local = strings.Trim(in[:i], `"`)
		}
	}
	return localRouted(gateways, local)
}

// localRouted reports whether the local part local routes to a gateway
// domain. An MTA delivers user%domain@host and domain!user@host, when host
// is one of its own domains, to user@domain: Postfix takes the rightmost
// "%" (allow_percent_hack, on by default) or the first "!" (swap_bangpath,
// on by default) and repeats while the domain is its own, and Sendmail
// routes both likewise. So VOICE=+39…%voice.example.com@<a local domain>
// reached the gateway domain as mail (redteam R4b). Any "%"- or
// "!"-separated segment naming a gateway domain (a trailing root dot
// ignored) counts, unless one names the postmaster.
func localRouted(gateways []string, local string) bool {
	if !strings.ContainsAny(local, "%!") {
		return false
	}
	routed := false
	for seg := range strings.FieldsFuncSeq(local, func(r rune) bool { return r == '%' || r == '!' }) {
		if strings.EqualFold(seg, addr.SpecialPostmaster) {
			return false
		}
		routed = routed || inList(gateways, strings.TrimSuffix(seg, "."))
	}
	return routed
}
