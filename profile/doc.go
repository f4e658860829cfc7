// Package profile recognises voice mail and checks and rewrites it against the
// voice-messaging profiles: the 1994 voice profile draft
// (draft-umig-mime-voice-00, "v1-draft"), VPIM v1 (RFC 1911), VPIM v2
// (RFC 3801) and IVM (RFC 4239).
//
// The package is pure: it does not log, touch the network or hold mutable
// globals (only immutable lookup tables and compiled expressions). The milter
// adapter and the offline commands (check, rewrite) call the same [Engine],
// so they can never disagree.
//
// # Flow
//
// [Engine.Recipient] decides at RCPT time (non-mail-user@ → 550 5.1.1,
// loopback@ → 550 5.1.1 (not supported), VOICE=/VPIM=/AMIS= on a gateway
// domain → the bridge, one body target per transaction → 452 4.5.3).
// [Engine.NeedsBody] is the allocation-free end-of-headers fast path.
// [Engine.Evaluate] parses the body ([Parse]: one lenient MIME tree that
// keeps, per part, its byte offsets in the body, its sizes and its first
// 512 decoded bytes, never the data), recognises audio by the codec's
// sniffer and header parsers, detects the profile (DIGEST §7), runs the
// checks, applies the privacy policy (DIGEST §3) and plans the rewrite for
// the target (DIGEST §7 conversion rules). Each check is a small function
// returning findings and plan steps, in files by concern: detect.go,
// header.go, msgid.go, parts.go, privacy.go, audioplan.go; the targets are
// described by one table (targets.go), the rules by another (rules.go).
//
// The [Plan] is a typed list of [Action] values, the steps the report
// prints; the top-level header edits and the [BodyWriter] are derived from
// it. The body writer re-reads the seekable body by the recorded offsets,
// copies every byte no step touches and streams the changed parts,
// transcoding audio through [AudioCodec] into a temporary file first
// (Content-Duration precedes the data). [Report.Voice] is the part the
// telephony bridge plays ([OpenVoice]).
//
// # Findings
//
// Every finding carries a rule ID of spec/DIGEST.md §1 (D1-* for the v1
// profiles, V2-* for VPIM v2, I-* for IVM), its RFC 2119 level, the RFC
// section and the MIME part path ("" top level, "2", "3.1"; an embedded
// message shares the path of its message/rfc822 part). The level is the
// rule's, except where one section mixes levels (I-CODEC-TX: raw µ-law
// audio/basic is a MUST, its .au filename a SHOULD). The project adds:
//
//	P-MIME-CLOSE     missing or malformed close delimiter, truncated part (RFC 2046 5.1.1)
//	P-MIME-BOUNDARY  multipart without boundary or without any delimiter line
//	P-CT-SYNTAX      unparsable Content-Type (RFC 2045 5.1)
//	P-B64            invalid or truncated base64 (RFC 2045 6.8)
//	P-AUDIO-LABEL    the audio label disagrees with the bytes (RIFF/WAVE, .snd, MP3, PDF, ...)
//	P-AUDIO-EMPTY    audio part without data
//	P-CODEC          audio that cannot (or, without a codec, may not) be transcoded; passed unchanged
//	P-LIMIT          a parse limit was exceeded
//
// # Defined verdicts for hostile input
//
// Beyond [Limits] (depth 50, 1000 parts, 1 MiB top-level header, 1000
// lines or 64 KiB per part header) the message is not interpreted and
// passes through unchanged with a P-LIMIT finding; only a top-level
// Sensitivity: Private still refuses it. Defective
// MIME is repaired leniently (a missing close delimiter is added, undecodable
// audio is passed unchanged with a finding). Audio that cannot be converted for the target
// is refused with 550 5.6.1 where passing it on cannot work: towards VPIM v2
// (V2-PROP, RFC 3801 4.5.3; a part marked handling=OPTIONAL is dropped
// instead) and when the part is marked critical (I-DSN, RFC 4239 6,
// RFC 3459). A read error of the body is returned as an error (the milter
// tempfails). If the codec fails while the body is written, a nested part
// is written unchanged from a raw copy; a single-part message, and every
// part whose failure would refuse the message, is transcoded once during
// Evaluate to make sure it works.
package profile
