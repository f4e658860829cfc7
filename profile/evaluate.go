package profile

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

// partEdit is what the rewrite does to one part.
type partEdit struct {
	drop      bool
	header    []Field // replacement header (nil: unchanged)
	transcode string  // target codec format ("" none)
	from      string  // source codec format
	dur       bool    // write Content-Duration from the transcoded samples
	wrap      string  // top level only: wrap the body in a multipart with this boundary
}

// eval is the state of one evaluation.
type eval struct {
	ctx     context.Context
	e       *Engine
	in      *Input
	m       *Message
	rep     *Report
	profile string
	target  Target
	report  bool // multipart/report (DSN/MDN)
	unfixed []string
	edits   map[*Part]*partEdit
	hdr     []HeaderEdit
	audioN  int
	ioErr   error // reading the body failed during planning: Evaluate returns it
}

// patterns are the engine's compiled regular expressions, built once per
// Engine (not at package init, so commands that never evaluate a message
// do not pay for them).
type patterns struct {
	draftMsgID   *regexp.Regexp // DIGEST §2.1 (1994 draft Message-ID form)
	bareMsgID    *regexp.Regexp
	properMsgID  *regexp.Regexp
	twoDigitYear *regexp.Regexp
}

func compilePatterns() patterns {
	return patterns{
		draftMsgID:   regexp.MustCompile(`^([A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)+)-([0-9]{8,})$`),
		bareMsgID:    regexp.MustCompile(`^[^<>\s@]+@[^<>\s@]+$`),
		properMsgID:  regexp.MustCompile(`^<[^<>\s]+@[^<>\s]+>$`),
		twoDigitYear: regexp.MustCompile(`^(?:[A-Za-z]{3},\s*)?\d{1,2}\s+[A-Za-z]{3}\s+(\d+)\s+\d{1,2}:\d{2}(?::\d{2})?\s*(\S+)?`),
	}
}

func newEval(ctx context.Context, e *Engine, in *Input, m *Message) *eval {
	return &eval{ctx: ctx, e: e, in: in, m: m, edits: map[*Part]*partEdit{},
		rep: &Report{Findings: []Finding{}, Actions: []string{}, Bridge: []string{}}}
}

func (ev *eval) add(id, part, format string, args ...any) {
	ev.rep.Findings = append(ev.rep.Findings, finding(id, part, format, args...))
}

// addAt is add with the level of the requirement behind this one finding.
func (ev *eval) addAt(lvl Level, id, part, format string, args ...any) {
	ev.rep.Findings = append(ev.rep.Findings, findingAt(lvl, id, part, format, args...))
}

// unfix records that a MUST-level defect stays in the delivered message.
func (ev *eval) unfix(why string) { ev.unfixed = append(ev.unfixed, why) }

func (ev *eval) isV1() bool { return ev.profile == "v1-draft" || ev.profile == "vpim1" }

// run performs detection, checks, policy and planning.
func (ev *eval) run() {
	root := ev.m.Root
	ev.routeRecipients()
	ev.rep.Target = ev.target
	limited := ev.limits()
	ev.profile = "none"
	if !limited {
		ev.profile = ev.detect()
	}
	ev.rep.Profile = ev.profile
	if ev.profile == "none" {
		ev.finish() // ordinary mail is never touched; only bridge hand-offs are listed
		return
	}
	ev.report = root.Type == "multipart/report"
	ev.structure()
	if !limited {
		ev.checkHeader()
		ev.checkParts()
	}
	if ev.privacy() {
		return
	}
	if limited || ev.target == TargetPassthrough || ev.target == TargetBridge {
		ev.unfixed = nil // passed through unchanged by definition
		ev.finish()
		return
	}
	if ev.report {
		ev.planReport()
	} else {
		ev.planHeader()
		ev.planParts()
	}
	ev.finish()
}

// routeRecipients computes the body target and the bridge recipients.
func (ev *eval) routeRecipients() {
	ev.target = ""
	for _, r := range ev.in.Envelope.Rcpts {
		res := ev.e.Recipient(ev.in.Envelope.From, r, "")
		if res.Reject != nil {
			continue
		}
		if res.Target == TargetBridge {
			ev.rep.Bridge = append(ev.rep.Bridge, r.Addr)
			continue
		}
		if ev.target == "" {
			ev.target = res.Target
		}
	}
	if ev.target == "" {
		if len(ev.rep.Bridge) > 0 {
			ev.target = TargetBridge
		} else {
			ev.target = ev.e.opts.DefaultTarget
		}
	}
}

