package addr

import (
	"fmt"
	"strings"
)

// Limits of the numbering plans.
const (
	maxE164      = 15 // E.164 number (RFC 3801 4.1.1, RFC 3191 2.1 via [E.164])
	maxExt       = 15 // VPIM v2 extension (RFC 3801 4.1.1)
	maxAMISField = 32 // AMIS-D mailbox field (RFC 3804 4.2.3)
	maxAMISID    = 16 // amis-mailbox-id (RFC 3804 4.2.3)
	maxAMISPriv  = 14 // amis-private-number (RFC 3804 4.2.3)
)

// Ranks give the order of elements in the strict grammar (DIGEST 4.1):
// pstn-mbox = selector "=" gstn-phone [sub-addr-spec] [post-sep post-dial]
// (RFC 2846 2), vpim-mbox = ... [sub-addr-spec] [ext-addr-spec]
// [dl-addr-spec] (RFC 3804 4.2.1), amis-mbox = ... ["/SYSNUM="]
// (RFC 3804 4.2.3), then pstn-recipient = [recipient-name]
// *recipient-qualifier (RFC 2846 3), then qualif-type1 (RFC 3191 2).
const (
	rankISub      = 1
	rankPostDial  = 2
	rankExt       = 3
	rankDL        = 4
	rankSysNum    = 5
	rankAttn      = 10
	rankQualifier = 11
)

// parseNative parses the VPIM v2 local part of RFC 3801 4.1.1 (DIGEST
// V2-ADDR-LHS):
//
//	vpimv2-local = mailbox-number ["+" ext-number] / "+" e164-number ["+" ext-number]
//
// It reports false, leaving a unchanged, when local does not have that
// shape (only digits, written separators and "+", starting with a digit
// or "+", at least one digit): then it is no VPIM number at all.
func (a *Address) parseNative(local string) bool {
	if !startsNumeric(local) {
		return false
	}
	digits := false
	for i := 0; i < len(local); i++ {
		c := local[i]
		switch {
		case isDigit(c):
			digits = true
		case c == '+' || isSep(c):
		default:
			return false
		}
	}
	if !digits {
		return false
	}
	a.Kind, a.Valid = KindVPIM, true
	global := local[0] == '+'
	body := local
	if global {
		body = local[1:]
	}
	num, ext, hasExt := strings.Cut(body, "+")
	n := stripSeps(num)
	switch {
	case n == "":
		a.fail("no digits before the extension (RFC 3801 4.1.1)")
	case global && len(n) > maxE164:
		a.fail(fmt.Sprintf("international number has %d digits; E.164 allows at most %d (RFC 3801 4.1.1)", len(n), maxE164))
	}
	if global {
		n = "+" + n
	}
	a.Number = n
	if hasExt {
		if strings.Contains(ext, "+") {
			a.fail("more than one extension separator \"+\" (RFC 3801 4.1.1)")
			return true
		}
		// Separators may be ignored (RFC 3801 4.1.1), also in the extension.
		a.setExt(stripSeps(ext), "+", "RFC 3801 4.1.1")
	}
	return true
}

// parsePSTN parses the value after "SELECTOR=" of a pstn-address
// (RFC 3191 2, RFC 2846 2-3, RFC 3804 4.2).
func (a *Address) parsePSTN(value string) {
	a.Valid = true
	head, elems := splitElements(value)
	if a.Service == "AMIS" {
		a.parseAMISMailbox(head)
	} else {
		a.parseMbox(head)
	}
	prev, prevKey := 0, ""
	for _, e := range elems {
		r := a.element(e)
		if r < prev {
			// DIGEST 8.7: RFC 2846's own example has /T33S= before /PostD=.
			a.warn(fmt.Sprintf("/%s= after /%s= is out of the grammar's order (DIGEST 4.1)", e.key, prevKey))
			continue
		}
		prev, prevKey = r, e.key
	}
	if a.Service == "AMIS" || !a.Valid {
		return
	}
	if a.Service == "VPIM" {
		if a.Number == "" {
			a.fail("no telephone number (RFC 3804 4.2.1)")
		}
		return
	}
	if a.Number == "" && a.PostDial == "" {
		// RFC 2846 2.1: local-phone = [exit-code] [dial-number] may be
		// empty, but then there is nothing to dial.
		a.fail("no telephone number and no post-dial sequence (RFC 2846 2.1)")
	}
}

