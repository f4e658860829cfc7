package profile

import (
	"mime"
	"strconv"
	"strings"
	"time"
)

// Header checks and the top-level header plan (DIGEST §1, §2).

// rid picks the rule ID of the input profile's family.
func (ev *eval) rid(v2, d1 Rule) Rule {
	if ev.isV1() && d1 != "" {
		return d1
	}
	return v2
}

// ridIMF picks the rule ID of a defect of strict Internet Message Format
// syntax (more than one To, a Message-ID without angle brackets, an obsolete
// date): I-IMF when the target is IVM, whose messages MUST be RFC 2822
// messages (RFC 4239 3), else the input profile's rule (VPIM and the v1
// profiles tolerate these forms).
func (ev *eval) ridIMF(v2, d1 Rule) Rule {
	switch ev.target {
	case TargetIVM:
		return ruleIIMF
	case TargetDesktop:
		return ruleDTIMF // an ordinary mailbox gets an RFC 5322 message
	}
	return ev.rid(v2, d1)
}

// ridT picks a rule ID by target family.
func (ev *eval) ridT(vpim, ivm Rule) Rule {
	if ev.target == TargetIVM {
		return ivm
	}
	return vpim
}

// checkHeader checks the top-level header.
func checkHeader(ev *eval) (r result) {
	root := ev.m.Root
	h := root.Header
	if ev.report {
		return r // DIGEST §5: a report passes as it is but for its spoken part
	}
	if _, ok := root.Get("From"); !ok {
		r.find(ev.rid(ruleV2HdrFrom, ruleD1HdrFrom), "", "From field missing")
	}
	if d, ok := root.Get("Date"); !ok {
		r.find(ev.rid(ruleV2HdrDate, ruleD1HdrDate), "", "Date field missing")
	} else {
		ev.checkDate(&r, d)
	}
	for _, f := range singleFields {
		if n := fieldCount(h, f); n > 1 && ev.uniqueField(f) {
			// RFC 5322 3.6: at most one of each of these fields; RFC 4239
			// 3 (I-IMF): an IVM message is an RFC 2822 message.
			r.find(ev.fieldRule(f), "", "%d %s fields (RFC 5322 3.6 allows one)", n, f)
		}
	}
	if _, ok := root.Get("MIME-Version"); !ok {
		r.find(ev.rid(ruleV2HdrMIMEVer, ruleD1HdrMIMEVer), "", "MIME-Version missing")
	}
	ev.checkMessageID(&r)
	vals, most := sensitivities(h)
	for _, v := range vals {
		switch c := canonSensitivity(v); {
		case c == "":
			r.find(ev.rid(ruleV2HdrSens, ruleD1HdrSens), "", "Sensitivity %q is not a defined value", v)
		case !strings.EqualFold(c, v):
			// The values are case-insensitive (RFC 1911 4.2); only another
			// spelling ("Company Confidential") is not the registered one.
			r.find(ev.rid(ruleV2HdrSens, ruleD1HdrSens), "", "Sensitivity %q not in canonical form %q", v, c)
		case !ev.isV1() && c != "Private" && most != "Private":
			// RFC 3801 4.2.13: "A conforming implementation SHOULD NOT send
			// the values "Personal" or "Company-Confidential"".
			r.findAt(LevelShould, ruleV2HdrSens, "", "Sensitivity %s has no VPIM semantics and should not be sent", c)
		}
	}
	if len(vals) > 1 {
		r.find(ev.rid(ruleV2HdrSens, ruleD1HdrSens), "", "%d Sensitivity fields (%s): the most restrictive, %s, counts", len(vals), strings.Join(vals, ", "), orNone(most))
	}
	if v, ok := root.Get("Importance"); ok {
		// The values are case-insensitive (RFC 2156, RFC 3801 4.2.14):
		// "HIGH" is high and stays as written.
		if c := canonImportance(v); c == "" {
			r.find(ev.rid(ruleV2HdrImp, ruleD1HdrImp), "", "Importance %q is not low, normal or high", v)
		}
	}
	if _, ok := root.Get("Subject"); !ok && ev.target == TargetVPIM2 {
		r.find(ruleV2HdrSubj, "", "Subject missing")
	}
	for _, n := range []string{"Generate-Receipt-Notification", "Generate-Delivery-Notification", "Return-content"} {
		if fieldCount(h, n) > 0 {
			r.find(ruleD1HdrXtra, "", "undefined field %s", n)
		}
	}
	if v, _ := root.Get("MIME-Version"); ev.profile == "vpim2" && !containsFold(v, "(voice 2") {
		r.find(ruleV2HdrMIMEVer, "", "MIME-Version lacks the (Voice 2.0) comment")
	}
	if v, _ := root.Get("MIME-Version"); ev.profile == "vpim1" && !containsFold(v, "(voice 1") {
		r.find(ruleD1HdrMIMEVer, "", "MIME-Version lacks the (Voice 1.0) comment")
	}
	if ev.profile == "vpim2" && root.Type != "multipart/voice-message" {
		r.find(ruleV2HdrCT, "", "top level is %s, not multipart/voice-message", root.Type)
	}
	if ev.target == TargetIVM {
		if v, _ := root.Get("Message-Context"); !strings.EqualFold(v, "voice-message") {
			r.find(ruleICtx, "", "Message-Context: voice-message missing")
		}
	}
	return r
}

