package telephony

import (
	"fmt"
	"net/netip"
	"strings"
)

// RejectError is a refusal carrying the SMTP reply the milter should give at
// RCPT (code, enhanced status code, generic text). Reason, Rule and Number
// are for logs only and never reach the client.
type RejectError struct {
	Code     int    // SMTP reply code, e.g. 550
	Enhanced string // RFC 3463 enhanced status code, e.g. "5.7.1"
	Text     string // generic reply text
	Reason   string // detail for logs
	// Rule names the check that refused (see the Rule constants), "" for
	// refusals of the whole message at end of message.
	Rule string
	// Number is the normalised number the refusal is about, "" when there
	// is none (a sender refusal, an address without a number).
	Number string
}

// Error implements error.
func (e *RejectError) Error() string {
	return fmt.Sprintf("telephony: %d %s %s (%s)", e.Code, e.Enhanced, e.Text, e.Reason)
}

// Temporary reports whether the reply is a 4xx reply.
func (e *RejectError) Temporary() bool { return e.Code/100 == 4 }

// The rules a RejectError names in Rule, for logs and metrics.
const (
	RuleAddress       = "address"        // 553 5.1.3: not a dialable VOICE=/VPIM=/AMIS= address
	RuleSender        = "sender"         // 550 5.7.1: envelope sender not in allowed_senders, or <>
	RuleAuth          = "auth"           // 550 5.7.1: neither an allowed login nor a trusted network
	RuleDeny          = "deny"           // 550 5.7.1: outdial_deny
	RuleEmergency     = "emergency"      // 550 5.7.1: an emergency number
	RulePremium       = "premium"        // 550 5.7.1: premium-rate or special tariff
	RuleNANP          = "nanp"           // 550 5.7.1: a NANP number outside the USA and Canada
	RuleInternational = "international"  // 550 5.7.1: outside home_country, no allow list
	RuleAllow         = "allow"          // 550 5.7.1: matches no outdial_allow pattern
	RuleLocal         = "local"          // 550 5.7.1: a local number without a local allow pattern
	RuleMaxCalls      = "max-calls"      // 452 4.5.3: max_calls_per_message
	RuleRateSender    = "rate-sender"    // 450 4.7.1: rate_limit.per_sender
	RuleRateNumber    = "rate-number"    // 450 4.7.1: rate_limit.per_number
	RuleMessageLimits = "message-limits" // 550 5.5.3: more distinct numbers at end of message than allowed
)

// Caller is who asks for a call: what the MTA knows of the SMTP client.
type Caller struct {
	Sender string // envelope MAIL FROM without angle brackets, "" for <>
	Login  string // SMTP AUTH login ({auth_authen}), "" when not authenticated
	Client string // client IP address ({client_addr}), "" when unknown
}

// Policy is the outdial policy: who may use the gateway and which numbers
// may be dialled (RFC 3804 §5). A Policy is immutable and safe for
// concurrent use.
type Policy struct {
	home     *dialPlan // nil: no home_country, or one without a dial plan table
	homeCC   string    // "39"; "" without home_country
	plans    []dialPlan
	premium  []premiumRange
	nanp     nanpTable
	allow    []string // normalised patterns: "+digits" or local digits
	deny     []string
	senders  []string
	logins   []string
	networks []netip.Prefix
}

// NewPolicy builds the policy from the outdial and sender options (see
// Options for the meaning of each list). Patterns are validated as in
// Options.Validate.
func NewPolicy(o Options) (*Policy, error) {
	p := &Policy{plans: dialPlans(), premium: premiumRanges(), nanp: newNANPTable()}
	if h := normalizeNumber(o.HomeCountry); h != "" {
		p.homeCC = strings.TrimPrefix(h, "+")
		p.home = planFor(p.plans, p.homeCC)
	}
	for _, s := range o.OutdialAllow {
		if !validPattern(s) {
			return nil, fmt.Errorf("telephony: policy: bad allow pattern %q", s)
		}
		p.allow = append(p.allow, normalizePattern(s))
	}
	for _, s := range o.OutdialDeny {
		if !validPattern(s) {
			return nil, fmt.Errorf("telephony: policy: bad deny pattern %q", s)
		}
		p.deny = append(p.deny, normalizePattern(s))
	}
	for _, s := range o.AllowedSenders {
		p.senders = append(p.senders, strings.ToLower(strings.TrimSpace(s)))
	}
	for _, s := range o.AllowedLogins {
		p.logins = append(p.logins, strings.ToLower(strings.TrimSpace(s)))
	}
	for _, s := range o.TrustedNetworks {
		n, err := parseNetwork(s)
		if err != nil {
			return nil, fmt.Errorf("telephony: policy: %w", err)
		}
		p.networks = append(p.networks, n)
	}
	return p, nil
}

