package profile

//go:generate go run ./internal/rulesdoc/gen -o ../RULES.md

import "fmt"

// Rule is the ID of a requirement a finding, a plan step or a decision
// refers to: a DIGEST §1 ID (D1-* for the v1 profiles, V2-* for VPIM v2,
// I-* for IVM) or one of the project's own (DT-*: the desktop target, whose
// specification is the README's "Desktop clients" section; P-*: parsing,
// limits, audio recognition, the bridge), which no profile numbers.
type Rule string

// The rules. Their level, section and meaning are in ruleTable, the one
// place they are described (RULES.md is generated from it).
const (
	ruleD1HdrFrom    Rule = "D1-HDR-FROM"
	ruleD1HdrTo      Rule = "D1-HDR-TO"
	ruleD1HdrDate    Rule = "D1-HDR-DATE"
	ruleD1HdrMsgID   Rule = "D1-HDR-MSGID"
	ruleD1HdrMIMEVer Rule = "D1-HDR-MIMEVER"
	ruleD1HdrSens    Rule = "D1-HDR-SENS"
	ruleD1HdrImp     Rule = "D1-HDR-IMP"
	ruleD1HdrXtra    Rule = "D1-HDR-XTRA"
	ruleD1Enc        Rule = "D1-ENC"
	ruleD1CtADPCM    Rule = "D1-CT-ADPCM"
	ruleD1CtText     Rule = "D1-CT-TEXT"
	ruleD1CtSig      Rule = "D1-CT-SIG"
	ruleD1CtNotif    Rule = "D1-CT-NOTIF"
	ruleD1MVM        Rule = "D1-MVM"
	ruleD1AddrLoop   Rule = "D1-ADDR-LOOP"

	ruleV2AddrNMU    Rule = "V2-ADDR-NMU"
	ruleV2HdrFrom    Rule = "V2-HDR-FROM"
	ruleV2HdrTo      Rule = "V2-HDR-TO"
	ruleV2HdrDate    Rule = "V2-HDR-DATE"
	ruleV2HdrMsgID   Rule = "V2-HDR-MSGID"
	ruleV2HdrMIMEVer Rule = "V2-HDR-MIMEVER"
	ruleV2HdrCT      Rule = "V2-HDR-CT"
	ruleV2HdrCTE     Rule = "V2-HDR-CTE"
	ruleV2HdrSens    Rule = "V2-HDR-SENS"
	ruleV2HdrImp     Rule = "V2-HDR-IMP"
	ruleV2HdrSubj    Rule = "V2-HDR-SUBJ"
	ruleV2PartDisp   Rule = "V2-PART-DISP"
	ruleV2PartDur    Rule = "V2-PART-DUR"
	ruleV2MVM        Rule = "V2-MVM"
	ruleV2MVMInner   Rule = "V2-MVM-INNER"
	ruleV2ADPCM      Rule = "V2-ADPCM"
	ruleV2Fax        Rule = "V2-FAX"
	ruleV2VCard      Rule = "V2-VCARD"
	ruleV2Prop       Rule = "V2-PROP"
	ruleV2Text       Rule = "V2-TEXT"
	ruleV2DSN        Rule = "V2-DSN"
	ruleV2MDN        Rule = "V2-MDN"
	ruleV2Fwd        Rule = "V2-FWD"

	ruleIIMF        Rule = "I-IMF"
	ruleICtx        Rule = "I-CTX"
	ruleITop        Rule = "I-TOP"
	ruleICrit       Rule = "I-CRIT"
	ruleIAudio      Rule = "I-AUDIO"
	ruleIVoiceParam Rule = "I-VOICEPARAM"
	ruleICodecTx    Rule = "I-CODEC-TX"
	ruleIDSN        Rule = "I-DSN"
	ruleIFwdCT      Rule = "I-FWDCT"
	ruleINotifCT    Rule = "I-NOTIFCT"
	ruleIGW         Rule = "I-GW"

	ruleDTIMF   Rule = "DT-IMF"
	ruleDTTop   Rule = "DT-TOP"
	ruleDTAudio Rule = "DT-AUDIO"
	ruleDTName  Rule = "DT-NAME"
	ruleDTDur   Rule = "DT-DUR"

	rulePMIMEClose    Rule = "P-MIME-CLOSE"
	rulePMIMEBoundary Rule = "P-MIME-BOUNDARY"
	rulePCTSyntax     Rule = "P-CT-SYNTAX"
	rulePB64          Rule = "P-B64"
	rulePQP           Rule = "P-QP"
	rulePLimit        Rule = "P-LIMIT"
	rulePAudioLabel   Rule = "P-AUDIO-LABEL"
	rulePAudioEmpty   Rule = "P-AUDIO-EMPTY"
	rulePAudioDur     Rule = "P-AUDIO-DUR"
	rulePAudioLong    Rule = "P-AUDIO-LONG"
	rulePCodec        Rule = "P-CODEC"
	rulePBridge       Rule = "P-BRIDGE"
)