// checkDate flags obsolete date forms (RFC 3801 4.2.4, DIGEST §2.11). For
// an IVM target they are I-IMF defects (RFC 4239 3): RFC 2822 3.3 wants a
// 4-digit year and a numeric zone (obs-year and obs-zone MUST NOT be
// generated, RFC 2822 4).
func (ev *eval) checkDate(r *result, d string) {
	id := ev.ridIMF(ruleV2HdrDate, ruleD1HdrDate)
	dt, ok := parseDate(d)
	if !ok {
		r.find(id, "", "Date %q not in RFC 5322 form", d)
		return
	}
	if dt.yearDigits < 4 {
		r.find(id, "", "Date %q has a %d-digit year", d, dt.yearDigits)
	}
	switch {
	case dt.zone == "":
		r.find(id, "", "Date %q has no zone", d)
	case !dt.numericZone:
		r.find(id, "", "Date %q has no numeric zone", d)
	}
}

// singleFields are the fields RFC 5322 3.6 allows once at most.
var singleFields = [...]string{"Date", "From", "Sender", "Reply-To", "To", "Cc", "Bcc", "Message-ID", "In-Reply-To", "References", "Subject"}

// addressFields are the single fields holding address lists, which are
// merged when they occur more than once; of the others the first stays.
var addressFields = [...]string{"To", "Cc", "Bcc", "Reply-To"}

// uniqueField reports whether the target allows field f once only: every
// target RFC 5322 3.6, but the VPIM profiles accept several To fields
// (RFC 3801 4.2.2, RFC 1911 4.2).
func (ev *eval) uniqueField(f string) bool {
	return ev.spec.rewrite && (f != "To" || ev.spec.uniqueTo)
}

// fieldRule is the rule of a repeated field for the target.
func (ev *eval) fieldRule(f string) Rule {
	switch ev.target {
	case TargetIVM:
		return ruleIIMF
	case TargetDesktop:
		return ruleDTIMF
	}
	switch f {
	case "Date":
		return ev.rid(ruleV2HdrDate, ruleD1HdrDate)
	case "From":
		return ev.rid(ruleV2HdrFrom, ruleD1HdrFrom)
	case "Message-ID":
		return ev.rid(ruleV2HdrMsgID, ruleD1HdrMsgID)
	case "To":
		return ev.rid(ruleV2HdrTo, ruleD1HdrTo)
	}
	return ruleIIMF
}

// planFields plans one of each RFC 5322 3.6 field (address lists merged
// into the first, of the others the first kept) and a Date: RFC 3801
// 4.2.4 "If the VPIM sender is relaying a message from a system that does
// not provide a time stamp, the time of arrival at the gateway system
// SHOULD be used as the date"; an obsolete form (two-digit year, zone name,
// RFC 5322 4.3) is written in the current one, an unreadable one replaced
// by the arrival time and kept in X-Original-Date.
func planFields(ev *eval) (r result) {
	h := ev.m.Root.Header
	for _, f := range singleFields {
		n := fieldCount(h, f)
		if n < 2 || !ev.uniqueField(f) {
			continue
		}
		rule := ev.fieldRule(f)
		if contains(addressFields[:], f) {
			var vals []string
			for _, fl := range h {
				if strings.EqualFold(fl.Name, f) {
					vals = append(vals, strings.TrimSpace(fl.Value))
				}
			}
			r.header(rule, HeaderEdit{Op: HeaderChange, Name: f, Index: 1, Value: strings.Join(vals, ", ")})
		}
		for i := n; i >= 2; i-- {
			r.header(rule, HeaderEdit{Op: HeaderDelete, Name: f, Index: i})
		}
	}
	if _, ok := ev.m.Root.Get("From"); !ok {
		// RFC 3801 4.2.1 (From MUST be present, and SHOULD be the MAIL
		// FROM address); 4.1.2: a message with no reply path comes from
		// non-mail-user.
		from := ev.in.Envelope.From
		if from == "" {
			from = "non-mail-user@" + ev.e.opts.Hostname
		}
		r.header(ev.rid(ruleV2HdrFrom, ruleD1HdrFrom), HeaderEdit{Op: HeaderAdd, Name: "From", Value: "<" + from + ">"})
	}
	rule := ev.ridIMF(ruleV2HdrDate, ruleD1HdrDate)
	v, ok := ev.m.Root.Get("Date")
	if !ok {
		r.header(ev.rid(ruleV2HdrDate, ruleD1HdrDate), HeaderEdit{Op: HeaderAdd, Name: "Date", Value: formatDate(ev.arrival())})
		return r
	}
	d, ok := parseDate(v)
	switch {
	case !ok:
		ev.setHeader(&r, rule, "Date", formatDate(ev.arrival()))
		r.header(rule, HeaderEdit{Op: HeaderAdd, Name: "X-Original-Date", Value: v})
	case d.yearDigits < 4 || !d.numericZone:
		ev.setHeader(&r, rule, "Date", formatDate(d.t))
	}
	return r
}