// CheckCaller decides whether c may use the gateway. It returns nil or a
// *RejectError (550 5.7.1). The null sender is always refused (a bounce
// never places a call). Then:
//
//   - with allowed_logins or trusted_networks configured, the client must
//     have authenticated with a listed login ({auth_authen}: "*" is any
//     login, "@domain" a login ending in it) or connect from a trusted
//     network ({client_addr}); when allowed_senders is set as well, the
//     envelope sender must also be listed there;
//   - without either, the envelope sender alone decides (allowed_senders:
//     "user@domain", "@domain", "domain" or "*"; empty: nobody). Any SMTP
//     client can write any MAIL FROM: this mode is weak, kept for setups
//     where the MTA itself already restricts who may send.
func (p *Policy) CheckCaller(c Caller) error {
	sender := strings.ToLower(strings.Trim(strings.TrimSpace(c.Sender), "<>"))
	if sender == "" {
		return &RejectError{Code: 550, Enhanced: "5.7.1", Text: "sender not authorized for voice outdial", Rule: RuleSender, Reason: "null sender"}
	}
	if len(p.logins) > 0 || len(p.networks) > 0 {
		if !p.loginAllowed(c.Login) && !p.clientTrusted(c.Client) {
			return &RejectError{Code: 550, Enhanced: "5.7.1", Text: "sender not authorized for voice outdial", Rule: RuleAuth,
				Reason: fmt.Sprintf("login %q is not in allowed_logins and client %q is not in trusted_networks", c.Login, c.Client)}
		}
		if len(p.senders) == 0 || p.senderAllowed(sender) {
			return nil
		}
	} else if p.senderAllowed(sender) {
		return nil
	}
	return &RejectError{Code: 550, Enhanced: "5.7.1", Text: "sender not authorized for voice outdial", Rule: RuleSender, Reason: fmt.Sprintf("sender %q is not in allowed_senders", sender)}
}