// RuleInfo describes one rule of the table.
type RuleInfo struct {
	ID    Rule
	Level Level  // the RFC 2119 strength of the requirement (a finding may state a weaker one where the section mixes levels)
	Spec  string // the section that states it, e.g. "RFC 3801 4.2.1"
	Title string // what it requires, in one line
	// NotYet is empty for a rule some check emits; otherwise it says why
	// no check emits it (not implemented yet, or not the milter's part).
	NotYet string
}

// ruleTable is the one table of rules (immutable).
var ruleTable = [...]RuleInfo{
	// v1-draft (draft-umig-mime-voice-00) and VPIM v1 (RFC 1911), DIGEST §1.1
	{ruleD1HdrFrom, LevelMust, "draft-umig-mime-voice-00 5.2", "a From field names the originator", ""},
	{ruleD1HdrTo, LevelMust, "draft-umig-mime-voice-00 5.2", "To lists the recipients",
		"nothing to check: the v1 profiles take one or more To fields, and whether they list every recipient is the sender's knowledge"},
	{ruleD1HdrDate, LevelMust, "draft-umig-mime-voice-00 5.2", "Date carries the send time", ""},
	{ruleD1HdrMsgID, LevelMust, "draft-umig-mime-voice-00 5.2", "every message carries a Message-ID (draft form fqdn-8DIGIT)", ""},
	{ruleD1HdrMIMEVer, LevelMust, "RFC 1911 4.2", "MIME-Version: 1.0 with the (Voice 1.0) comment", ""},
	{ruleD1HdrSens, LevelMust, "draft-umig-mime-voice-00 5.2", "any Sensitivity prohibits forwarding; Personal or Private to a system without privacy is returned", ""},
	{ruleD1HdrImp, LevelMay, "draft-umig-mime-voice-00 5.2", "Importance is low, normal or high", ""},
	{ruleD1HdrXtra, LevelMay, "draft-umig-mime-voice-00 11", "the draft example's undefined Generate-*-Notification and Return-content fields", ""},
	{ruleD1Enc, LevelMust, "draft-umig-mime-voice-00 5.3", "audio is sent binary or Base64 (spelled base64 by MIME)", ""},
	{ruleD1CtADPCM, LevelMust, "draft-umig-mime-voice-00 5.3", "voice is Audio/32KADPCM (the draft's Audio/ADPCM)", ""},
	{ruleD1CtText, LevelMust, "RFC 1911 4.3", "Text/Plain (and other content a voice mailbox cannot take) is not sent", ""},
	{ruleD1CtSig, LevelShould, "draft-umig-mime-voice-00 5.3", "Text/Signature carries directory information", ""},
	{ruleD1CtNotif, LevelMust, "RFC 1911 4.3", "notifications are Multipart/Report with Message/Notification", ""},
	{ruleD1MVM, LevelMust, "RFC 1911 14", "Multipart/Voice-Message holds three positional parts: spoken name, spoken subject, message", ""},
	{ruleD1AddrLoop, LevelShould, "RFC 1911 4.1", "loopback@ is a test mailbox; it is not supported and refused (550 5.1.1)", ""},

	// VPIM v2 (RFC 3801), DIGEST §1.2
	{ruleV2AddrNMU, LevelMust, "RFC 3801 4.1.2", "mail to non-mail-user is refused with 5.1.1", ""},
	{ruleV2HdrFrom, LevelMust, "RFC 3801 4.2.1", "From is present", ""},
	{ruleV2HdrTo, LevelMay, "RFC 3801 4.2.2", "one or more To fields",
		"nothing to check: VPIM v2 takes one or more To fields (for IVM they are merged into one, I-IMF)"},
	{ruleV2HdrDate, LevelMust, "RFC 3801 4.2.4", "Date reports the send time with a numeric zone; a relay without one uses the arrival time", ""},
	{ruleV2HdrMsgID, LevelMust, "RFC 3801 4.2.7", "a globally unique Message-ID <id@host>, kept for MDNs", ""},
	{ruleV2HdrMIMEVer, LevelShould, "RFC 3801 4.2.10", "MIME-Version: 1.0 (Voice 2.0)", ""},
	{ruleV2HdrCT, LevelShould, "RFC 3801 4.2.11", "the top level is multipart/voice-message", ""},
	{ruleV2HdrCTE, LevelMust, "RFC 3801 4.2.12", "audio is sent binary or base64", ""},
	{ruleV2HdrSens, LevelMust, "RFC 3801 4.2.13", "send only Private; a Private message goes only where privacy can be assured", ""},
	{ruleV2HdrImp, LevelMay, "RFC 3801 4.2.14", "Importance is low, normal or high", ""},
	{ruleV2HdrSubj, LevelShould, "RFC 3801 4.2.15", "a Subject (Voice Message) is sent", ""},
	{ruleV2PartDisp, LevelMust, "RFC 3801 4.3.2", "audio parts are inline with a registered voice= parameter", ""},
	{ruleV2PartDur, LevelMay, "RFC 3801 4.3.3", "Content-Duration gives the play time", ""},
	{ruleV2MVM, LevelMust, "RFC 3801 4.4.1", "multipart/voice-message with version=2.0", ""},
	{ruleV2MVMInner, LevelMust, "RFC 3801 4.4", "only audio, image and message/rfc822 parts inside multipart/voice-message", ""},
	{ruleV2ADPCM, LevelMust, "RFC 3801 4.4.3", "voice is sent as audio/32KADPCM", ""},
	{ruleV2Fax, LevelMust, "RFC 3801 4.4.4", "fax is image/tiff; application=faxbw", ""},
	{ruleV2VCard, LevelShould, "RFC 3801 4.5.2", "text/directory (vCard) is no longer sent", ""},
	{ruleV2Prop, LevelMust, "RFC 3801 4.5.3", "audio a VPIM v2 system cannot render is returned: media not supported (5.6.1)", ""},
	{ruleV2Text, LevelShould, "RFC 3801 4.5.4", "text/plain is not sent inside multipart/voice-message", ""},
	{ruleV2DSN, LevelMust, "RFC 3801 4.6", "delivery reports are multipart/report; a spoken part is voice", ""},
	{ruleV2MDN, LevelShould, "RFC 3801 4.7", "MDNs are requested and sent",
		"not the milter's part: MDNs are made by the recipient's user agent"},
	{ruleV2Fwd, LevelMust, "RFC 3801 4.8", "a forwarded message keeps From, Subject or Date, MIME-Version and Content-Type; forwarded Private content is not forwarded", ""},

	// IVM (RFC 4239), DIGEST §1.3
	{ruleIIMF, LevelMust, "RFC 4239 3", "an Internet Message Format (RFC 2822/5322) message", ""},
	{ruleICtx, LevelMust, "RFC 4239 3", "Message-Context: voice-message", ""},
	{ruleITop, LevelShould, "RFC 4239 3", "the top level is multipart/mixed", ""},
	{ruleICrit, LevelMust, "RFC 4239 3", "the voice part is critical content (handling=REQUIRED)", ""},
	{ruleIAudio, LevelMust, "RFC 4239 7", "voice is audio/basic wherever it is in the message", ""},
	{ruleIVoiceParam, LevelShould, "RFC 4239 7", "voice= marks spoken names and subjects; Content-Duration gives the length", ""},
	{ruleICodecTx, LevelMust, "RFC 4239 7", "raw G.711 µ-law as audio/basic, with a filename ending in .au (SHOULD)", ""},
	{ruleIDSN, LevelMust, "RFC 4239 6", "critical content that cannot be processed refuses the whole message (5.6.1)", ""},
	{ruleIFwdCT, LevelMust, "RFC 4239 3", "a client forwarding IVM mail keeps the content type of every audio part",
		"not the gateway's part: it binds clients that forward; the gateway converts voice wherever it is, as RFC 4239 7 requires audio/basic \"at any location within a message\""},
	{ruleINotifCT, LevelMust, "RFC 4239 3", "a delivery notification originated is multipart/report",
		"not the milter's part: the MTA originates delivery notifications"},
	{ruleIGW, LevelMust, "RFC 4239 9.3", "a gateway refuses critical content the other side cannot carry", ""},

	// the desktop target, the project's own (README "Desktop clients"): what
	// ordinary mail readers play, as codec's TestChromiumPlayback establishes
	{ruleDTIMF, LevelMust, "RFC 5322 3.6", "an Internet message: one of each field RFC 5322 3.6 allows once, a Date with a numeric zone, a Message-ID <id@host>", ""},
	{ruleDTTop, LevelShould, "RFC 2046 5.1.3", "voice mail is multipart/mixed with its text kept, the subtype every reader knows (multipart/voice-message is one a reader only treats as mixed); single-part audio is wrapped in one", ""},
	{ruleDTAudio, LevelMust, "README Desktop clients", "voice (the message, spoken name and subject, forwarded voice, a report's spoken part) is MPEG-1 or MPEG-2 Layer III audio/mpeg, or µ-law audio/wav with desktop_audio = \"wav\": raw audio/basic, Sun .au, GSM and G.726 do not decode in Chromium, and MPEG-2.5 is no ISO format; empty audio is not sent", ""},
	{ruleDTName, LevelShould, "RFC 2183 2.3", "an audio part has a filename whose extension names its data (.mp3, .wav): readers choose the player by it", ""},
	{ruleDTDur, LevelShould, "RFC 3803 3", "Content-Duration gives the play time of the audio as delivered", ""},

	// the project's own
	{rulePMIMEClose, LevelMust, "RFC 2046 5.1.1", "every multipart ends with its close delimiter; no part is truncated", ""},
	{rulePMIMEBoundary, LevelMust, "RFC 2046 5.1.1", "a multipart has a boundary parameter and uses it", ""},
	{rulePCTSyntax, LevelMust, "RFC 2045 5.1", "Content-Type parses", ""},
	{rulePB64, LevelMust, "RFC 2045 6.8", "base64 data is valid, in lines of at most 76 characters", ""},
	{rulePQP, LevelMust, "RFC 2045 6.7", "quoted-printable data holds no bare control characters", ""},
	{rulePLimit, LevelMust, "RFC 2046 5.1", "the message is within the parse limits (else it passes unchanged, not interpreted)", ""},
	{rulePAudioLabel, LevelMust, "RFC 2046 4.3", "an audio label agrees with the bytes", ""},
	{rulePAudioEmpty, LevelShould, "RFC 3803 3", "an audio part has data", ""},
	{rulePAudioDur, LevelShould, "RFC 3803 2", "a Content-Duration field a VPIM v1 part carries gives the play time of its audio (else it is corrected)", ""},
	{rulePCodec, LevelMust, "RFC 4239 7", "audio the target needs converted can be converted", ""},
	{rulePAudioLong, LevelMust, "RFC 3463 3.4", "audio that must be converted, or played by the telephony bridge, is within the duration limit (codec.max_duration; telephony.max_audio); else the message is refused with 552 5.3.4, message too big for system", ""},
	{rulePBridge, LevelMust, "RFC 3463 3.7", "a message to a telephone number carries audio the bridge can play (else 554 5.6.1, media not supported)", ""},
}

// Rules returns the rule table in order.
func Rules() []RuleInfo { return append([]RuleInfo(nil), ruleTable[:]...) }

// Info returns the table entry of r; a rule not in the table has level MAY
// and no spec.
func (r Rule) Info() RuleInfo {
	for _, ri := range ruleTable {
		if ri.ID == r {
			return ri
		}
	}
	return RuleInfo{ID: r, Level: LevelMay}
}

// finding builds a finding for rule id on part path.
func finding(id Rule, part, format string, args ...any) Finding {
	ri := id.Info()
	return Finding{Rule: id, Level: ri.Level, Spec: ri.Spec, Part: part, Message: fmt.Sprintf(format, args...)}
}