// parseMbox parses the gstn-phone at the start of a pstn-mbox, and for
// VPIM the "+" ext-sep of RFC 3804 4.2.1.
func (a *Address) parseMbox(phone string) {
	if a.Service == "VPIM" {
		start := 0
		if strings.HasPrefix(phone, "+") {
			start = 1
		}
		if i := strings.IndexByte(phone[start:], '+'); i >= 0 {
			ext := phone[start+i+1:]
			phone = phone[:start+i]
			a.setExt(ext, "+", "RFC 3804 4.2.1")
		}
	}
	num, msg := parsePhone(phone)
	if msg != "" {
		a.fail(msg)
		return
	}
	a.Number = num
	if a.Service == "FAX" && !strings.HasPrefix(num, "+") {
		a.warn("FAX= with a local-phone is an RFC 2846 2.1 extension; the minimal fax-address needs a global-phone (RFC 2304 2)")
	}
}

// parsePhone parses gstn-phone = global-phone / local-phone and returns
// it without written separators (RFC 3191 2.1: they MUST be ignored).
func parsePhone(s string) (string, string) {
	if strings.HasPrefix(s, "+") {
		// RFC 3191 2.1 global-phone = "+" 1*(DIGIT / written-sep)
		var b strings.Builder
		b.WriteByte('+')
		for i := 1; i < len(s); i++ {
			c := s[i]
			switch {
			case isDigit(c):
				b.WriteByte(c)
			case isSep(c):
			default:
				return "", fmt.Sprintf("global-phone: %s not allowed (RFC 3191 2.1)", char(c))
			}
		}
		n := b.Len() - 1
		if n == 0 {
			return "", "global-phone without digits (RFC 3191 2.1)"
		}
		if n > maxE164 {
			return "", fmt.Sprintf("global-phone has %d digits; E.164 allows at most %d (RFC 3191 2.1)", n, maxE164)
		}
		return b.String(), ""
	}
	return phoneString(s, "local-phone", "RFC 2846 2.1")
}

// phoneString parses RFC 2846 2.1
//
//	phone-string = 1*(DTMF / pause / tonewait / written-sep)
//
// (an empty string is returned as ""), dropping separators, upper-casing
// DTMF A-D and lower-casing pause "p" and tonewait "w" (both case
// insensitive, RFC 2846 2.1).
func phoneString(s, what, ref string) (string, string) {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if d, ok := phoneChar(c); ok {
			b.WriteByte(d)
			continue
		}
		switch {
		case isSep(c):
		case c == '+':
			return "", fmt.Sprintf("%s: \"+\" is reserved for global-phone (%s)", what, ref)
		default:
			return "", fmt.Sprintf("%s: %s not allowed (%s)", what, char(c), ref)
		}
	}
	return b.String(), ""
}

// elem is one "/KEY=value" element; key is upper case.
type elem struct {
	key, val string
}

// splitElements splits a pstn-address value at each "/" that starts a
// qualifier, that is a "/" followed by keyword "=" (keyword =
// 1*(ALPHA / DIGIT / "-"), RFC 3191 2). Any other "/" stays in its element,
// so the RFC 3804 4.2.3 AMIS example "+1/401+3278144+" survives as one
// mailbox and an ATTN name may contain "/" (RFC 2846 3.1 givenname).
func splitElements(v string) (string, []elem) {
	var starts []int
	for i := 0; i < len(v); i++ {
		if v[i] != '/' {
			continue
		}
		j := i + 1
		for j < len(v) && isKeyChar(v[j]) {
			j++
		}
		if j > i+1 && j < len(v) && v[j] == '=' {
			starts = append(starts, i)
			i = j
		}
	}
	if len(starts) == 0 {
		return v, nil
	}
	head := v[:starts[0]]
	elems := make([]elem, 0, len(starts))
	for n, s := range starts {
		end := len(v)
		if n+1 < len(starts) {
			end = starts[n+1]
		}
		key, val, _ := strings.Cut(v[s+1:end], "=")
		elems = append(elems, elem{key: strings.ToUpper(key), val: val})
	}
	return head, elems
}

