package profile

import (
	"strings"
)

// Part checks: MIME structure (DIGEST §8), audio labels (DIGEST §6),
// the parts of each profile (RFC 3801 4.3-4.5, RFC 4239 7).

// checkStructure reports MIME defects: bad delimiters, base64,
// unparsable types, lying audio labels.
func checkStructure(ev *eval) (r result) {
	ev.m.Walk(func(p *Part, _ int) bool {
		if p.TypeInvalid {
			r.find(rulePCTSyntax, p.Path, "unparsable Content-Type %q", p.RawType)
		}
		if p.IsMultipart() {
			switch {
			case p.Params["boundary"] == "":
				r.find(rulePMIMEBoundary, p.Path, "multipart without boundary parameter")
				r.unfix(rulePMIMEBoundary, "multipart without boundary")
			case p.NoParts:
				r.find(rulePMIMEBoundary, p.Path, "no delimiter line for boundary %q", p.Params["boundary"])
				r.unfix(rulePMIMEBoundary, "multipart without parts")
			case p.Unclosed:
				r.find(rulePMIMEClose, p.Path, "missing or malformed close delimiter --%s--", p.Params["boundary"])
			}
		}
		if p.Truncated && p.IsLeaf() {
			r.find(rulePMIMEClose, p.Path, "body ends without a delimiter (truncated)")
		}
		if p.BadBase64 {
			r.find(rulePB64, p.Path, "invalid or truncated base64 data")
			r.unfix(rulePB64, "invalid base64 in part "+pathLabel(p))
		}
		if p.BadQP {
			r.find(rulePQP, p.Path, "quoted-printable data with bare control characters")
			r.unfix(rulePQP, "invalid quoted-printable in part "+pathLabel(p))
		}
		if p.IsLeaf() {
			ev.checkLabel(&r, p)
		}
		return true
	})
	return r
}

