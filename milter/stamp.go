package milter

import (
	"strconv"
	"strings"

	"github.com/vpim-milter/vpim-milter/profile"
)

// StampField is the name of the header field that states the result of an evaluation
// (README "Result stamp"). vpim-milter adds one to every voice message it evaluated and
// removes the copies that claim its authserv-id on the way in, as a border MTA does with
// Authentication-Results (RFC 8601 5).
const StampField = "VPIM-Check"

// maxStampLen bounds the stamp to one line of at most 998 characters with its name
// (RFC 5322 2.1.1), with room to spare for the MTA's own folding rules.
const maxStampLen = 900

// Stamp is what one VPIM-Check field says: who evaluated the message, in which mode, what
// the message was, what it was for, and what was done with it (enforce) or would have
// been done (report). It carries no message text.
type Stamp struct {
	AuthservID string          // who evaluated (Options.AuthservID)
	Mode       Mode            // enforce: what was done; report: what enforce would have done
	Profile    string          // what the message was: vpim2, vpim1, v1-draft, ivm, vendor
	Target     profile.Target  // what it was for: the transaction's target profile
	Verdict    profile.Verdict // accept, modify, reject, tempfail, quarantine
	Condition  string          // the condition behind a refusal, quarantine or tag; "" none
	Action     string          // what the condition's [milter.on] entry did; "" none
	Code       string          // enhanced status code of a refusal (RFC 3463 "5.6.0"); "" none
	Rules      []string        // requirement IDs of the findings, each once, in the order found
}

// String is the field value (without the name): one line, for example
//
//	mx.example.com; mode=report; profile=vpim2; target=ivm; verdict=reject;
//	condition=private-to-non-capable; action=reject; code=5.6.0; rules=V2-SENS,I-CTX
//
// (shown folded here, written as one line). Every value is a token; rules that would
// take the line past 900 characters are left out and counted as "+N" at the end of the
// list.
func (s Stamp) String() string {
	var b strings.Builder
	b.WriteString(token(s.AuthservID))
	kv := func(k, v string) {
		if v = token(v); v != "" {
			b.WriteString("; " + k + "=" + v)
		}
	}
	kv("mode", string(s.Mode))
	kv("profile", s.Profile)
	kv("target", string(s.Target))
	kv("verdict", string(s.Verdict))
	kv("condition", s.Condition)
	kv("action", s.Action)
	kv("code", s.Code)
	var rules []string
	seen := map[string]bool{}
	for _, r := range s.Rules {
		if r = token(r); r != "" && !seen[r] {
			seen[r] = true
			rules = append(rules, r)
		}
	}
	if len(rules) == 0 {
		return b.String()
	}
	b.WriteString("; rules=")
	room := maxStampLen - len(StampField) - 2 - b.Len()
	for i, r := range rules {
		more := ""
		if i < len(rules)-1 {
			more = ",+" + strconv.Itoa(len(rules)-i-1) // what the list ends with if r is the last to fit
		}
		if len(r)+1+len(more) > room {
			if i == 0 {
				b.WriteString("+" + strconv.Itoa(len(rules)))
			} else {
				b.WriteString(",+" + strconv.Itoa(len(rules)-i))
			}
			break
		}
		if i > 0 {
			b.WriteByte(',')
			room--
		}
		b.WriteString(r)
		room -= len(r)
	}
	return b.String()
}

// token keeps the characters a stamp value may hold (letters, digits, "-", ".", "_",
// "+", ":") and drops the rest, so nothing from a message or a configuration can break the
// field's syntax.
func token(s string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9':
			return r
		case r == '-' || r == '.' || r == '_' || r == '+' || r == ':':
			return r
		}
		return -1
	}, s)
}

// claimedID returns the authserv-id a received VPIM-Check value claims: what comes before
// the first ";", with comments removed, a quoted string unquoted and folding undone (the
// same CFWS rules as Authentication-Results, RFC 8601 2.2), in lower case. It returns ""
// when no authserv-id can be read.
func claimedID(value string) string {
	var b strings.Builder
	depth := 0 // comment nesting
	quoted := false
	for i := 0; i < len(value); i++ {
		c := value[i]
		switch {
		case c == '\\' && (quoted || depth > 0) && i+1 < len(value):
			i++ // quoted-pair
			if quoted {
				b.WriteByte(value[i])
			}
		case quoted:
			if c == '"' {
				quoted = false
			} else {
				b.WriteByte(c)
			}
		case depth > 0:
			switch c {
			case '(':
				depth++
			case ')':
				depth--
			}
		case c == '(':
			depth++
		case c == '"':
			quoted = true
		case c == ';':
			return authservID(b.String(), false)
		case c == ' ' || c == '\t' || c == '\r' || c == '\n':
			b.WriteByte(' ')
		default:
			b.WriteByte(c)
		}
	}
	return authservID(b.String(), depth > 0 || quoted)
}

// authservID is the authserv-id in s, lower case, or "" when s is empty, unterminated or
// more than one word.
func authservID(s string, unterminated bool) string {
	id := strings.TrimSpace(s)
	if unterminated || strings.ContainsAny(id, " \t\r\n") {
		return ""
	}
	return strings.ToLower(id)
}

// forgedStamp reports whether a received header field must be removed before the message
// goes on: a VPIM-Check field that claims authservID, or from which no authserv-id can be
// read (a consumer that trusts our stamps must never see one we did not write).
func forgedStamp(name, value, authservID string) bool {
	if !strings.EqualFold(strings.TrimSpace(name), StampField) {
		return false
	}
	id := claimedID(value)
	return id == "" || id == strings.ToLower(authservID)
}

// isStampField reports whether a received header field name is StampField.
func isStampField(name string) bool { return strings.EqualFold(strings.TrimSpace(name), StampField) }
