package addr

import (
	"fmt"
	"strings"
)

// splitAddrSpec splits an RFC 5322 3.4.1 addr-spec into its local part
// (dot-atom or quoted-string, returned unquoted) and its domain (lower
// case). A bare local part is accepted only when it is "postmaster"
// (RFC 5321 4.1.1.3); otherwise domain must follow. msg is "" on success.
func splitAddrSpec(s string) (local, domain string, quoted bool, msg string) {
	if s == "" {
		return "", "", false, "empty address"
	}
	var rest string
	if s[0] == '"' {
		quoted = true
		var b strings.Builder
		i := 1
		closed := false
		for i < len(s) {
			c := s[i]
			switch {
			case c == '\\':
				// RFC 5322 3.2.1 quoted-pair = "\" (VCHAR / WSP)
				if i+1 >= len(s) || !(isVChar(s[i+1]) || s[i+1] == ' ' || s[i+1] == '\t') {
					return "", "", quoted, "local part: bad quoted-pair (RFC 5322 3.2.1)"
				}
				b.WriteByte(s[i+1])
				i += 2
				continue
			case c == '"':
				closed = true
			case isQText(c) || c == ' ' || c == '\t':
				b.WriteByte(c)
			default:
				return "", "", quoted, fmt.Sprintf("local part: %s not allowed in a quoted-string (RFC 5322 3.2.4)", char(c))
			}
			i++
			if closed {
				break
			}
		}
		if !closed {
			return "", "", quoted, "local part: unterminated quoted-string (RFC 5322 3.2.4)"
		}
		local, rest = b.String(), s[i:]
		if local == "" {
			return "", "", quoted, "empty local part"
		}
	} else {
		i := 0
		for i < len(s) && s[i] != '@' {
			c := s[i]
			if !isAText(c) && c != '.' {
				return "", "", quoted, fmt.Sprintf("local part: %s not allowed unquoted (RFC 5322 3.2.3)", char(c))
			}
			i++
		}
		local, rest = s[:i], s[i:]
		if local == "" {
			return "", "", quoted, "empty local part"
		}
		if local[0] == '.' || local[len(local)-1] == '.' || strings.Contains(local, "..") {
			return "", "", quoted, "local part: misplaced \".\" in dot-atom (RFC 5322 3.2.3)"
		}
	}
	if rest == "" {
		return local, "", quoted, ""
	}
	if rest[0] != '@' {
		return "", "", quoted, fmt.Sprintf("%s after the local part", char(rest[0]))
	}
	domain, msg = checkDomain(rest[1:])
	return local, domain, quoted, msg
}

// checkDomain validates a domain name (RFC 5321 4.1.2 Domain: LDH labels,
// the DNS domain that RFC 3801 4.1 requires, DIGEST V2-ADDR-DNS) or an
// address literal, and
// returns it in lower case.
func checkDomain(d string) (string, string) {
	if d == "" {
		return "", "empty domain"
	}
	if len(d) > maxDomain {
		return "", fmt.Sprintf("domain longer than %d octets (RFC 5321 4.5.3.1.2)", maxDomain)
	}
	if d[0] == '[' {
		// RFC 5322 3.4.1 domain-literal, dtext = %d33-90 / %d94-126
		if len(d) < 3 || d[len(d)-1] != ']' {
			return "", "domain: unterminated domain literal (RFC 5322 3.4.1)"
		}
		for i := 1; i < len(d)-1; i++ {
			c := d[i]
			if c < 33 || c > 126 || c == '[' || c == ']' || c == '\\' {
				return "", fmt.Sprintf("domain: %s not allowed in a domain literal (RFC 5322 3.4.1)", char(c))
			}
		}
		return strings.ToLower(d), ""
	}
	for _, label := range strings.Split(d, ".") {
		if label == "" {
			return "", "domain: empty label (RFC 5321 4.1.2)"
		}
		if len(label) > 63 {
			return "", "domain: label longer than 63 octets (RFC 1035 2.3.4)"
		}
		for i := 0; i < len(label); i++ {
			c := label[i]
			if !isAlpha(c) && !isDigit(c) && c != '-' {
				return "", fmt.Sprintf("domain: %s not allowed (RFC 5321 4.1.2)", char(c))
			}
		}
		if label[0] == '-' || label[len(label)-1] == '-' {
			return "", "domain: label starts or ends with \"-\" (RFC 5321 4.1.2)"
		}
	}
	return strings.ToLower(d), ""
}

// isAText reports RFC 5322 3.2.3 atext.
func isAText(c byte) bool {
	if isAlpha(c) || isDigit(c) {
		return true
	}
	return strings.IndexByte("!#$%&'*+-/=?^_`{|}~", c) >= 0
}

// isQText reports RFC 5322 3.2.4 qtext: %d33 / %d35-91 / %d93-126.
func isQText(c byte) bool {
	return c == 33 || (c >= 35 && c <= 91) || (c >= 93 && c <= 126)
}

// isVChar reports RFC 5234 VCHAR, %x21-7E.
func isVChar(c byte) bool { return c >= 0x21 && c <= 0x7e }

// char names a byte for an error message.
func char(c byte) string {
	if c >= 0x20 && c <= 0x7e {
		return fmt.Sprintf("%q", string(rune(c)))
	}
	return fmt.Sprintf("byte 0x%02x", c)
}