// limits reports (and records) whether the message exceeded a parse limit.
func (ev *eval) limits() bool {
	m, lim := ev.m, ev.e.opts.Limits
	var why []string
	if m.HeaderSize > lim.MaxHeaderBytes {
		why = append(why, fmt.Sprintf("header block of %d bytes exceeds %d", m.HeaderSize, lim.MaxHeaderBytes))
	}
	if m.DepthLimit {
		why = append(why, fmt.Sprintf("MIME nesting deeper than %d", lim.MaxDepth))
	}
	if m.PartLimit {
		why = append(why, fmt.Sprintf("more than %d MIME parts", lim.MaxParts))
	}
	if len(why) == 0 {
		return false
	}
	ev.add("P-LIMIT", "", "%s: message not interpreted, passed through unchanged", strings.Join(why, "; "))
	return true
}

// isAudioPart reports whether a leaf is audio by label or by bytes.
func (ev *eval) isAudioPart(p *Part) bool {
	if p.IsMultipart() || p.Embedded != nil {
		return false
	}
	return strings.HasPrefix(p.Type, "audio/") || isAudioFormat(p.Sniffed) ||
		(ev.e.opts.Codec != nil && len(p.Head) > 0 && ev.e.opts.Codec.Sniff(p.Head) != "")
}

// hasAudio reports whether p or a descendant (not entering embedded
// messages) is audio.
func (ev *eval) hasAudio(p *Part) bool {
	if ev.isAudioPart(p) {
		return true
	}
	for _, c := range p.Children {
		if ev.hasAudio(c) {
			return true
		}
	}
	return false
}

// findMVM finds a multipart/voice-message at the top level, inside a
// top-level multipart/mixed, or under a top-level message/rfc822 chain
// (DIGEST §7 detection rule 1).
func findMVM(p *Part) *Part {
	for i := 0; p != nil && i < 64; i++ {
		switch {
		case p.Type == "multipart/voice-message":
			return p
		case p.Type == "multipart/mixed":
			for _, c := range p.Children {
				if c.Type == "multipart/voice-message" {
					return c
				}
			}
			return nil
		case p.Embedded != nil:
			p = p.Embedded
		default:
			return nil
		}
	}
	return nil
}

func hasVoiceDisp(p *Part) bool {
	if _, ok := p.DispositionParams["voice"]; ok {
		return true
	}
	for _, c := range p.Children {
		if hasVoiceDisp(c) {
			return true
		}
	}
	return false
}

// mvmVersion2 reports whether a version parameter is 2 or later (DIGEST §2.9).
func mvmVersion2(v string) bool {
	f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
	return err == nil && f >= 2
}

// detect classifies the message, first match wins (DIGEST §7).
func (ev *eval) detect() string {
	root := ev.m.Root
	if root.Type == "multipart/report" {
		// A DSN/MDN is voice when its human-readable part is spoken or it
		// returns a voice message.
		if len(root.Children) > 0 && ev.isAudioPart(root.Children[0]) {
			if hasVoiceDisp(root.Children[0]) {
				return "vpim2"
			}
			return "ivm"
		}
		for _, c := range root.Children {
			if c.Embedded != nil {
				sub := &eval{e: ev.e, m: &Message{Root: c.Embedded}}
				if p := sub.detect(); p != "none" {
					return p
				}
			}
		}
		return "none"
	}
	if mvm := findMVM(root); mvm != nil {
		if mvmVersion2(mvm.Params["version"]) || hasVoiceDisp(mvm) {
			return "vpim2" // DIGEST §7.1: version-less MVM with voice= is "v2-sloppy"
		}
		return "vpim1"
	}
	if v, _ := root.Get("Message-Context"); strings.EqualFold(v, "voice-message") {
		return "ivm"
	}
	audio := ev.hasAudio(root)
	strong, weak := false, false
	if v, _ := root.Get("MIME-Version"); containsFold(v, "(voice profile version 1") || containsFold(v, "(voice 1.0") {
		strong = true
	}
	ev.m.Walk(func(p *Part, _ int) bool {
		if p.Type == "audio/adpcm" || p.Type == "text/signature" {
			strong = true
		}
		if strings.EqualFold(p.Encoding, "base-64") {
			weak = true
		}
		return true
	})
	if v, ok := root.Get("Message-ID"); ok && ev.e.re.draftMsgID.MatchString(v) {
		weak = true
	}
	if fieldCount(root.Header, "Generate-Receipt-Notification")+fieldCount(root.Header, "Generate-Delivery-Notification") > 0 {
		weak = true
	}
	if strong || weak && audio {
		return "v1-draft"
	}
	if audio && ev.vendor() {
		return "vendor"
	}
	// Project extension: audio/32KADPCM is registered for VPIM (RFC 3802
	// 1), so a message carrying it at the top level or in the top-level
	// multipart/mixed is VPIM even without multipart/voice-message.
	if root.Type == "audio/32kadpcm" {
		return "vpim2"
	}
	for _, c := range root.Children {
		if root.Type == "multipart/mixed" && c.Type == "audio/32kadpcm" {
			return "vpim2"
		}
	}
	return "none"
}

