package addr

import (
	"errors"
	"fmt"
	"strings"
)

// MaxLen is the longest input Parse looks at, in bytes. Longer input is
// invalid. It is well above the 256-octet path limit of RFC 5321 4.5.3.1.3
// and bounds the work done on hostile input.
const MaxLen = 1024

// maxLocal is the local-part limit of RFC 5321 4.5.3.1.1. Longer local parts
// are accepted with a warning: RFC 2846 3.2 only asks to respect the e-mail
// limits, and long qualifier lists exist in practice.
const maxLocal = 64

// maxDomain is the domain limit of RFC 5321 4.5.3.1.2.
const maxDomain = 255

// The kinds of address. Kind names the form of the local part.
const (
	// KindVPIM is the native VPIM v2 numeric local part of RFC 3801 4.1.1:
	// mailbox number, mailbox number+extension, +international number,
	// +international number+extension. Service is empty.
	KindVPIM = "vpim"
	// KindPSTN is a GSTN service-selector local part (RFC 3191 2, RFC 2846,
	// RFC 3804 4.2): VOICE=, FAX=, VPIM=, AMIS=, SMS= or another selector.
	// Service holds the selector in upper case. The selector-less
	// vpim-mbox of RFC 3804 4.2.1 ("7035255550/EXT=227") is also KindPSTN,
	// with Service "VPIM".
	KindPSTN = "pstn"
	// KindSpecial is postmaster, non-mail-user or loopback (see Special).
	KindSpecial = "special"
	// KindPlain is any other valid RFC 5322 addr-spec: an e-mail user.
	KindPlain = "plain"
)

// The special local parts (Address.Special), lower case.
const (
	// SpecialPostmaster MUST exist on every system (RFC 3801 4.1.2,
	// RFC 5321 4.5.1; DIGEST D1-ADDR-PM, V2-ADDR-PM). Never a bridge target.
	SpecialPostmaster = "postmaster"
	// SpecialNonMailUser is the originator of mail that cannot be replied
	// to; mail addressed to it MUST be rejected with 5.1.1 (RFC 3801 4.1.2;
	// DIGEST V2-ADDR-NMU).
	SpecialNonMailUser = "non-mail-user"
	// SpecialLoopback reflects test messages to the sender. It is special
	// only in the v1 profiles (draft-umig 5.1, RFC 1911; DIGEST
	// D1-ADDR-LOOP); under VPIM v2 it is an ordinary (unknown) mailbox.
	// Parse reports it as special; the caller applies the profile.
	SpecialLoopback = "loopback"
)

// ErrInvalid is wrapped by the error [Address.Err] returns for an invalid
// address.
var ErrInvalid = errors.New("addr: invalid address")

// Address is the parse of one voice-mail address. The JSON form is the
// `vpim-milter addr --json` contract of DESIGN.md: input, valid, kind,
// service, number, extension, post_dial, isub, sysnum and error are always
// present; the other members are omitted when empty.
//
// Mapping of the DIGEST 4.2 "expected parse" column: "G" (global-phone) is
// Number with a leading "+", "L" (local-phone) is Number without it, "ext"
// is Extension, "ISDN subaddress" is ISub, "T.33 subaddress" is T33S,
// "post-dial" is PostDial, "DL" is DL, "ATTN" is Attn, the AMIS mailbox
// and system number parts are in AMIS, and "lenient" is a valid address
// with Warnings.
type Address struct {
	// Input is the string given to Parse, unchanged.
	Input string `json:"input"`
	// Valid reports whether the address is acceptable (possibly only
	// leniently, see Warnings).
	Valid bool `json:"valid"`
	// Kind is KindVPIM, KindPSTN, KindSpecial or KindPlain; empty when the
	// input is not an addr-spec at all.
	Kind string `json:"kind"`
	// Service is the service selector in upper case (VOICE, FAX, VPIM,
	// AMIS, SMS, ...) for KindPSTN, else empty.
	Service string `json:"service"`
	// Number is the telephone or mailbox number with written separators
	// ("-", ".") removed, RFC 3191 2.1: "+" and digits for a global
	// (E.164) number; digits and the dial characters # * A-D p w for a
	// local-phone (RFC 2846 2.1; pause "p" and tonewait "w" lower case,
	// A-D upper case). For AMIS-A it is the mailbox's PSTN number
	// ("+" country area local) or private number; for AMIS-D the mailbox
	// id; empty for an opaque AMIS mailbox.
	Number string `json:"number"`
	// Extension is the VPIM extension (RFC 3801 4.1.1 "+ext", RFC 3804
	// 4.2.1 "/EXT=" or "+") or the AMIS-D mailbox extension.
	Extension string `json:"extension"`
	// PostDial is the DTMF sequence dialled after the call is connected
	// (RFC 2846 2.3 "/POSTD="), separators removed.
	PostDial string `json:"post_dial"`
	// ISub is the ISDN subaddress (RFC 2846 2.2 "/ISUB="), separators
	// removed.
	ISub string `json:"isub"`
	// SysNum is the AMIS system number (RFC 3804 4.2.3 "/SYSNUM="),
	// normalised like Number: "+" country area local for a PSTN number,
	// the local number for a private number, the digits as written for
	// the draft's separator-less form.
	SysNum string `json:"sysnum"`
	// Error says why the address is invalid; empty when Valid.
	Error string `json:"error"`

	// T33S is the fax T.33 subaddress (RFC 2304 2 "/T33S=").
	T33S string `json:"t33s,omitempty"`
	// DL is the VPIM distribution list (RFC 3804 4.2.1 "/DL=").
	DL string `json:"dl,omitempty"`
	// Special is the special local part (SpecialPostmaster, ...) for
	// KindSpecial.
	Special string `json:"special,omitempty"`
	// Attn is the recipient name (RFC 2846 3.1 "/ATTN=").
	Attn *Name `json:"attn,omitempty"`
	// AMIS details the AMIS mailbox for Service "AMIS".
	AMIS *AMIS `json:"amis,omitempty"`
	// Qualifiers are the other qualif-type1 / qualif-type2 elements in
	// input order. RFC 3191 2: implementations MUST preserve them.
	Qualifiers []Qualifier `json:"qualifiers,omitempty"`
	// Warnings list the ways a valid address departs from the strict
	// grammar (DIGEST 4.1) or from the minimal form of its service.
	Warnings []string `json:"warnings,omitempty"`

	// Local is the local part, unquoted (quoted-pairs resolved).
	Local string `json:"-"`
	// Domain is the domain in lower case; empty for a bare "postmaster"
	// (RFC 5321 4.1.1.3). An invalid address has one too when an MTA
	// still delivers it to a domain (see routedDomain): a caller that
	// routes by domain can then refuse it there.
	Domain string `json:"-"`
}