// CheckNumber decides whether number (a dial string, see normalizeDial)
// may be dialled and returns it normalised: the form the job dials. It
// returns a *RejectError with 553 5.1.3 for a number that cannot be
// dialled and 550 5.7.1 for a policy refusal. Rules, in order, on the
// normalised form:
//
//  1. deny patterns refuse (deny wins); "+" patterns apply to "+" numbers,
//     patterns without "+" to local numbers only;
//  2. emergency numbers of the home country (local, also behind a PBX's
//     outside-line digit 8 or 9 or the trunk prefix: "9911", "1911") or
//     of the number's country are refused;
//  3. premium-rate and special-tariff ranges (premiumRanges, with the
//     non-geographic 979, 808, 870, 881, 882 and 883; the NANP NXX 976,
//     the home country's premium short numbers) are refused unless an
//     allow pattern at least as long as the range matches;
//  4. a "+1" number without exactly ten digits after the country code is
//     no number (553 5.1.3); a NANP number outside the USA and Canada (the Caribbean, Bermuda,
//     the US territories, non-geographic and unlisted NPAs) is refused
//     unless an allow pattern names at least its area code ("+1876");
//  5. a local number (extension, short number) must match a local allow
//     pattern;
//  6. with an allow list a "+" number must match a "+" pattern; without
//     one it must be in home_country (international numbers are refused).
func (p *Policy) CheckNumber(number string) (string, error) {
	if p.home != nil && contains(p.home.emergency, normalizeNumber(number)) {
		// before normalising: Australia's 000 looks like an access code
		return "", &RejectError{Code: 550, Enhanced: "5.7.1", Text: "number not allowed for voice outdial", Rule: RuleEmergency, Number: normalizeNumber(number),
			Reason: fmt.Sprintf("number %q is an emergency number of %s", number, p.home.name)}
	}
	nn, err := normalizeDial(number, p.home)
	if err != nil {
		return "", &RejectError{Code: 553, Enhanced: "5.1.3", Text: "number cannot be dialled", Rule: RuleAddress, Reason: err.Error()}
	}
	n := nn.n
	refuse := func(rule, format string, args ...any) (string, error) {
		return "", &RejectError{Code: 550, Enhanced: "5.7.1", Text: "number not allowed for voice outdial", Rule: rule, Number: n,
			Reason: fmt.Sprintf("number %s (written %q): ", n, number) + fmt.Sprintf(format, args...)}
	}
	if pat, ok := matchPattern(p.deny, n); ok {
		return refuse(RuleDeny, "denied by outdial_deny %q", pat)
	}
	if nn.kind == kindLocal {
		if p.home != nil && contains(p.home.emergency, n) || p.home == nil && (n == "112" || n == "911") {
			return refuse(RuleEmergency, "an emergency number")
		}
		if p.emergencyBehindPrefix(n) {
			return refuse(RuleEmergency, "an emergency number behind an outside-line or trunk prefix")
		}
		if p.home != nil {
			for _, sp := range p.home.shortPremium {
				if strings.HasPrefix(n, sp) && !p.allowedAtLeast(n, len(sp)) {
					return refuse(RulePremium, "%s premium short number %s...", p.home.name, sp)
				}
			}
		}
		if _, ok := matchPattern(p.allow, n); !ok {
			return refuse(RuleLocal, "a local number needs an outdial_allow pattern without \"+\"")
		}
		return n, nil
	}
	plan, nsn := planOf(p.plans, n)
	if plan != nil && contains(plan.emergency, nsn) {
		return refuse(RuleEmergency, "an emergency number of %s", plan.name)
	}
	for _, pr := range p.premium {
		if strings.HasPrefix(n, pr.prefix) && (pr.maxLen == 0 || len(n) <= pr.maxLen) && !p.allowedAtLeast(n, len(pr.prefix)) {
			return refuse(RulePremium, "premium rate (%s, %s)", pr.prefix, pr.what)
		}
	}
	if d, ok := strings.CutPrefix(n, "+1"); ok {
		if len(d) != 10 {
			// NANPA: every NANP number is NPA-NXX-XXXX.
			return "", &RejectError{Code: 553, Enhanced: "5.1.3", Text: "number cannot be dialled", Rule: RuleAddress, Number: n,
				Reason: fmt.Sprintf("number %s (written %q) is no NANP number: +1 takes exactly 10 digits", n, number)}
		}
		if d[3:6] == "976" && !p.allowedAtLeast(n, len("+1NPA976")) {
			return refuse(RulePremium, "premium rate (NANP exchange 976)")
		}
		if where := p.nanp.where(d); where != "" && !p.allowedAtLeast(n, len("+1NPA")) {
			return refuse(RuleNANP, "a NANP number in %s, international-like: it needs an outdial_allow pattern naming its area code", where)
		}
	}
	if len(p.allow) > 0 {
		if _, ok := matchPattern(p.allow, n); !ok {
			return refuse(RuleAllow, "matches no outdial_allow pattern (patterns without \"+\" only match local numbers)")
		}
		return n, nil
	}
	if p.homeCC == "" || !strings.HasPrefix(n, "+"+p.homeCC) {
		return refuse(RuleInternational, "international (home_country %q) and there is no outdial_allow list", "+"+p.homeCC)
	}
	return n, nil
}

// emergencyBehindPrefix reports whether the local number n is an emergency
// number of the home country (112 and 911 without one) behind one of the
// accessDigits or the home country's trunk prefix: "9911", "1911", "9112".
func (p *Policy) emergencyBehindPrefix(n string) bool {
	emergency, prefixes := []string{"112", "911"}, []string{}
	for _, d := range accessDigits {
		prefixes = append(prefixes, string(d))
	}
	if p.home != nil {
		emergency = p.home.emergency
		if p.home.trunk != "" {
			prefixes = append(prefixes, p.home.trunk)
		}
	}
	for _, pre := range prefixes {
		if rest, ok := strings.CutPrefix(n, pre); ok && contains(emergency, rest) {
			return true
		}
	}
	return false
}

// allowedAtLeast reports whether an allow pattern of at least minLen
// characters matches n.
func (p *Policy) allowedAtLeast(n string, minLen int) bool {
	for _, a := range p.allow {
		if len(a) >= minLen && strings.HasPrefix(n, a) {
			return true
		}
	}
	return false
}