// vendor reports vendor voicemail markers (DIGEST §6, §7 rule 4).
func (ev *eval) vendor() bool {
	for _, f := range ev.m.Root.Header {
		n := f.Name
		switch {
		case hasPrefixFold(n, "X-Asterisk-"), hasPrefixFold(n, "X-CNS-"),
			strings.EqualFold(n, "X-CallingTelephoneNumber"), strings.EqualFold(n, "X-VoiceMessageDuration"),
			strings.EqualFold(n, "X-VoiceMessageSenderName"):
			return true
		case strings.EqualFold(n, "Content-Class"):
			if hasPrefixFold(unfold(f.Value), "voice") || strings.EqualFold(unfold(f.Value), "missedcall") {
				return true
			}
		}
	}
	found := false
	ev.m.Walk(func(p *Part, _ int) bool {
		if d, ok := p.Get("Content-Description"); ok && ev.isAudioPart(p) &&
			(containsFold(d, "mobeon voice") || containsFold(d, "cisco voice")) {
			found = true
			return false
		}
		return true
	})
	return found
}

// structure reports MIME defects (DIGEST §8): bad delimiters, base64,
// unparsable types, lying audio labels.
func (ev *eval) structure() {
	ev.m.Walk(func(p *Part, _ int) bool {
		if p.TypeInvalid {
			ev.add("P-CT-SYNTAX", p.Path, "unparsable Content-Type %q", p.RawType)
		}
		if p.IsMultipart() {
			switch {
			case p.Params["boundary"] == "":
				ev.add("P-MIME-BOUNDARY", p.Path, "multipart without boundary parameter")
				ev.unfix("multipart without boundary")
			case p.NoParts:
				ev.add("P-MIME-BOUNDARY", p.Path, "no delimiter line for boundary %q", p.Params["boundary"])
				ev.unfix("multipart without parts")
			case p.Unclosed:
				ev.add("P-MIME-CLOSE", p.Path, "missing or malformed close delimiter --%s--", p.Params["boundary"])
			}
		}
		if p.Truncated && !p.IsMultipart() && p.Embedded == nil {
			ev.add("P-MIME-CLOSE", p.Path, "body ends without a delimiter (truncated)")
		}
		if p.BadBase64 {
			ev.add("P-B64", p.Path, "invalid or truncated base64 data")
		}
		if !p.IsMultipart() && p.Embedded == nil {
			ev.checkLabel(p)
		}
		return true
	})
}

// checkLabel compares an audio label with the bytes (DIGEST §6: detect by
// content, not by label).
func (ev *eval) checkLabel(p *Part) {
	s := p.Sniffed
	switch {
	case strings.HasPrefix(p.Type, "audio/") && s != "" && !isAudioFormat(s):
		ev.add("P-AUDIO-LABEL", p.Path, "labelled %s but the content is %s", p.Type, s)
	case strings.HasPrefix(p.Type, "audio/") && isAudioFormat(s) && labelFormat(p.Type) != "" && labelFormat(p.Type) != s && !(labelFormat(p.Type) == "basic" && s == "au"):
		ev.add("P-AUDIO-LABEL", p.Path, "labelled %s but the content is %s", p.Type, s)
	case strings.HasPrefix(p.Type, "audio/") && containerLabel(p.Type) && s == "" && p.Data > 0:
		ev.add("P-AUDIO-LABEL", p.Path, "labelled %s but the content has no RIFF/WAVE header", p.Type)
	case !strings.HasPrefix(p.Type, "audio/") && isAudioFormat(s):
		ev.add("P-AUDIO-LABEL", p.Path, "labelled %s but the content is %s audio", p.Type, s)
	}
	if ev.isAudioPart(p) && p.Data == 0 {
		ev.add("P-AUDIO-EMPTY", p.Path, "audio part without data")
	}
}