// Name is a pers-name (RFC 2846 3.1): [givenname "."] [initials "."]
// surname.
type Name struct {
	Given    string `json:"given,omitempty"`
	Initials string `json:"initials,omitempty"`
	Surname  string `json:"surname"`
}

// Qualifier is one "/keyword=value" element that Parse does not interpret
// (RFC 3191 2 qualif-type1, RFC 2846 3.2 qualif-type2). Key is upper case.
type Qualifier struct {
	Key   string `json:"key"`
	Value string `json:"value"`
}

// The forms of an AMIS mailbox (AMIS.Form).
const (
	AMISPSTN    = "pstn"    // AMIS-A amis-PSTN-number: cc+area+local+
	AMISPrivate = "private" // AMIS-A amis-private-number: 0++local+
	AMISD       = "d"       // AMIS-D: [numberplan+]id[+extension]
	AMISOpaque  = "opaque"  // fits neither; kept as written (lenient)
)

// AMIS is the structure of an AMIS mailbox (RFC 3804 4.2.3,
// draft-ema-vpim-address-00 4.1.3).
type AMIS struct {
	// Mailbox is the amis-mailbox as written.
	Mailbox string `json:"mailbox"`
	// Form is AMISPSTN, AMISPrivate, AMISD or AMISOpaque.
	Form string `json:"form,omitempty"`
	// CountryCode, AreaCode and LocalNumber are the AMIS-A parts
	// (LocalNumber also for the private form).
	CountryCode string `json:"country_code,omitempty"`
	AreaCode    string `json:"area_code,omitempty"`
	LocalNumber string `json:"local_number,omitempty"`
	// NumberPlan and ID are the AMIS-D parts; the AMIS-D extension is in
	// Address.Extension.
	NumberPlan string `json:"number_plan,omitempty"`
	ID         string `json:"id,omitempty"`
	// SysNum is the /SYSNUM= value as written.
	SysNum string `json:"sysnum,omitempty"`
}

// Global reports whether the number is a global (E.164) number, written
// with a leading "+" (RFC 3191 2.1, RFC 3801 4.1.1).
func (a Address) Global() bool { return strings.HasPrefix(a.Number, "+") }

// Strict reports whether the address is valid without leniency: it follows
// the strict grammar of DIGEST 4.1 and the minimal form of its service.
func (a Address) Strict() bool { return a.Valid && len(a.Warnings) == 0 }

// Err returns nil for a valid address, else an error wrapping [ErrInvalid]
// that names the input and the reason.
func (a Address) Err() error {
	if a.Valid {
		return nil
	}
	return fmt.Errorf("%w %q: %s", ErrInvalid, a.Input, a.Error)
}