func (p *Policy) senderAllowed(s string) bool {
	at := strings.LastIndexByte(s, '@')
	domain := ""
	if at >= 0 {
		domain = s[at+1:]
	}
	for _, a := range p.senders {
		switch {
		case a == "*":
			return true
		case strings.HasPrefix(a, "@"):
			if domain == a[1:] {
				return true
			}
		case !strings.Contains(a, "@"):
			if domain == a {
				return true
			}
		case a == s:
			return true
		}
	}
	return false
}

// loginAllowed matches an SMTP AUTH login against allowed_logins: "*" is
// any login, "@domain" a login ending in "@domain", anything else the
// login itself; case is ignored.
func (p *Policy) loginAllowed(login string) bool {
	l := strings.ToLower(strings.TrimSpace(login))
	if l == "" {
		return false
	}
	for _, a := range p.logins {
		switch {
		case a == "*", a == l:
			return true
		case strings.HasPrefix(a, "@") && strings.HasSuffix(l, a):
			return true
		}
	}
	return false
}

// clientTrusted reports whether the client address ({client_addr}: an IP
// address; Sendmail writes IPv6 ones as "IPv6:..." ) is in
// trusted_networks.
func (p *Policy) clientTrusted(client string) bool {
	a, ok := clientAddr(client)
	if !ok {
		return false
	}
	for _, n := range p.networks {
		if n.Contains(a) {
			return true
		}
	}
	return false
}

// clientAddr reads the MTA's {client_addr}: an IPv4 or IPv6 address, also
// as "IPv6:…" or in brackets; an IPv4-mapped IPv6 address is the IPv4 one.
func clientAddr(client string) (netip.Addr, bool) {
	c := strings.TrimSpace(client)
	if len(c) > 5 && strings.EqualFold(c[:5], "ipv6:") {
		c = c[5:]
	}
	c = strings.Trim(c, "[]")
	a, err := netip.ParseAddr(c)
	if err != nil {
		return netip.Addr{}, false
	}
	return a.Unmap().WithZone(""), true
}

// parseNetwork reads a trusted_networks entry: a CIDR prefix
// ("192.0.2.0/24", "2001:db8::/32") or one address.
func parseNetwork(s string) (netip.Prefix, error) {
	s = strings.TrimSpace(s)
	if strings.Contains(s, "/") {
		n, err := netip.ParsePrefix(s)
		if err != nil {
			return netip.Prefix{}, fmt.Errorf("%q is not a network such as \"192.0.2.0/24\"", s)
		}
		return n.Masked(), nil
	}
	a, err := netip.ParseAddr(s)
	if err != nil || a.Zone() != "" {
		return netip.Prefix{}, fmt.Errorf("%q is not an address or a network such as \"192.0.2.0/24\"", s)
	}
	a = a.Unmap()
	return netip.PrefixFrom(a, a.BitLen()), nil
}

// matchPattern returns the first pattern that is a prefix of n: "+"
// patterns only for "+" numbers, the others only for local numbers.
func matchPattern(pats []string, n string) (string, bool) {
	global := strings.HasPrefix(n, "+")
	for _, p := range pats {
		if strings.HasPrefix(p, "+") == global && strings.HasPrefix(n, p) {
			return p, true
		}
	}
	return "", false
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// normalizeNumber strips written separators ("-", "." per DIGEST §4.1
// written-sep) and blanks.
func normalizeNumber(s string) string {
	return strings.Map(func(r rune) rune {
		switch r {
		case '-', '.', ' ', '\t':
			return -1
		}
		return r
	}, strings.TrimSpace(s))
}

func normalizePattern(s string) string {
	return strings.TrimSuffix(normalizeNumber(s), "*")
}

// validPattern accepts "+", "+digits" or "digits", optionally ending in "*".
func validPattern(s string) bool {
	n := normalizePattern(s)
	if n == "+" {
		return true
	}
	return n != "" && allDigits(strings.TrimPrefix(n, "+"))
}

// isDialable accepts "+" with 1-15 digits (E.164) or 1-20 digits.
func isDialable(n string) bool {
	if d, ok := strings.CutPrefix(n, "+"); ok {
		return len(d) >= 1 && len(d) <= 15 && allDigits(d)
	}
	return len(n) >= 1 && len(n) <= 20 && allDigits(n)
}

func allDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}
