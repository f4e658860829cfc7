package telephony

import (
	"fmt"
	"strings"
)

// RejectError is a refusal carrying the SMTP reply the milter should give at
// RCPT (code, enhanced status code, generic text). Reason is for logs only and
// never reaches the client.
type RejectError struct {
	Code     int    // SMTP reply code, e.g. 550
	Enhanced string // RFC 3463 enhanced status code, e.g. "5.7.1"
	Text     string // generic reply text
	Reason   string // detail for logs
}

// Error implements error.
func (e *RejectError) Error() string {
	return fmt.Sprintf("telephony: %d %s %s (%s)", e.Code, e.Enhanced, e.Text, e.Reason)
}

// Temporary reports whether the reply is a 4xx reply.
func (e *RejectError) Temporary() bool { return e.Code/100 == 4 }

// defaultPremium lists E.164 premium-rate prefixes denied unless an allow
// pattern at least as long matches. From memory, not from a numbering plan:
// extend it with outdial_deny. (RFC 3804 §5: must not blindly outdial
// international or premium-rate numbers.)
func defaultPremium() []string {
	return []string{
		"+1900", "+1976", // NANP
		"+449",             // UK 09
		"+49900", "+49137", // DE
		"+3389",                     // FR 089x
		"+3989", "+39899", "+39892", // IT
		"+34803", "+34806", "+34807", // ES
		"+6119", // AU 19xx
	}
}

// Policy is the outdial policy: which numbers may be dialled and which
// envelope senders may use the gateway (RFC 3804 §5). A Policy is immutable
// and safe for concurrent use.
type Policy struct {
	home    string
	allow   []string
	deny    []string
	senders []string
}

// NewPolicy builds the policy from the outdial options (see Options for the
// meaning of each list). Patterns are validated as in Options.Validate.
func NewPolicy(o Options) (*Policy, error) {
	p := &Policy{home: normalizeNumber(o.HomeCountry)}
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
	return p, nil
}

// Check decides whether sender may have number dialled. It returns nil or a
// *RejectError (550 5.7.1 for policy refusals, 553 5.1.3 for a number that
// cannot be dialled). Rules, in order:
//
//  1. the sender must be listed in AllowedSenders ("*" = anyone); the null
//     sender is always refused;
//  2. the number must be "+" and 1-15 digits, or 1-20 digits (written
//     separators "-" and "." are ignored, DIGEST §4.1);
//  3. a deny prefix match refuses (deny wins);
//  4. with a non-empty allow list the number must match an allow prefix;
//  5. without an allow list: local (non-"+") numbers, international numbers
//     (outside HomeCountry) and premium-rate numbers are refused.
//
// Built-in premium prefixes are lifted only by an allow pattern at least as
// long as the premium prefix, so allow = ["+"] does not open +1900.
func (p *Policy) Check(sender, number string) error {
	if !p.senderAllowed(sender) {
		return &RejectError{Code: 550, Enhanced: "5.7.1", Text: "sender not authorized for voice outdial", Reason: fmt.Sprintf("sender %q not in allowed_senders", sender)}
	}
	n := normalizeNumber(number)
	if !isDialable(n) {
		return &RejectError{Code: 553, Enhanced: "5.1.3", Text: "number cannot be dialled", Reason: fmt.Sprintf("number %q is not dialable", number)}
	}
	if pat, ok := matchPrefix(p.deny, n); ok {
		return &RejectError{Code: 550, Enhanced: "5.7.1", Text: "number not allowed for voice outdial", Reason: fmt.Sprintf("number %s denied by %q", n, pat)}
	}
	for _, prem := range defaultPremium() {
		if strings.HasPrefix(n, prem) && !p.allowedAtLeast(n, len(prem)) {
			return &RejectError{Code: 550, Enhanced: "5.7.1", Text: "number not allowed for voice outdial", Reason: fmt.Sprintf("number %s is premium-rate (%s)", n, prem)}
		}
	}
	if len(p.allow) > 0 {
		if _, ok := matchPrefix(p.allow, n); !ok {
			return &RejectError{Code: 550, Enhanced: "5.7.1", Text: "number not allowed for voice outdial", Reason: fmt.Sprintf("number %s matches no allow pattern", n)}
		}
		return nil
	}
	switch {
	case !strings.HasPrefix(n, "+"):
		return &RejectError{Code: 550, Enhanced: "5.7.1", Text: "number not allowed for voice outdial", Reason: fmt.Sprintf("local number %s needs an allow pattern", n)}
	case p.home == "" || !strings.HasPrefix(n, p.home):
		return &RejectError{Code: 550, Enhanced: "5.7.1", Text: "number not allowed for voice outdial", Reason: fmt.Sprintf("international number %s needs an allow pattern", n)}
	}
	return nil
}

func (p *Policy) allowedAtLeast(n string, minLen int) bool {
	for _, a := range p.allow {
		if len(a) >= minLen && strings.HasPrefix(n, a) {
			return true
		}
	}
	return false
}

func (p *Policy) senderAllowed(sender string) bool {
	s := strings.ToLower(strings.Trim(strings.TrimSpace(sender), "<>"))
	if s == "" {
		return false
	}
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

func matchPrefix(pats []string, n string) (string, bool) {
	for _, p := range pats {
		if strings.HasPrefix(n, p) {
			return p, true
		}
	}
	return "", false
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
