package profile

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"
)

// Message-ID: recognition and repair (RFC 5322 3.6.4, RFC 3801 4.2.7,
// DIGEST §2.1).

// isProperID reports whether v is an RFC 5322 msg-id: "<" id-left "@"
// id-right ">" without white space or further angle brackets.
func isProperID(v string) bool {
	if len(v) < 5 || v[0] != '<' || v[len(v)-1] != '>' {
		return false
	}
	in := v[1 : len(v)-1]
	return strings.IndexByte(in, '@') > 0 && strings.LastIndexByte(in, '@') < len(in)-1 && !strings.ContainsAny(in, "<> \t\r\n")
}

// isMsgID reports whether a Message-ID field value is an RFC 5322 msg-id
// with its optional comments and folding white space: msg-id = [CFWS] "<"
// id-left "@" id-right ">" [CFWS] (RFC 5322 3.6.4). Such a value is kept
// as it is: MDNs cite it (RFC 3801 4.2.7).
func isMsgID(v string) bool { return isProperID(stripAllComments(unfold(v))) }

// isBareID reports whether v is id-left "@" id-right without the angle
// brackets (the RFC 3801 examples' form).
func isBareID(v string) bool {
	at := strings.IndexByte(v, '@')
	if at <= 0 || at == len(v)-1 || strings.Count(v, "@") != 1 {
		return false
	}
	return !strings.ContainsAny(v, "<> \t\r\n")
}

// draftID splits the 1994 draft's form fqdn "-" serial (8 digits or
// more); ok is false for any other value.
func draftID(v string) (fqdn, serial string, ok bool) {
	i := strings.LastIndexByte(v, '-')
	if i <= 0 || len(v)-i-1 < 8 || !allDigits(v[i+1:]) {
		return "", "", false
	}
	fqdn, serial = v[:i], v[i+1:]
	labels := strings.Split(fqdn, ".")
	if len(labels) < 2 {
		return "", "", false
	}
	for _, l := range labels {
		if l == "" || l[0] == '-' || l[len(l)-1] == '-' {
			return "", "", false
		}
		for j := 0; j < len(l); j++ {
			if c := l[j]; !(c == '-' || c >= '0' && c <= '9' || isLetter(c)) {
				return "", "", false
			}
		}
	}
	return fqdn, serial, true
}

func isDraftID(v string) bool { _, _, ok := draftID(v); return ok }

// checkMessageID checks the Message-ID field.
func (ev *eval) checkMessageID(r *result) {
	v, ok := ev.m.Root.Get("Message-ID")
	if !ok {
		r.find(ev.rid(ruleV2HdrMsgID, ruleD1HdrMsgID), "", "Message-ID missing")
		return
	}
	if isMsgID(v) {
		return
	}
	// RFC 4239 3 (I-IMF): an IVM message carries an RFC 2822 msg-id,
	// "<" id-left "@" id-right ">".
	_, serial, draft := draftID(v)
	switch {
	case ev.profile == "v1-draft" && draft:
		if len(serial) != 8 {
			r.find(ruleD1HdrMsgID, "", "v1-draft Message-ID %q: serial has %d digits, not 8", v, len(serial))
		}
		if ev.target == TargetIVM || ev.target == TargetDesktop {
			r.find(ev.ridIMF(ruleV2HdrMsgID, ruleD1HdrMsgID), "", "Message-ID %q in v1-draft form, not <id@host>", v)
		}
	case draft:
		r.find(ev.ridIMF(ruleV2HdrMsgID, ruleD1HdrMsgID), "", "Message-ID %q in v1-draft form, not <id@host>", v)
	default:
		r.find(ev.ridIMF(ruleV2HdrMsgID, ruleD1HdrMsgID), "", "Message-ID %q not in <id@host> form", v)
	}
}

// planMessageID plans the Message-ID edit (DIGEST §2.1): a bare id gets
// its angle brackets, the v1-draft form becomes <serial@fqdn>, anything
// else is replaced, the old value kept in X-Original-Message-ID; a missing
// one is generated.
func planMessageID(ev *eval) (r result) {
	if ev.e.opts.MessageIDPolicy == "keep" {
		return r
	}
	root := ev.m.Root
	rule := ev.ridIMF(ruleV2HdrMsgID, ruleD1HdrMsgID)
	v, ok := root.Get("Message-ID")
	name := "Message-ID"
	for _, f := range root.Header {
		if strings.EqualFold(f.Name, "Message-ID") {
			name = f.Name
			break
		}
	}
	fqdn, serial, draft := draftID(v)
	switch {
	case !ok:
		r.header(rule, HeaderEdit{Op: HeaderAdd, Name: "Message-ID", Value: ev.generateID()})
		return r
	case isMsgID(v):
		return r
	case draft:
		r.header(rule, HeaderEdit{Op: HeaderChange, Name: name, Index: 1, Value: "<" + serial + "@" + fqdn + ">"})
	case isBareID(v):
		r.header(rule, HeaderEdit{Op: HeaderChange, Name: name, Index: 1, Value: "<" + v + ">"})
	default:
		r.header(rule, HeaderEdit{Op: HeaderChange, Name: name, Index: 1, Value: ev.generateID()})
	}
	r.header(rule, HeaderEdit{Op: HeaderAdd, Name: "X-Original-Message-ID", Value: v})
	return r
}

// generateID derives a stable Message-ID from the header and the body size
// of a single-part message, so that check and rewrite agree.
func (ev *eval) generateID() string {
	h := sha256.New()
	for _, f := range ev.m.Root.Header {
		h.Write([]byte(f.Name + ":" + f.Value + "\n"))
	}
	size := int64(0)
	if ev.m.Root.IsLeaf() {
		size = ev.m.Root.Size
	}
	fmt.Fprintf(h, "%d", size)
	return "<" + hex.EncodeToString(h.Sum(nil))[:24] + ".vpim@" + ev.e.opts.Hostname + ">"
}