// element applies one qualifier element and returns its rank.
func (a *Address) element(e elem) int {
	switch {
	case a.Service == "AMIS" && e.key == "SYSNUM":
		a.parseSysNum(e.val)
		return rankSysNum
	case e.key == "ATTN":
		if a.Service == "AMIS" {
			a.warn("pstn-recipient in an AMIS address is draft-ema-vpim-address-00 4.1.3 only (RFC 3804 4.2.3)")
		}
		a.parseAttn(e.val)
		return rankAttn
	case a.Service == "AMIS":
		a.warn("pstn-recipient in an AMIS address is draft-ema-vpim-address-00 4.1.3 only (RFC 3804 4.2.3)")
		a.qualifier(e)
		return rankQualifier
	case e.key == "ISUB":
		// RFC 2846 2.2 isub-addr = 1*(DIGIT / written-sep)
		if a.ISub != "" {
			a.fail("more than one /ISUB=; use one address per subaddress (RFC 3191 4.1)")
			return rankISub
		}
		v, msg := digits(e.val, true, "ISDN subaddress", "RFC 2846 2.2")
		if msg != "" {
			a.fail(msg)
		}
		a.ISub = v
		return rankISub
	case e.key == "POSTD":
		// RFC 2846 2.3 post-sep "/POSTD=" post-dial = phone-string
		if a.PostDial != "" {
			a.fail("more than one /POSTD= (RFC 2846 2.3)")
			return rankPostDial
		}
		if a.Service == "VPIM" {
			a.warn("/POSTD= is not part of vpim-mbox (RFC 3804 4.2.1)")
		}
		v, msg := phoneString(e.val, "post-dial", "RFC 2846 2.3")
		if msg == "" && v == "" {
			msg = "empty post-dial sequence (RFC 2846 2.3)"
		}
		if msg != "" {
			a.fail(msg)
		}
		a.PostDial = v
		return rankPostDial
	case a.Service == "VPIM" && e.key == "EXT":
		a.setExt(e.val, "/EXT=", "RFC 3804 4.2.1")
		return rankExt
	case a.Service == "VPIM" && e.key == "DL":
		// RFC 3804 4.2.1 dl-addr-spec = "/DL=" sub-addr, sub-addr = 1*DIGIT
		if a.DL != "" {
			a.fail("more than one /DL= (RFC 3804 4.2.1)")
			return rankDL
		}
		v, msg := digits(e.val, false, "distribution list", "RFC 3804 4.2.1")
		if msg != "" {
			a.fail(msg)
		}
		a.DL = v
		return rankDL
	case a.Service == "FAX" && e.key == "T33S":
		// RFC 2304 2: "/T33S=" sub-addr, sub-addr = 1*DIGIT; a qualif-type1.
		if a.T33S != "" {
			a.fail("more than one /T33S=; use one address per subaddress (RFC 2304 4.1)")
			return rankQualifier
		}
		v, msg := digits(e.val, false, "T.33 subaddress", "RFC 2304 2")
		if msg != "" {
			a.fail(msg)
		}
		a.T33S = v
		return rankQualifier
	}
	a.qualifier(e)
	return rankQualifier
}