// IsVoice reports whether the address names a telephone or voice mailbox
// (KindVPIM, or KindPSTN with service VOICE, VPIM or AMIS): mail for it can
// go to a voice-mail system or the telephony bridge.
func (a Address) IsVoice() bool {
	if !a.Valid {
		return false
	}
	switch a.Kind {
	case KindVPIM:
		return true
	case KindPSTN:
		return a.Service == "VOICE" || a.Service == "VPIM" || a.Service == "AMIS"
	}
	return false
}

// DialString returns the number a telephony gateway dials for the address:
// Number for KindVPIM and KindPSTN, except for AMIS, where it is the system
// number (SysNum) when given, else the AMIS-A mailbox number (AMIS-D ids
// are not dialable). It has no separators: "+" and digits for a global
// number, or the local-phone dial characters (digits # * A-D p w); the
// post-dial sequence and extensions are not part of it. It returns "" for
// invalid, special and plain addresses. Normalize(a.DialString()) ==
// a.DialString(), so outdial allow/deny prefixes normalised with
// [Normalize] compare directly (DESIGN.md [telephony] outdial_allow).
func (a Address) DialString() string {
	if !a.Valid || (a.Kind != KindVPIM && a.Kind != KindPSTN) {
		return ""
	}
	if a.Service == "AMIS" {
		if a.SysNum != "" {
			return a.SysNum
		}
		if a.AMIS != nil && (a.AMIS.Form == AMISPSTN || a.AMIS.Form == AMISPrivate) {
			return a.Number
		}
		return ""
	}
	return a.Number
}

// Normalize returns a telephone number as written by a person or a
// configuration file in the form of [Address.DialString]: a "+" is kept
// when no character has been kept before it; digits, "#"
// and "*" are kept, DTMF letters A-D upper-cased, pause "p" and tonewait
// "w" lower-cased (RFC 2846 2.1); every other character (written
// separators "-" "." of RFC 3191 2.1, spaces, parentheses, a later "+") is
// dropped. Normalize("+1 (613) 763-7582") == "+16137637582". It is
// idempotent.
func Normalize(number string) string {
	var b strings.Builder
	for i := 0; i < len(number); i++ {
		c := number[i]
		switch {
		case c == '+':
			if b.Len() == 0 {
				b.WriteByte('+')
			}
		default:
			if d, ok := phoneChar(c); ok {
				b.WriteByte(d)
			}
		}
	}
	return b.String()
}

// phoneChar returns c as a dial string holds it when c is one of RFC 2846
// 2.1's DTMF / pause / tonewait characters: digits, "#" and "*" as they
// are, DTMF A-D upper-cased, pause "p" and tonewait "w" lower-cased (both
// case insensitive). ok is false for every other character.
func phoneChar(c byte) (d byte, ok bool) {
	switch {
	case isDigit(c), c == '#', c == '*', c >= 'A' && c <= 'D':
		return c, true
	case c >= 'a' && c <= 'd':
		return c - 'a' + 'A', true
	case c == 'p', c == 'P':
		return 'p', true
	case c == 'w', c == 'W':
		return 'w', true
	}
	return 0, false
}

// Parse parses one address: an addr-spec (RFC 5322 3.4.1) with an
// optional pair of angle brackets and surrounding white space, or a bare
// "postmaster" (RFC 5321 4.1.1.3). It never panics and always returns an
// Address whose Input is s; see Address.Valid and Address.Error.
func Parse(s string) Address {
	a := Address{Input: s}
	if len(s) > MaxLen {
		return a.invalid(fmt.Sprintf("longer than %d bytes", MaxLen))
	}
	t := strings.TrimSpace(s)
	if len(t) >= 2 && t[0] == '<' && t[len(t)-1] == '>' {
		t = t[1 : len(t)-1]
	}
	local, domain, quoted, msg := splitAddrSpec(t)
	if msg != "" {
		if l, d, _, m := splitAddrSpec(strings.TrimSuffix(t, ".")); strings.HasSuffix(t, ".") && m == "" && d != "" && d[0] != '[' {
			// RFC 5321 4.1.2: a Domain has no root dot, but MTAs strip
			// it (Postfix trivial-rewrite) and deliver to the domain.
			a.Local, a.Domain = l, d
			msg = `domain: trailing "." (RFC 5321 4.1.2)`
		}
		return a.invalid(msg)
	}
	a.Local, a.Domain = local, domain
	if len(local) > maxLocal || (quoted && len(local)+2 > maxLocal) {
		a.warn(fmt.Sprintf("local part longer than %d octets (RFC 5321 4.5.3.1.1)", maxLocal))
	}
	if domain == "" && !strings.EqualFold(local, SpecialPostmaster) {
		a.Domain = routedDomain(local, quoted)
		return a.invalid("missing @domain")
	}
	if sp := special(local); sp != "" {
		a.Kind, a.Special = KindSpecial, sp
		a.Valid = true
		return a
	}
	a.parseLocal(local)
	return a
}