// arrival is when the message arrived (Input.Arrival, else now).
func (ev *eval) arrival() time.Time {
	if !ev.in.Arrival.IsZero() {
		return ev.in.Arrival
	}
	return time.Now()
}

// formatDate writes t as an RFC 5322 3.3 date-time with a numeric zone.
func formatDate(t time.Time) string {
	return t.Format("Mon, 02 Jan 2006 15:04:05 -0700")
}

// date is a parsed Date field value.
type date struct {
	t           time.Time
	yearDigits  int
	zone        string // as written ("" when absent)
	numericZone bool
}

// obsZones are the zone names of RFC 5322 4.3 (obs-zone) and their offsets.
var obsZones = map[string]int{"UT": 0, "GMT": 0, "EST": -5, "EDT": -4, "CST": -6, "CDT": -5, "MST": -7, "MDT": -6, "PST": -8, "PDT": -7} // immutable

// parseDate reads an RFC 5322 date-time leniently, accepting the obsolete
// forms of RFC 5322 4.3 (two- and three-digit years, zone names):
// [day-of-week ","] day month year hour ":" minute [":" second] [zone],
// with comments ignored.
func parseDate(v string) (date, bool) {
	var d date
	f := strings.Fields(strings.ReplaceAll(stripAllComments(v), ",", ", "))
	if len(f) > 0 && strings.HasSuffix(f[0], ",") {
		f = f[1:]
	}
	if len(f) < 4 {
		return d, false
	}
	day, err := strconv.Atoi(f[0])
	if err != nil || day < 1 || day > 31 {
		return d, false
	}
	mon := -1
	for i, m := range []string{"jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"} {
		if strings.EqualFold(f[1], m) {
			mon = i + 1
		}
	}
	if mon < 0 || !allDigits(f[2]) {
		return d, false
	}
	year, _ := strconv.Atoi(f[2])
	d.yearDigits = len(f[2])
	switch {
	case len(f[2]) == 2 && year < 50:
		year += 2000
	case len(f[2]) <= 3:
		year += 1900
	}
	hms := strings.Split(f[3], ":")
	if len(hms) < 2 || len(hms) > 3 {
		return d, false
	}
	var t [3]int
	for i, s := range hms {
		n, err := strconv.Atoi(s)
		if err != nil || len(s) > 2 {
			return d, false
		}
		t[i] = n
	}
	if t[0] > 23 || t[1] > 59 || t[2] > 60 {
		return d, false
	}
	offset := 0
	if len(f) > 4 {
		d.zone = f[4]
		z := f[4]
		switch {
		case len(z) == 5 && (z[0] == '+' || z[0] == '-') && allDigits(z[1:]):
			d.numericZone = true
			h, _ := strconv.Atoi(z[1:3])
			m, _ := strconv.Atoi(z[3:])
			offset = h*3600 + m*60
			if z[0] == '-' {
				offset = -offset
			}
		default:
			if h, ok := obsZones[strings.ToUpper(z)]; ok {
				offset = h * 3600
			} else if len(z) != 1 || !isLetter(z[0]) {
				return d, false
			} // military zones: -0000 (RFC 5322 4.3)
		}
	}
	d.t = time.Date(year, time.Month(mon), day, t[0], t[1], t[2], 0, time.FixedZone("", offset))
	return d, true
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

func isLetter(c byte) bool { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }

// stripComments drops everything from the first comment on.
func stripComments(v string) string {
	if i := strings.IndexByte(v, '('); i >= 0 {
		v = v[:i]
	}
	return strings.TrimSpace(v)
}

// stripAllComments removes RFC 5322 comments (nested, with quoted pairs)
// outside quoted strings.
func stripAllComments(v string) string {
	var b strings.Builder
	depth, quoted := 0, false
	for i := 0; i < len(v); i++ {
		c := v[i]
		switch {
		case c == '\\' && (depth > 0 || quoted) && i+1 < len(v):
			if depth == 0 {
				b.WriteByte(c)
				b.WriteByte(v[i+1])
			}
			i++
			continue
		case quoted:
			if c == '"' {
				quoted = false
			}
		case c == '(':
			depth++
			continue
		case c == ')' && depth > 0:
			depth--
			if depth == 0 {
				b.WriteByte(' ')
			}
			continue
		case depth > 0:
			continue
		case c == '"':
			quoted = true
		}
		b.WriteByte(c)
	}
	return strings.TrimSpace(b.String())
}

// canonSensitivity returns the canonical spelling of a Sensitivity value,
// "" for an undefined one (RFC 4021 2.1.55, DIGEST §2.2).
func canonSensitivity(v string) string {
	switch strings.ToLower(strings.TrimSpace(stripComments(v))) {
	case "private":
		return "Private"
	case "personal":
		return "Personal"
	case "company-confidential", "company confidential":
		return "Company-Confidential"
	}
	return ""
}

// canonImportance returns low, normal or high, "" when undefined (RFC 2156, DIGEST §2.3).
func canonImportance(v string) string {
	switch s := strings.ToLower(strings.TrimSpace(stripComments(v))); s {
	case "low", "normal", "high":
		return s
	}
	return ""
}

// setHeader plans replacing the first field name (or adding it) unless it
// already has the value.
func (ev *eval) setHeader(r *result, rule Rule, name, value string) {
	for _, f := range ev.m.Root.Header {
		if strings.EqualFold(f.Name, name) {
			if !sameValue(name, f.Value, value) {
				r.header(rule, HeaderEdit{Op: HeaderChange, Name: f.Name, Index: 1, Value: value})
			}
			return
		}
	}
	r.header(rule, HeaderEdit{Op: HeaderAdd, Name: name, Value: value})
}

// sameValue reports whether two values of field name mean the same, so
// that a field already right is not rewritten (issue 10: "Edit only what a
// rule requires"): white space and folding never count; in the structured
// fields (RFC 2045, RFC 3458) neither does case, nor for media types
// parameter order, quoting or RFC 2231 encoding.
func sameValue(name, a, b string) bool {
	a, b = strings.Join(strings.Fields(unfold(a)), " "), strings.Join(strings.Fields(unfold(b)), " ")
	if a == b {
		return true
	}
	switch strings.ToLower(name) {
	case "content-type", "content-disposition":
		ta, pa, ea := mime.ParseMediaType(a)
		tb, pb, eb := mime.ParseMediaType(b)
		if ea != nil || eb != nil || ta != tb || len(pa) != len(pb) {
			return false
		}
		for k, v := range pa {
			w, ok := pb[k]
			if !ok || !(v == w || k == "version" && mvmVersion2(v) == mvmVersion2(w) && strings.TrimSpace(v) == strings.TrimSpace(w)) {
				return false
			}
		}
		return true
	case "mime-version", "message-context", "content-transfer-encoding", "importance", "sensitivity":
		return strings.EqualFold(a, b)
	}
	return false
}

// deleteAll plans deleting every field called name (highest index first so
// that indexes stay valid).
func (ev *eval) deleteAll(r *result, rule Rule, name string) {
	for i := fieldCount(ev.m.Root.Header, name); i >= 1; i-- {
		r.header(rule, HeaderEdit{Op: HeaderDelete, Name: name, Index: i})
	}
}

// planHeader plans the top-level header edits for the target (DIGEST §7).
func planHeader(ev *eval) (r result) {
	root := ev.m.Root
	h := root.Header
	s := ev.spec
	if s.mimeVersion != "" {
		ev.setHeader(&r, ev.rid(ruleV2HdrMIMEVer, ruleD1HdrMIMEVer), "MIME-Version", s.mimeVersion) // RFC 3801 4.2.10, RFC 1911 4.2
	}
	if ev.target == TargetVPIM2 {
		if _, ok := root.Get("Subject"); !ok {
			ev.setHeader(&r, ruleV2HdrSubj, "Subject", "Voice Message") // RFC 3801 4.2.15
		}
	}
	if s.context != "" {
		ev.setHeader(&r, ruleICtx, "Message-Context", s.context) // RFC 4239 3, RFC 3458
	}
	// DIGEST D1-HDR-XTRA: undefined v1-draft fields; a receipt request
	// becomes Disposition-Notification-To (RFC 3798).
	if fieldCount(h, "Generate-Receipt-Notification") > 0 {
		if _, ok := root.Get("Disposition-Notification-To"); !ok {
			if from, ok := root.Get("From"); ok {
				r.header(ruleD1HdrXtra, HeaderEdit{Op: HeaderAdd, Name: "Disposition-Notification-To", Value: from})
			}
		}
	}
	for _, n := range []string{"Generate-Receipt-Notification", "Generate-Delivery-Notification", "Return-content"} {
		ev.deleteAll(&r, ruleD1HdrXtra, n)
	}
	return r
}