// setExt records a VPIM extension: ext-number = 1*15DIGIT (DIGEST 4.1;
// RFC 3801 4.1.1 limit).
func (a *Address) setExt(v, sep, ref string) {
	if a.Extension != "" {
		a.fail(fmt.Sprintf("extension given twice (%s)", ref))
		return
	}
	switch {
	case v == "":
		a.fail(fmt.Sprintf("extension separator %q without digits (%s)", sep, ref))
		return
	case len(v) > maxExt:
		a.fail(fmt.Sprintf("extension has %d digits; at most %d (RFC 3801 4.1.1)", len(v), maxExt))
	}
	for i := 0; i < len(v); i++ {
		if !isDigit(v[i]) {
			a.fail(fmt.Sprintf("extension: %s not allowed; digits only (%s)", char(v[i]), ref))
			return
		}
	}
	a.Extension = v
}

// parseAttn parses recipient-name = "/ATTN=" pers-name,
// pers-name = [givenname "."] [initials "."] surname (RFC 2846 3.1).
func (a *Address) parseAttn(v string) {
	if a.Attn != nil {
		a.fail("more than one /ATTN= (RFC 2846 3.1)")
		return
	}
	if msg := printable(v, "ATTN", "RFC 2846 3.1"); msg != "" {
		a.fail(msg)
		return
	}
	parts := strings.Split(v, ".")
	n := &Name{}
	switch {
	case len(parts) == 1:
		n.Surname = parts[0]
	case len(parts) == 2:
		n.Given, n.Surname = parts[0], parts[1]
	case allAlpha(parts[1]):
		n.Given, n.Initials, n.Surname = parts[0], parts[1], strings.Join(parts[2:], ".")
	default:
		n.Given, n.Surname = parts[0], strings.Join(parts[1:], ".")
	}
	if n.Surname == "" {
		a.fail("ATTN: empty surname (RFC 2846 3.1)")
		return
	}
	a.Attn = n
}

// qualifier keeps an uninterpreted qualif-type1 or qualif-type2
// (RFC 3191 2: conforming implementations MUST preserve them).
func (a *Address) qualifier(e elem) {
	if msg := printable(e.val, "/"+e.key+"=", "RFC 3191 2"); msg != "" {
		a.fail(msg)
		return
	}
	// DIGEST 4.1 qvalue excludes "/" so that element boundaries stay
	// findable (the RFCs' "string = PCHAR" is one character).
	if strings.Contains(e.val, "/") {
		a.fail(fmt.Sprintf("/%s=: \"/\" not allowed in a qualifier value (DIGEST 4.1 qvalue)", e.key))
		return
	}
	a.Qualifiers = append(a.Qualifiers, Qualifier{Key: e.key, Value: e.val})
}

// printable checks a qualifier value: 1 or more characters %x20-7E
// (RFC 3191 2 "string = PCHAR; printable characters are %x20-7E").
func printable(v, what, ref string) string {
	if v == "" {
		return fmt.Sprintf("%s: empty value (%s)", what, ref)
	}
	for i := 0; i < len(v); i++ {
		if v[i] < 0x20 || v[i] > 0x7e {
			return fmt.Sprintf("%s: %s not allowed (%s)", what, char(v[i]), ref)
		}
	}
	return ""
}

// digits checks 1*DIGIT, or 1*(DIGIT / written-sep) with at least one
// digit when seps is set, and returns the digits.
func digits(v string, seps bool, what, ref string) (string, string) {
	var b strings.Builder
	for i := 0; i < len(v); i++ {
		c := v[i]
		switch {
		case isDigit(c):
			b.WriteByte(c)
		case seps && isSep(c):
		default:
			return "", fmt.Sprintf("%s: %s not allowed; digits only (%s)", what, char(c), ref)
		}
	}
	if b.Len() == 0 {
		return "", fmt.Sprintf("empty %s (%s)", what, ref)
	}
	return b.String(), ""
}

func stripSeps(s string) string {
	if strings.IndexByte(s, '-') < 0 && strings.IndexByte(s, '.') < 0 {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if !isSep(s[i]) {
			b.WriteByte(s[i])
		}
	}
	return b.String()
}

func allDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !isDigit(s[i]) {
			return false
		}
	}
	return true
}

func allAlpha(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !isAlpha(s[i]) {
			return false
		}
	}
	return true
}