// parseLocal interprets the unquoted local part: service selector forms
// first, then the native VPIM v2 forms, else a plain mailbox.
func (a *Address) parseLocal(local string) {
	// RFC 3191 4, RFC 3804 4.3: optional "/" around the pstn-address; MUST
	// accept, gateways may strip.
	body := strings.TrimSuffix(strings.TrimPrefix(local, "/"), "/")
	if sel, value, ok := cutSelector(body); ok {
		service := strings.ToUpper(sel)
		if known(service) {
			a.Kind, a.Service = KindPSTN, service
			a.parsePSTN(value)
			return
		}
		// An unknown selector (RFC 3191 7: registrable) is a GSTN address
		// only when it has the minimal form with a global-phone; anything
		// else with "=" is an ordinary mailbox (VERP, SRS, ...).
		try := Address{Input: a.Input, Local: a.Local, Domain: a.Domain, Warnings: a.Warnings, Kind: KindPSTN, Service: service}
		try.parsePSTN(value)
		if try.Valid && try.Global() {
			*a = try
			return
		}
		a.plain()
		return
	}
	if a.parseNative(local) {
		return
	}
	// RFC 3804 4.2.1: vpim-mbox = [ "VPIM=" ] gstn-phone ...: a numeric
	// local part followed by qualifiers is VPIM submission without the
	// selector.
	// The optional slashes of RFC 3804 4.3.1 vpim-email apply here too.
	if startsNumeric(body) && strings.Contains(body, "/") {
		try := Address{Input: a.Input, Local: a.Local, Domain: a.Domain, Warnings: a.Warnings, Kind: KindPSTN, Service: "VPIM"}
		try.parsePSTN(body)
		if try.Valid {
			*a = try
			return
		}
	}
	a.plain()
}

// routedDomain is the domain an MTA delivers a local part without
// "@domain" to, "" when there is none: the last "@" of a quoted local
// part that holds a whole address (`"user@host"`: Postfix's internal form
// is unquoted and resolves on its last "@"), or the first host of a UUCP
// bang path ("host!user", which Postfix rewrites to user@host with
// swap_bangpath = yes and Sendmail hands to its relay). Such addresses are
// not RFC 5322 addr-specs and stay invalid.
func routedDomain(local string, quoted bool) string {
	var d string
	switch {
	case quoted && strings.Contains(local, "@"):
		d = local[strings.LastIndexByte(local, '@')+1:]
	case !quoted && strings.Contains(local, "!"):
		d, _, _ = strings.Cut(local, "!")
	default:
		return ""
	}
	if d, msg := checkDomain(d); msg == "" && d[0] != '[' {
		return d
	}
	return ""
}

func (a *Address) plain() {
	a.Kind = KindPlain
	a.Valid = true
}

func (a Address) invalid(msg string) Address {
	a.Valid = false
	a.Error = msg
	return a
}

func (a *Address) fail(msg string) {
	a.Valid = false
	if a.Error == "" {
		a.Error = msg
	}
}

func (a *Address) warn(msg string) {
	for _, w := range a.Warnings {
		if w == msg {
			return
		}
	}
	a.Warnings = append(a.Warnings, msg)
}

// special returns the special name of a local part, compared case
// insensitively (RFC 5321 4.5.1 for postmaster), or "".
func special(local string) string {
	for _, sp := range []string{SpecialPostmaster, SpecialNonMailUser, SpecialLoopback} {
		if strings.EqualFold(local, sp) {
			return sp
		}
	}
	return ""
}

// known reports whether service is a selector whose grammar this package
// enforces: VOICE, VPIM, AMIS (RFC 3804 6), FAX (RFC 2304, RFC 3192) and
// SMS (the RFC 2303/3191 examples).
func known(service string) bool {
	switch service {
	case "VOICE", "VPIM", "AMIS", "FAX", "SMS":
		return true
	}
	return false
}

// cutSelector splits "SEL=value" where SEL is a service-selector,
// 1*(ALPHA / DIGIT / "-") (RFC 3191 2).
func cutSelector(s string) (sel, value string, ok bool) {
	i := 0
	for i < len(s) && isKeyChar(s[i]) {
		i++
	}
	if i == 0 || i >= len(s) || s[i] != '=' {
		return "", "", false
	}
	return s[:i], s[i+1:], true
}

func startsNumeric(s string) bool {
	return s != "" && (isDigit(s[0]) || s[0] == '+')
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

func isAlpha(c byte) bool { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') }

// isKeyChar reports whether c may appear in a service-selector or keyword:
// ALPHA / DIGIT / "-" (RFC 3191 2).
func isKeyChar(c byte) bool { return isAlpha(c) || isDigit(c) || c == '-' }

func isSep(c byte) bool { return c == '-' || c == '.' } // written-sep, RFC 3191 2.1
