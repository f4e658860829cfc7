package profile

import "fmt"

// ruleInfo returns the RFC 2119 level and the spec section of a rule ID.
// IDs are those of spec/DIGEST.md §1 (D1-*, V2-*, I-*); IDs starting with
// "P-" are the project's own findings about parsing, limits and audio
// recognition, which no profile numbers (they cite RFC 2045/2046).
func ruleInfo(id string) (Level, string) {
	switch id {
	// v1-draft / RFC 1911 (DIGEST §1.1)
	case "D1-HDR-FROM":
		return LevelMust, "draft-umig-mime-voice-00 5.2"
	case "D1-HDR-TO":
		return LevelMust, "draft-umig-mime-voice-00 5.2"
	case "D1-HDR-DATE":
		return LevelMust, "draft-umig-mime-voice-00 5.2"
	case "D1-HDR-MSGID":
		return LevelMust, "draft-umig-mime-voice-00 5.2"
	case "D1-HDR-MIMEVER":
		return LevelMust, "RFC 1911 4.2"
	case "D1-HDR-SENS":
		return LevelMust, "draft-umig-mime-voice-00 5.2"
	case "D1-HDR-IMP":
		return LevelMay, "draft-umig-mime-voice-00 5.2"
	case "D1-HDR-XTRA":
		return LevelMay, "draft-umig-mime-voice-00 11"
	case "D1-ENC":
		return LevelMust, "draft-umig-mime-voice-00 5.3"
	case "D1-CT-ADPCM":
		return LevelMust, "draft-umig-mime-voice-00 5.3"
	case "D1-CT-SIG":
		return LevelShould, "draft-umig-mime-voice-00 5.3"
	case "D1-CT-NOTIF":
		return LevelMust, "RFC 1911 4.4"
	case "D1-MVM":
		return LevelMust, "RFC 1911 14"
	case "D1-ADDR-LOOP":
		return LevelShould, "RFC 1911 4.1"
	// VPIM v2 (DIGEST §1.2)
	case "V2-ADDR-NMU":
		return LevelMust, "RFC 3801 4.1.2"
	case "V2-HDR-FROM":
		return LevelMust, "RFC 3801 4.2.1"
	case "V2-HDR-TO":
		return LevelMay, "RFC 3801 4.2.2"
	case "V2-HDR-DATE":
		return LevelMust, "RFC 3801 4.2.4"
	case "V2-HDR-MSGID":
		return LevelMust, "RFC 3801 4.2.7"
	case "V2-HDR-MIMEVER":
		return LevelShould, "RFC 3801 4.2.10"
	case "V2-HDR-CT":
		return LevelShould, "RFC 3801 4.2.11"
	case "V2-HDR-CTE":
		return LevelMust, "RFC 3801 4.2.12"
	case "V2-HDR-SENS":
		return LevelMust, "RFC 3801 4.2.13"
	case "V2-HDR-IMP":
		return LevelMay, "RFC 3801 4.2.14"
	case "V2-HDR-SUBJ":
		return LevelShould, "RFC 3801 4.2.15"
	case "V2-PART-DISP":
		return LevelMust, "RFC 3801 4.3.2"
	case "V2-PART-DUR":
		return LevelMay, "RFC 3801 4.3.3"
	case "V2-MVM":
		return LevelMust, "RFC 3801 4.4.1"
	case "V2-MVM-INNER":
		return LevelMust, "RFC 3801 4.4"
	case "V2-ADPCM":
		return LevelMust, "RFC 3801 4.4.3"
	case "V2-FAX":
		return LevelMust, "RFC 3801 4.4.4"
	case "V2-VCARD":
		return LevelShould, "RFC 3801 4.5.2"
	case "V2-PROP":
		// The send rule is SHOULD NOT; the milter enforces the receive
		// rule: audio a VPIM v2 system cannot render MUST be returned
		// with an NDN "media not supported".
		return LevelMust, "RFC 3801 4.5.3"
	case "V2-TEXT":
		return LevelShould, "RFC 3801 4.5.4"
	case "V2-DSN":
		return LevelMust, "RFC 3801 4.6"
	case "V2-MDN":
		return LevelShould, "RFC 3801 4.7"
	case "V2-FWD":
		return LevelMust, "RFC 3801 4.8"
	// IVM (DIGEST §1.3)
	case "I-IMF":
		return LevelMust, "RFC 4239 3"
	case "I-CTX":
		return LevelMust, "RFC 4239 3"
	case "I-TOP":
		return LevelShould, "RFC 4239 3"
	case "I-CRIT":
		return LevelMust, "RFC 4239 3"
	case "I-AUDIO":
		return LevelMust, "RFC 4239 7"
	case "I-VOICEPARAM":
		return LevelShould, "RFC 4239 7"
	case "I-CODEC-TX":
		return LevelMust, "RFC 4239 7"
	case "I-DSN":
		return LevelMust, "RFC 4239 6"
	case "I-FWDCT":
		return LevelMust, "RFC 4239 3"
	case "I-NOTIFCT":
		return LevelMust, "RFC 4239 3"
	case "I-GW":
		return LevelMust, "RFC 4239 9.3"
	// project findings
	case "P-MIME-CLOSE", "P-MIME-BOUNDARY":
		return LevelMust, "RFC 2046 5.1.1"
	case "P-CT-SYNTAX":
		return LevelMust, "RFC 2045 5.1"
	case "P-B64":
		return LevelMust, "RFC 2045 6.8"
	case "P-LIMIT":
		return LevelMust, "RFC 2046 5.1"
	case "P-AUDIO-LABEL":
		return LevelMust, "RFC 2046 4.3"
	case "P-AUDIO-EMPTY":
		return LevelShould, "RFC 3803 3"
	case "P-CODEC":
		return LevelMust, "RFC 4239 7"
	}
	return LevelMay, ""
}

// finding builds a finding for rule id on part path.
func finding(id, part, format string, args ...any) Finding {
	lvl, spec := ruleInfo(id)
	return Finding{Rule: id, Level: lvl, Spec: spec, Part: part, Message: fmt.Sprintf(format, args...)}
}

// findingAt is finding with the level of the one requirement behind it, for
// rules whose section mixes levels (RFC 4239 7: raw µ-law audio/basic MUST,
// a filename ending in .au SHOULD).
func findingAt(lvl Level, id, part, format string, args ...any) Finding {
	f := finding(id, part, format, args...)
	f.Level = lvl
	return f
}