// rid picks the rule ID of the input profile's family.
func (ev *eval) rid(v2, d1 string) string {
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
func (ev *eval) ridIMF(v2, d1 string) string {
	if ev.target == TargetIVM {
		return "I-IMF"
	}
	return ev.rid(v2, d1)
}

// checkHeader checks the top-level header (DIGEST §1, §2).
func (ev *eval) checkHeader() {
	root := ev.m.Root
	h := root.Header
	if ev.report {
		if ev.profile == "vpim2" {
			ev.add("V2-DSN", "", "delivery/disposition report: passed through, only a spoken part is adapted")
		}
		return
	}
	if _, ok := root.Get("From"); !ok {
		ev.add(ev.rid("V2-HDR-FROM", "D1-HDR-FROM"), "", "From field missing")
		ev.unfix("From missing")
	}
	if d, ok := root.Get("Date"); !ok {
		ev.add(ev.rid("V2-HDR-DATE", "D1-HDR-DATE"), "", "Date field missing")
	} else {
		ev.checkDate(d)
	}
	if n := fieldCount(h, "To"); n > 1 {
		// RFC 4239 3 (I-IMF): RFC 2822 3.6 allows one To field.
		ev.add(ev.ridIMF("V2-HDR-TO", "D1-HDR-TO"), "", "%d To fields (RFC 5322 allows one)", n)
	}
	if _, ok := root.Get("MIME-Version"); !ok {
		ev.add(ev.rid("V2-HDR-MIMEVER", "D1-HDR-MIMEVER"), "", "MIME-Version missing")
	}
	if v, ok := root.Get("Message-ID"); !ok {
		ev.add(ev.rid("V2-HDR-MSGID", "D1-HDR-MSGID"), "", "Message-ID missing")
	} else if !ev.e.re.properMsgID.MatchString(stripComments(v)) {
		// RFC 4239 3 (I-IMF): an IVM message carries an RFC 2822 msg-id,
		// "<" id-left "@" id-right ">".
		switch draft := ev.e.re.draftMsgID.FindStringSubmatch(v); {
		case ev.profile == "v1-draft" && draft != nil:
			if len(draft[2]) != 8 {
				ev.add("D1-HDR-MSGID", "", "v1-draft Message-ID %q: serial has %d digits, not 8", v, len(draft[2]))
			}
			if ev.target == TargetIVM {
				ev.add("I-IMF", "", "Message-ID %q in v1-draft form, not <id@host>", v)
			}
		case draft != nil:
			ev.add(ev.ridIMF("V2-HDR-MSGID", "D1-HDR-MSGID"), "", "Message-ID %q in v1-draft form, not <id@host>", v)
		default:
			ev.add(ev.ridIMF("V2-HDR-MSGID", "D1-HDR-MSGID"), "", "Message-ID %q not in <id@host> form", v)
		}
	}
	if v, ok := root.Get("Sensitivity"); ok {
		switch c := canonSensitivity(v); {
		case c == "":
			ev.add(ev.rid("V2-HDR-SENS", "D1-HDR-SENS"), "", "Sensitivity %q is not a defined value", v)
		case c != v:
			ev.add(ev.rid("V2-HDR-SENS", "D1-HDR-SENS"), "", "Sensitivity %q not in canonical form %q", v, c)
		case !ev.isV1() && c != "Private":
			ev.add("V2-HDR-SENS", "", "Sensitivity %s has no VPIM semantics and should not be sent", c)
		}
	}
	if v, ok := root.Get("Importance"); ok {
		if c := canonImportance(v); c == "" {
			ev.add(ev.rid("V2-HDR-IMP", "D1-HDR-IMP"), "", "Importance %q is not low, normal or high", v)
		} else if c != v {
			ev.add(ev.rid("V2-HDR-IMP", "D1-HDR-IMP"), "", "Importance %q not in canonical form %q", v, c)
		}
	}
	if _, ok := root.Get("Subject"); !ok && ev.target == TargetVPIM2 {
		ev.add("V2-HDR-SUBJ", "", "Subject missing")
	}
	for _, n := range []string{"Generate-Receipt-Notification", "Generate-Delivery-Notification", "Return-content"} {
		if fieldCount(h, n) > 0 {
			ev.add("D1-HDR-XTRA", "", "undefined field %s", n)
		}
	}
	if v, _ := root.Get("MIME-Version"); ev.profile == "vpim2" && !containsFold(v, "(voice 2") {
		ev.add("V2-HDR-MIMEVER", "", "MIME-Version lacks the (Voice 2.0) comment")
	}
	if v, _ := root.Get("MIME-Version"); ev.profile == "vpim1" && !containsFold(v, "(voice 1") {
		ev.add("D1-HDR-MIMEVER", "", "MIME-Version lacks the (Voice 1.0) comment")
	}
	if ev.profile == "vpim2" && root.Type != "multipart/voice-message" {
		ev.add("V2-HDR-CT", "", "top level is %s, not multipart/voice-message", root.Type)
	}
	if ev.target == TargetIVM {
		if v, _ := root.Get("Message-Context"); !strings.EqualFold(v, "voice-message") {
			ev.add("I-CTX", "", "Message-Context: voice-message missing")
		}
	}
}

// checkDate flags obsolete date forms (RFC 3801 4.2.4, DIGEST §2.11). For
// an IVM target they are I-IMF defects (RFC 4239 3): RFC 2822 3.3 wants a
// 4-digit year and a numeric zone (obs-year and obs-zone MUST NOT be
// generated, RFC 2822 4).
func (ev *eval) checkDate(d string) {
	id := ev.ridIMF("V2-HDR-DATE", "D1-HDR-DATE")
	m := ev.e.re.twoDigitYear.FindStringSubmatch(d)
	if m == nil {
		ev.add(id, "", "Date %q not in RFC 5322 form", d)
		return
	}
	if len(m[1]) < 4 {
		ev.add(id, "", "Date %q has a %d-digit year", d, len(m[1]))
	}
	if z := m[2]; z != "" && z[0] != '+' && z[0] != '-' {
		ev.add(id, "", "Date %q has no numeric zone", d)
	}
}

func stripComments(v string) string {
	if i := strings.IndexByte(v, '('); i >= 0 {
		v = v[:i]
	}
	return strings.TrimSpace(v)
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

// voiceValues are the registered voice= values (RFC 3801 4.3.2).
var voiceValues = [...]string{"Voice-Message", "Voice-Message-Notification", "Originator-Spoken-Name", "Recipient-Spoken-Name", "Spoken-Subject"}

func canonVoice(v string) string {
	for _, c := range voiceValues {
		if strings.EqualFold(c, strings.TrimSpace(v)) {
			return c
		}
	}
	return ""
}

// checkParts checks the parts outside embedded messages, and embedded
// messages' own headers (RFC 3801 4.8).
func (ev *eval) checkParts() {
	var walk func(p *Part, inMVM bool)
	walk = func(p *Part, inMVM bool) {
		if p.Embedded != nil {
			ev.checkForward(p)
			return
		}
		switch {
		case p.Type == "multipart/voice-message":
			if _, ok := p.Params["version"]; !ok && ev.profile == "vpim2" {
				ev.add("V2-MVM", p.Path, "multipart/voice-message without version parameter")
			} else if !ok {
				ev.add("D1-MVM", p.Path, "multipart/voice-message without version: RFC 1911 positional semantics")
			}
			for _, c := range p.Children {
				walk(c, true)
			}
			return
		case p.IsMultipart():
			for _, c := range p.Children {
				walk(c, inMVM && p.Type != "multipart/mixed")
			}
			return
		}
		if strings.EqualFold(p.Encoding, "base-64") {
			ev.add("D1-ENC", p.Path, "Content-Transfer-Encoding %q is not base64", p.RawEncoding)
		}
		switch p.Type {
		case "audio/adpcm":
			ev.add("D1-CT-ADPCM", p.Path, "Audio/ADPCM is the pre-registration name of audio/32KADPCM")
		case "text/signature":
			ev.add("D1-CT-SIG", p.Path, "Text/Signature: SpokenName is not extracted") // todo DIGEST D1-CT-SIG
		case "message/notification", "multipart/notification":
			ev.add("D1-CT-NOTIF", p.Path, "pre-standard %s", p.Type)
		case "image/tiff":
			if !strings.EqualFold(p.Params["application"], "faxbw") {
				ev.add("V2-FAX", p.Path, "image/tiff without application=faxbw")
			}
		}
		if ev.isAudioPart(p) {
			ev.checkAudio(p)
		} else if inMVM && ev.profile == "vpim2" {
			switch {
			case p.Type == "text/plain":
				ev.add("V2-TEXT", p.Path, "text/plain inside multipart/voice-message")
			case p.Type == "text/directory":
				ev.add("V2-VCARD", p.Path, "vCard (text/directory) should no longer be sent")
			case strings.HasPrefix(p.Type, "image/"):
			default:
				ev.add("V2-MVM-INNER", p.Path, "%s is not allowed inside multipart/voice-message", p.Type)
			}
		}
	}
	walk(ev.m.Root, false)
}

// checkAudio checks one audio part (RFC 3801 4.3, RFC 4239 7).
func (ev *eval) checkAudio(p *Part) {
	d := p.DispositionParams
	switch {
	case p.Disposition == "":
		ev.add("V2-PART-DISP", p.Path, "audio part without Content-Disposition")
	case p.Disposition != "inline":
		ev.add("V2-PART-DISP", p.Path, "audio disposition %q, not inline", p.Disposition)
	}
	if v, ok := d["voice"]; !ok && p.Disposition != "" {
		ev.add("V2-PART-DISP", p.Path, "audio part without voice= parameter")
	} else if ok && canonVoice(v) == "" {
		ev.add("V2-PART-DISP", p.Path, "unregistered voice=%s", v)
	}
	f := audioFormat(p, ev.e.opts.Codec)
	if secs, ok := durationSeconds(f, p.Head, p.Data); ok && !p.BadBase64 && !p.Truncated {
		switch {
		case p.RawDuration == "":
			ev.add(ev.ridT("V2-PART-DUR", "I-VOICEPARAM"), p.Path, "Content-Duration missing (audio is %d s)", secs)
		case p.Duration < 0:
			ev.add(ev.ridT("V2-PART-DUR", "I-VOICEPARAM"), p.Path, "Content-Duration %q is not 1*10DIGIT", p.RawDuration)
		case absDiff(p.Duration, secs) > 1:
			ev.add(ev.ridT("V2-PART-DUR", "I-VOICEPARAM"), p.Path, "Content-Duration %d but the audio lasts %d s", p.Duration, secs)
		}
	}
	switch ev.target {
	case TargetIVM:
		if p.Type != "audio/basic" || f != "basic" {
			ev.add("I-AUDIO", p.Path, "audio is %s (%s), IVM mandates raw µ-law audio/basic", p.Type, orUnknown(f))
		}
		if h := strings.ToUpper(d["handling"]); h == "" && !strings.EqualFold(d["criticality"], "critical") {
			ev.add("I-CRIT", p.Path, "voice part not marked handling=REQUIRED")
		}
		// RFC 4239 7 (I-CODEC-TX): raw µ-law audio/basic SHOULD carry a
		// filename ending in ".au". Checked where the rewrite keeps the
		// part as it is (a transcoded part gets msgN.au); reports pass
		// unchanged (DIGEST §5).
		if !ev.report && ev.keepsBasic(p, f) && !auNamed(p) {
			fn, name := d["filename"], p.Params["name"]
			switch {
			case fn == "":
				ev.addAt(LevelShould, "I-CODEC-TX", p.Path, "audio/basic part without a filename (one ending in .au)")
			case !hasSuffixFold(fn, ".au"):
				ev.addAt(LevelShould, "I-CODEC-TX", p.Path, "audio/basic filename %q does not end in .au", fn)
			default:
				ev.addAt(LevelShould, "I-CODEC-TX", p.Path, "audio/basic name=%q does not end in .au like its filename", name)
			}
		}
	case TargetVPIM2, TargetVPIM1:
		if f != "32kadpcm" || p.Type != "audio/32kadpcm" {
			ev.add("V2-ADPCM", p.Path, "audio is %s (%s), VPIM mandates audio/32KADPCM", p.Type, orUnknown(f))
		}
	}
	if p.Encoding == "quoted-printable" || p.Encoding == "7bit" || p.Encoding == "8bit" {
		ev.add("V2-HDR-CTE", p.Path, "audio sent with %s, must be base64 or binary", p.Encoding)
	}
}

// ridT picks a rule ID by target family.
func (ev *eval) ridT(vpim, ivm string) string {
	if ev.target == TargetIVM {
		return ivm
	}
	return vpim
}

func orUnknown(s string) string {
	if s == "" {
		return "unknown format"
	}
	return s
}

func absDiff(a, b int64) int64 {
	if a > b {
		return a - b
	}
	return b - a
}

// checkForward checks an embedded message (RFC 3801 4.8).
func (ev *eval) checkForward(p *Part) {
	if ev.report {
		return // the returned original in a DSN/MDN is not a forward
	}
	in := p.Embedded
	_, from := in.Get("From")
	_, subj := in.Get("Subject")
	_, date := in.Get("Date")
	if !from && !subj && !date {
		ev.add("V2-FWD", p.Path, "forwarded message has none of From, Subject, Date")
	}
	if _, ok := in.Get("MIME-Version"); !ok {
		ev.add("V2-FWD", p.Path, "forwarded message lacks MIME-Version")
	}
	if _, ok := in.Get("Content-Type"); !ok {
		ev.add("V2-FWD", p.Path, "forwarded message lacks Content-Type")
	}
}

// privacy applies DIGEST §3 and reports whether the message is refused.
func (ev *eval) privacy() bool {
	root := ev.m.Root
	sens, has := root.Get("Sensitivity")
	private := has && (ev.isV1() || canonSensitivity(sens) == "Private")
	forwarded := false
	if !ev.report {
		ev.m.Walk(func(p *Part, _ int) bool {
			if p.Embedded != nil {
				if v, ok := p.Embedded.Get("Sensitivity"); ok && canonSensitivity(v) == "Private" {
					forwarded = true
					ev.add("V2-FWD", p.Path, "forwarded content is marked Sensitivity: Private")
				}
			}
			return !forwarded
		})
		resent := false
		for _, f := range root.Header {
			if hasPrefixFold(f.Name, "Resent-") {
				resent = true
			}
		}
		if private && resent {
			forwarded = true
			ev.add(ev.rid("V2-HDR-SENS", "D1-HDR-SENS"), "", "a Private message is being re-sent (Resent-* fields)")
		}
	}
	if !private && !forwarded {
		return false
	}
	why := ""
	if forwarded {
		why = "forwarding of private content is prohibited"
	} else {
		for _, r := range ev.in.Envelope.Rcpts {
			_, domain := parseRecipient(r.Addr)
			res := ev.e.Recipient(ev.in.Envelope.From, r, "")
			if res.Reject != nil || res.Target == TargetPassthrough {
				continue // refused at RCPT, or outside the filter's policy
			}
			if res.Target == TargetBridge {
				// DIGEST §3: an outdial cannot stop forwarding or replay.
				why = "the telephony bridge cannot assure privacy"
				break
			}
			if !ev.e.privacyCapable(domain) {
				why = "privacy could not be assured by " + domain
				break
			}
		}
		if len(ev.in.Envelope.Rcpts) == 0 && !ev.e.privacyCapable("") {
			why = "privacy could not be assured by the " + string(ev.target) + " destination"
		}
	}
	if why == "" {
		ev.add(ev.rid("V2-HDR-SENS", "D1-HDR-SENS"), "", "Private message to privacy-capable destinations")
		return false
	}
	code := ev.e.opts.SensitivityCode
	if code == "" {
		code = "5.6.0" // RFC 3801 4.2.13
		if ev.isV1() {
			code = "5.3.3" // RFC 3801 App. C, DIGEST §3
		}
	}
	ev.add(ev.rid("V2-HDR-SENS", "D1-HDR-SENS"), "", "message marked private: %s", why)
	ev.rep.Plan.Decision = Decision{Verdict: VerdictReject, Reply: Reply{Code: 550, Enhanced: code,
		Text: "message marked private: " + why + "; the message was not delivered"}}
	ev.rep.Actions = append(ev.rep.Actions, "reject "+ev.rep.Plan.Decision.Reply.String())
	return true
}

// messageID plans the Message-ID edit (DIGEST §2.1).
func (ev *eval) messageID() {
	if ev.e.opts.MessageIDPolicy == "keep" {
		return
	}
	root := ev.m.Root
	v, ok := root.Get("Message-ID")
	name := "Message-ID"
	for _, f := range root.Header {
		if strings.EqualFold(f.Name, "Message-ID") {
			name = f.Name
			break
		}
	}
	switch {
	case !ok:
		ev.hdr = append(ev.hdr, HeaderEdit{Op: HeaderAdd, Name: "Message-ID", Value: ev.generateID()})
	case ev.e.re.properMsgID.MatchString(stripComments(v)):
	case ev.e.re.draftMsgID.MatchString(v):
		m := ev.e.re.draftMsgID.FindStringSubmatch(v)
		ev.hdr = append(ev.hdr, HeaderEdit{Op: HeaderChange, Name: name, Index: 1, Value: "<" + m[2] + "@" + m[1] + ">"},
			HeaderEdit{Op: HeaderAdd, Name: "X-Original-Message-ID", Value: v})
	case ev.e.re.bareMsgID.MatchString(v):
		ev.hdr = append(ev.hdr, HeaderEdit{Op: HeaderChange, Name: name, Index: 1, Value: "<" + v + ">"},
			HeaderEdit{Op: HeaderAdd, Name: "X-Original-Message-ID", Value: v})
	default:
		ev.hdr = append(ev.hdr, HeaderEdit{Op: HeaderChange, Name: name, Index: 1, Value: ev.generateID()},
			HeaderEdit{Op: HeaderAdd, Name: "X-Original-Message-ID", Value: v})
	}
}

// generateID derives a stable Message-ID from the header and body size, so
// that check and rewrite agree.
func (ev *eval) generateID() string {
	h := sha256.New()
	for _, f := range ev.m.Root.Header {
		h.Write([]byte(f.Name + ":" + f.Value + "\n"))
	}
	fmt.Fprintf(h, "%d", ev.m.Root.Size)
	return "<" + hex.EncodeToString(h.Sum(nil))[:24] + ".vpim@" + ev.e.opts.Hostname + ">"
}

// setHeader plans replacing the first field name (or adding it).
func (ev *eval) setHeader(name, value string) {
	for _, f := range ev.m.Root.Header {
		if strings.EqualFold(f.Name, name) {
			if unfold(f.Value) != strings.TrimSpace(value) {
				ev.hdr = append(ev.hdr, HeaderEdit{Op: HeaderChange, Name: f.Name, Index: 1, Value: value})
			}
			return
		}
	}
	ev.hdr = append(ev.hdr, HeaderEdit{Op: HeaderAdd, Name: name, Value: value})
}

// deleteAll plans deleting every field called name (highest index first so
// that indexes stay valid).
func (ev *eval) deleteAll(name string) {
	n := fieldCount(ev.m.Root.Header, name)
	for i := n; i >= 1; i-- {
		ev.hdr = append(ev.hdr, HeaderEdit{Op: HeaderDelete, Name: name, Index: i})
	}
}

// planHeader plans the top-level header edits for the target (DIGEST §7).
func (ev *eval) planHeader() {
	root := ev.m.Root
	h := root.Header
	ev.messageID()
	switch ev.target {
	case TargetVPIM2:
		ev.setHeader("MIME-Version", "1.0 (Voice 2.0)") // RFC 3801 4.2.10
		if _, ok := root.Get("Subject"); !ok {
			ev.setHeader("Subject", "Voice Message") // RFC 3801 4.2.15
		}
	case TargetVPIM1:
		ev.setHeader("MIME-Version", "1.0 (Voice 1.0)") // RFC 1911 4.2
	case TargetIVM:
		ev.setHeader("Message-Context", "voice-message") // RFC 4239 3, RFC 3458
		if n := fieldCount(h, "To"); n > 1 {
			// RFC 5322 3.6: one To field; merge (RFC 4239 3 requires RFC 2822).
			var vals []string
			for _, f := range h {
				if strings.EqualFold(f.Name, "To") {
					vals = append(vals, strings.TrimSpace(f.Value))
				}
			}
			ev.hdr = append(ev.hdr, HeaderEdit{Op: HeaderChange, Name: "To", Index: 1, Value: strings.Join(vals, ", ")})
			for i := n; i >= 2; i-- {
				ev.hdr = append(ev.hdr, HeaderEdit{Op: HeaderDelete, Name: "To", Index: i})
			}
		}
	}
	if v, ok := root.Get("Importance"); ok {
		if c := canonImportance(v); c != "" && c != v {
			ev.setHeader("Importance", c)
		}
	}
	if v, ok := root.Get("Sensitivity"); ok {
		if c := canonSensitivity(v); c != "" && c != v {
			ev.setHeader("Sensitivity", c)
		}
	}
	// DIGEST D1-HDR-XTRA: undefined v1-draft fields; a receipt request
	// becomes Disposition-Notification-To (RFC 3798).
	if fieldCount(h, "Generate-Receipt-Notification") > 0 {
		if _, ok := root.Get("Disposition-Notification-To"); !ok {
			if from, ok := root.Get("From"); ok {
				ev.hdr = append(ev.hdr, HeaderEdit{Op: HeaderAdd, Name: "Disposition-Notification-To", Value: from})
			}
		}
	}
	for _, n := range []string{"Generate-Receipt-Notification", "Generate-Delivery-Notification", "Return-content"} {
		ev.deleteAll(n)
	}
}

// finish assembles actions and the terminal decision.
func (ev *eval) finish() {
	plan := &ev.rep.Plan
	plan.Headers = append(plan.Headers, ev.hdr...)
	for _, he := range plan.Headers {
		ev.rep.Actions = append(ev.rep.Actions, he.String())
	}
	if len(ev.edits) > 0 {
		rw := &rewriter{e: ev.e, in: ev.in, m: ev.m, edits: ev.edits}
		if rw.bodyChanges() {
			plan.Body = rw
		}
		ev.m.Walk(func(p *Part, _ int) bool {
			pe := ev.edits[p]
			if pe == nil {
				return true
			}
			label := p.Path
			if label == "" {
				label = "0"
			}
			switch {
			case pe.drop:
				ev.rep.Actions = append(ev.rep.Actions, fmt.Sprintf("drop part %s %s", label, p.Type))
			case pe.transcode != "":
				ev.rep.Actions = append(ev.rep.Actions, fmt.Sprintf("transcode part %s %s→%s (Content-Duration from the samples)", label, pe.from, pe.transcode))
			}
			if pe.header != nil && p.Path != "" {
				for _, f := range pe.header {
					if pe.dur && strings.EqualFold(f.Name, "Content-Duration") {
						continue
					}
					if old, ok := fieldValue(p.Header, f.Name); !ok || old != unfold(f.Value) {
						ev.rep.Actions = append(ev.rep.Actions, fmt.Sprintf("set part %s %s: %s", label, f.Name, unfold(f.Value)))
					}
				}
			}
			return true
		})
	}
	for _, r := range ev.in.Envelope.Rcpts {
		a, domain := parseRecipient(r.Addr)
		if ev.e.opts.Loopback && strings.EqualFold(a.Local, "loopback") && inList(ev.e.opts.VoiceDomains, domain) {
			// RFC 1911 4.1: returned as a new message whose originator is postmaster.
			ev.rep.Actions = append(ev.rep.Actions, fmt.Sprintf("reflect to sender %s from postmaster@%s (RFC 1911 loopback)", ev.in.Envelope.From, domain))
		}
	}
	for _, b := range ev.rep.Bridge {
		ev.rep.Actions = append(ev.rep.Actions, "hand to bridge "+b)
	}
	if ev.e.opts.Quarantine && len(ev.unfixed) > 0 && plan.Decision.Verdict == "" {
		plan.Decision = Decision{Verdict: VerdictQuarantine, Reason: "non-conforming voice mail: " + strings.Join(ev.unfixed, "; ")}
		ev.rep.Actions = append(ev.rep.Actions, "quarantine: "+plan.Decision.Reason)
	}
}