// checkLabel compares an audio label with the bytes (DIGEST §6: detect by
// content, not by label).
func (ev *eval) checkLabel(r *result, p *Part) {
	a := ev.info[p]
	bytesAudio := a.sniffed != "" && a.audio()
	label := labelFormat(p.Type)
	switch {
	case strings.HasPrefix(p.Type, "audio/") && a.sniffed != "" && !bytesAudio:
		r.find(rulePAudioLabel, p.Path, "labelled %s but the content is %s", p.Type, a.sniffed)
	case strings.HasPrefix(p.Type, "audio/") && bytesAudio && label != "" && label != a.sniffed && !(label == "basic" && a.sniffed == "au"):
		r.find(rulePAudioLabel, p.Path, "labelled %s but the content is %s", p.Type, a.sniffed)
	case strings.HasPrefix(p.Type, "audio/") && containerLabel(p.Type) && a.sniffed == "" && p.Data > 0:
		r.find(rulePAudioLabel, p.Path, "labelled %s but the content has no RIFF/WAVE header", p.Type)
	case !strings.HasPrefix(p.Type, "audio/") && bytesAudio:
		r.find(rulePAudioLabel, p.Path, "labelled %s but the content is %s audio", p.Type, a.sniffed)
	}
	if ev.isAudio(p) && p.Data == 0 {
		r.find(rulePAudioEmpty, p.Path, "audio part without data")
	}
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
func checkParts(ev *eval) (r result) {
	var walk func(p *Part, inMVM bool)
	walk = func(p *Part, inMVM bool) {
		if p.Embedded != nil {
			ev.checkForward(&r, p)
			if !ev.report {
				walk(p.Embedded, false) // RFC 4239 7: voice at any location
			}
			return
		}
		switch {
		case p.Type == "multipart/voice-message":
			if _, ok := p.Params["version"]; !ok && ev.profile == "vpim2" {
				r.find(ruleV2MVM, p.Path, "multipart/voice-message without version parameter")
			} else if !ok && ev.target != TargetVPIM1 {
				r.find(ruleD1MVM, p.Path, "multipart/voice-message without version: RFC 1911 positional semantics")
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
		if p.Encoding == "base-64" {
			r.find(ruleD1Enc, p.Path, "Content-Transfer-Encoding %q is not base64", p.RawEncoding)
		}
		switch p.Type {
		case "audio/adpcm":
			r.find(ruleD1CtADPCM, p.Path, "Audio/ADPCM is the pre-registration name of audio/32KADPCM")
		case "text/signature":
			r.find(ruleD1CtSig, p.Path, "Text/Signature: SpokenName is not extracted") // todo DIGEST D1-CT-SIG
		case "message/notification", "multipart/notification":
			// RFC 1911 4.3 uses these; the other profiles know them as
			// message/delivery-status and multipart/report (RFC 3464),
			// whose fields differ: not converted.
			if ev.target != TargetVPIM1 {
				r.find(ruleD1CtNotif, p.Path, "pre-standard %s", p.Type)
				r.unfix(ruleD1CtNotif, "pre-standard "+p.Type+" in part "+p.Path)
			}
		case "image/tiff":
			if ev.target == TargetVPIM2 && !strings.EqualFold(p.Params["application"], "faxbw") {
				r.find(ruleV2Fax, p.Path, "image/tiff without application=faxbw")
			}
		}
		if ev.isAudio(p) {
			ev.checkAudio(&r, p)
		} else if inMVM && ev.profile == "vpim2" {
			switch {
			case p.Type == "text/plain":
				r.find(ruleV2Text, p.Path, "text/plain inside multipart/voice-message")
			case p.Type == "text/directory":
				r.find(ruleV2VCard, p.Path, "vCard (text/directory) should no longer be sent")
			case strings.HasPrefix(p.Type, "image/"):
			default:
				r.find(ruleV2MVMInner, p.Path, "%s is not allowed inside multipart/voice-message", p.Type)
			}
		}
	}
	walk(ev.m.Root, false)
	return r
}

// checkAudio checks one audio part (RFC 3801 4.3, RFC 4239 7).
func (ev *eval) checkAudio(r *result, p *Part) {
	d := p.DispositionParams
	a := ev.info[p]
	f := a.format
	if ev.target == TargetDesktop {
		ev.checkDesktopAudio(r, p)
		return
	}
	if ev.target == TargetVPIM1 {
		// RFC 1911 4.3: Audio/32KADPCM by default; parts are identified
		// by position, not by Content-Disposition.
		if f != "32kadpcm" || p.Type != "audio/32kadpcm" {
			r.find(ruleD1CtADPCM, p.Path, "audio is %s (%s), VPIM v1 mandates Audio/32KADPCM", p.Type, orUnknown(f))
		}
		// RFC 3803 2: VPIM v1 does not use Content-Duration, but one the
		// part carries says how long it plays, and must say it right.
		if secs, ok := a.seconds(p); ok && p.RawDuration != "" && p.Data > 0 {
			switch {
			case p.Duration < 0:
				r.find(rulePAudioDur, p.Path, "Content-Duration %q is not 1*10DIGIT", p.RawDuration)
			case absDiff(p.Duration, secs) > 1:
				r.find(rulePAudioDur, p.Path, "Content-Duration %d but the audio lasts %d s", p.Duration, secs)
			}
		}
		ev.checkCTE(r, p)
		return
	}
	if ev.report {
		// DIGEST §5: a report passes as it is but for the encoding of its
		// spoken part; it is not a voice message (no voice=, no
		// criticality, RFC 4239 3).
		ev.checkEncoding(r, p, f)
		return
	}
	switch {
	case p.Disposition == "":
		r.find(ruleV2PartDisp, p.Path, "audio part without Content-Disposition")
	case p.Disposition != "inline":
		r.find(ruleV2PartDisp, p.Path, "audio disposition %q, not inline", p.Disposition)
	}
	if v, ok := d["voice"]; !ok && p.Disposition != "" {
		r.find(ruleV2PartDisp, p.Path, "audio part without voice= parameter")
	} else if ok && canonVoice(v) == "" {
		r.find(ruleV2PartDisp, p.Path, "unregistered voice=%s", v)
	}
	if secs, ok := a.seconds(p); ok {
		switch {
		case p.RawDuration == "":
			r.find(ev.ridT(ruleV2PartDur, ruleIVoiceParam), p.Path, "Content-Duration missing (audio is %d s)", secs)
		case p.Duration < 0:
			r.find(ev.ridT(ruleV2PartDur, ruleIVoiceParam), p.Path, "Content-Duration %q is not 1*10DIGIT", p.RawDuration)
		case absDiff(p.Duration, secs) > 1:
			r.find(ev.ridT(ruleV2PartDur, ruleIVoiceParam), p.Path, "Content-Duration %d but the audio lasts %d s", p.Duration, secs)
		}
	}
	ev.checkEncoding(r, p, f)
	switch ev.target {
	case TargetIVM:
		if h := strings.ToUpper(d["handling"]); h == "" && !strings.EqualFold(d["criticality"], "critical") {
			r.find(ruleICrit, p.Path, "voice part not marked handling=REQUIRED")
		}
		// RFC 4239 7 (I-CODEC-TX): raw µ-law audio/basic SHOULD carry a
		// filename ending in ".au". Checked where the rewrite keeps the
		// part as it is (a transcoded part gets msgN.au); reports pass
		// unchanged (DIGEST §5).
		if !ev.report && ev.keepsBasic(p, f) && !auNamed(p) {
			fn, name := d["filename"], p.Params["name"]
			switch {
			case fn == "":
				r.findAt(LevelShould, ruleICodecTx, p.Path, "audio/basic part without a filename (one ending in .au)")
			case !hasSuffixFold(fn, ".au"):
				r.findAt(LevelShould, ruleICodecTx, p.Path, "audio/basic filename %q does not end in .au", fn)
			default:
				r.findAt(LevelShould, ruleICodecTx, p.Path, "audio/basic name=%q does not end in .au like its filename", name)
			}
		}
	}
}

// checkEncoding checks the audio encoding and transfer encoding the target
// mandates (RFC 4239 7, RFC 3801 4.4.3, 4.2.12).
func (ev *eval) checkEncoding(r *result, p *Part, f string) {
	switch ev.target {
	case TargetIVM:
		ta := ev.spec.audio(&ev.e.opts)
		if p.Type != "audio/basic" || f != "basic" {
			if !(ta.format == f && strings.EqualFold(ta.mediaType, p.Type)) {
				r.find(ruleIAudio, p.Path, "audio is %s (%s), IVM mandates raw µ-law audio/basic", p.Type, orUnknown(f))
			}
		}
	case TargetVPIM2:
		if f != "32kadpcm" || p.Type != "audio/32kadpcm" {
			r.find(ruleV2ADPCM, p.Path, "audio is %s (%s), VPIM mandates audio/32KADPCM", p.Type, orUnknown(f))
		}
	}
	ev.checkCTE(r, p)
}

// checkCTE checks the transfer encoding of audio for VPIM: RFC 3801
// 4.2.12 "When binary transport is not available, implementations MUST
// encode the audio and/or facsimile data as "Base64""; RFC 1911 4.3 alike.
// IVM takes any MIME transfer encoding.
func (ev *eval) checkCTE(r *result, p *Part) {
	if textEncoding(p) && (ev.target == TargetVPIM2 || ev.target == TargetVPIM1) {
		r.find(ev.rid(ruleV2HdrCTE, ruleD1Enc), p.Path, "audio sent with %s, must be base64 or binary", p.Encoding)
	}
}

// textEncoding reports whether a part uses a transfer encoding for text
// (quoted-printable, 7bit, 8bit).
func textEncoding(p *Part) bool {
	return p.Encoding == "quoted-printable" || p.Encoding == "7bit" || p.Encoding == "8bit"
}

// checkLines reports base64 parts with lines longer than RFC 2045 6.8
// allows ("The encoded output stream must be represented in lines of no
// more than 76 characters each").
func checkLines(ev *eval) (r result) {
	if !ev.spec.rewrite {
		return r
	}
	ev.m.Walk(func(p *Part, _ int) bool {
		if p.IsLeaf() && isBase64(p.Encoding) && !p.BadBase64 && p.MaxLine > 76 {
			r.find(rulePB64, p.Path, "base64 lines of up to %d characters (at most 76)", p.MaxLine)
		}
		return true
	})
	return r
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
func (ev *eval) checkForward(r *result, p *Part) {
	if ev.report || ev.target != TargetVPIM2 {
		return // the returned original in a DSN/MDN is not a forward; the rule is VPIM v2's
	}
	in := p.Embedded
	_, from := in.Get("From")
	_, subj := in.Get("Subject")
	_, date := in.Get("Date")
	if !from && !subj && !date {
		r.find(ruleV2Fwd, p.Path, "forwarded message has none of From, Subject, Date")
		r.unfix(ruleV2Fwd, "forwarded message in part "+p.Path+" without From, Subject or Date")
	}
	if _, ok := in.Get("MIME-Version"); !ok {
		r.find(ruleV2Fwd, p.Path, "forwarded message lacks MIME-Version")
	}
	if _, ok := in.Get("Content-Type"); !ok {
		r.find(ruleV2Fwd, p.Path, "forwarded message lacks Content-Type")
	}
}

func hasSuffixFold(s, suffix string) bool {
	return len(s) >= len(suffix) && strings.EqualFold(s[len(s)-len(suffix):], suffix)
}
