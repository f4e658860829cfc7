package addr

import (
	"fmt"
	"strings"
)

// parseAMISMailbox parses amis-mailbox = amis-a / amis-d (RFC 3804 4.2.3).
// VCHAR includes "+" and "/", so the grammar is ambiguous; it is read
// deterministically (DIGEST 4.1): AMIS-A first (digits "+" digits "+"
// digits "+", or "0++" digits "+"), else AMIS-D split on "+" into one or
// three fields, else (lenient) an opaque mailbox, as in RFC 3804's own
// example "+1/401+3278144+" (DIGEST 8.8).
func (a *Address) parseAMISMailbox(m string) {
	info := &AMIS{Mailbox: m}
	a.AMIS = info
	if m == "" {
		a.fail("empty AMIS mailbox (RFC 3804 4.2.3)")
		return
	}
	for i := 0; i < len(m); i++ {
		if !isVChar(m[i]) {
			a.fail(fmt.Sprintf("AMIS mailbox: %s not allowed (RFC 3804 4.2.3)", char(m[i])))
			return
		}
	}
	if len(m) > maxAMISField {
		a.fail(fmt.Sprintf("AMIS mailbox field has %d characters; AMIS-D allows at most %d (RFC 3804 4.2.3)", len(m), maxAMISField))
		return
	}
	if num, form, msg, ok := amisA(m, info, ""); ok {
		info.Form = form
		if msg != "" {
			a.fail(msg)
			return
		}
		a.Number = num
		return
	}
	// amis-d = [numberplan] ["+"] id ["+"] [extension]; "if more than one
	// element is present, both "+" must appear" (RFC 3804 4.2.3).
	f := strings.Split(m, "+")
	switch len(f) {
	case 1:
		info.Form, info.ID = AMISD, m
	case 3:
		info.Form, info.NumberPlan, info.ID = AMISD, f[0], f[1]
		a.Extension = f[2]
	default:
		info.Form = AMISOpaque
		a.warn("AMIS mailbox fits neither AMIS-A nor AMIS-D; kept opaque (RFC 3804 4.2.3)")
		return
	}
	switch {
	case info.ID == "":
		a.fail("empty AMIS-D mailbox id (RFC 3804 4.2.3)")
	case len(info.ID) > maxAMISID:
		a.fail(fmt.Sprintf("AMIS-D mailbox id has %d characters; at most %d (RFC 3804 4.2.3)", len(info.ID), maxAMISID))
	default:
		a.Number = info.ID
	}
}

// amisA recognises amis-a-number = amis-PSTN-number / amis-private-number
// (RFC 3804 4.2.3) and records its parts in info. ok reports the shape;
// msg is set when the shape is right but a length limit is exceeded. num
// is the E.164 number with "+" (PSTN) or the private number. what
// prefixes messages ("" for the mailbox, "/SYSNUM=" for the system).
func amisA(m string, info *AMIS, what string) (num, form, msg string, ok bool) {
	// amis-private-number = "0++" local-number "+"; <= 14 digits (AMIS-A)
	if strings.HasPrefix(m, "0++") && strings.HasSuffix(m, "+") && len(m) > 4 && allDigits(m[3:len(m)-1]) {
		local := m[3 : len(m)-1]
		if what == "" {
			info.LocalNumber = local
		}
		if len(local) > maxAMISPriv {
			return "", AMISPrivate, fmt.Sprintf("%sAMIS-A private number has %d digits; at most %d (RFC 3804 4.2.3)", what, len(local), maxAMISPriv), true
		}
		return local, AMISPrivate, "", true
	}
	// amis-PSTN-number = int-country-code "+" area-code "+" local-number "+";
	// int-country-code = 1*4DIGIT; <= 15 digits (E.164, AMIS-A)
	f := strings.Split(m, "+")
	if len(f) != 4 || f[3] != "" || !allDigits(f[0]) || len(f[0]) > 4 || !allDigits(f[1]) || !allDigits(f[2]) {
		return "", "", "", false
	}
	if what == "" {
		info.CountryCode, info.AreaCode, info.LocalNumber = f[0], f[1], f[2]
	}
	d := f[0] + f[1] + f[2]
	if len(d) > maxE164 {
		return "", AMISPSTN, fmt.Sprintf("%sAMIS-A PSTN number has %d digits; at most %d (RFC 3804 4.2.3)", what, len(d), maxE164), true
	}
	return "+" + d, AMISPSTN, "", true
}

// parseSysNum parses "/SYSNUM=" amis-sysnum, amis-sysnum = amis-a-number
// (RFC 3804 4.2.3). Leniently it also takes the draft's examples: plain
// digits ("AMIS=4013278144/SYSNUM=4013279542", draft-ema-vpim-address-00
// 4.1.3, DIGEST 8.8) and the draft's amis-PSTN-number without the
// trailing "+" and with an optional area code.
func (a *Address) parseSysNum(v string) {
	if a.AMIS == nil {
		a.AMIS = &AMIS{}
	}
	if a.AMIS.SysNum != "" || a.SysNum != "" {
		a.fail("more than one /SYSNUM= (RFC 3804 4.2.3)")
		return
	}
	a.AMIS.SysNum = v
	if num, _, msg, ok := amisA(v, a.AMIS, "/SYSNUM=: "); ok {
		if msg != "" {
			a.fail(msg)
			return
		}
		a.SysNum = num
		return
	}
	if allDigits(v) && len(v) <= maxE164 {
		a.warn("/SYSNUM= without the \"+\" separators of amis-a-number (draft-ema-vpim-address-00 4.1.3 example)")
		a.SysNum = v
		return
	}
	// draft-ema-vpim-address-00 4.1.3: int-country-code "+" [area-code] "+" local-number
	if f := strings.Split(v, "+"); len(f) == 3 && allDigits(f[0]) && len(f[0]) <= 4 &&
		(f[1] == "" || allDigits(f[1])) && allDigits(f[2]) && len(f[0])+len(f[1])+len(f[2]) <= maxE164 {
		a.warn("/SYSNUM= in the draft-ema-vpim-address-00 4.1.3 form; RFC 3804 4.2.3 ends amis-PSTN-number with \"+\"")
		a.SysNum = "+" + f[0] + f[1] + f[2]
		return
	}
	a.fail("/SYSNUM=: not an amis-a-number (RFC 3804 4.2.3)")
}
