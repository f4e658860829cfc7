// Package profile recognises voice mail and checks and rewrites it against the
// voice-messaging profiles: the 1994 voice profile draft
// (draft-umig-mime-voice-00, "v1-draft"), VPIM v1 (RFC 1911), VPIM v2
// (RFC 3801) and IVM (RFC 4239), and for the desktop target against what
// ordinary mail readers play (README "Desktop clients": multipart/mixed,
// MP3 or µ-law WAV).
//
// The package is pure: it does not log, touch the network or hold mutable
// globals (only immutable lookup tables). The milter adapter and the
// offline commands (check, rewrite) call the same [Engine], so they can
// never disagree.
//
// # Flow
//
// [Engine.Recipient] decides at RCPT time (non-mail-user@ and loopback@ →
// 550 5.1.1, VOICE=/VPIM=/AMIS= on a gateway domain → the bridge; a
// recipient that would need another body than the transaction's, by target
// or by privacy capability, → 452 4.5.3). [Engine.NeedsBody] is the
// allocation-free end-of-headers fast path. [Engine.Evaluate] parses the
// body ([Parse]: one lenient MIME tree that keeps, per part, its byte
// offsets in the body, its sizes and its first 512 decoded bytes, never the
// data), recognises audio by the codec's sniffer and header parsers, detects
// the profile (DIGEST §7, and voice mail by its telephone-band audio),
// runs the checks, applies the privacy policy (DIGEST §3) and plans the
// rewrite for the target (DIGEST §7 conversion rules).
//
// Each check is a small function returning findings and plan steps, in
// files by concern: detect.go (which profile), header.go (header fields),
// msgid.go (Message-ID), parts.go (MIME structure and parts), privacy.go
// (Sensitivity), audioplan.go (voice roles, transcoding, trial decoding),
// layout.go (the container each target wants, repairs), desktop.go (the
// desktop target's audio: what is kept, what is transcoded). The targets are
// described by one table (targets.go), the rules by another (rules.go),
// from which RULES.md is generated.
//
// The [Plan] is a typed list of [Action] values, the steps the report
// prints; the top-level header edits and the [BodyWriter] are derived from
// it, so the report cannot promise what the rewrite does not do. A
// refusal, or a delivery with defects the plan cannot repair, is a
// [Decision] naming its [Condition] and [Rule]. The body writer re-reads
// the seekable body by the recorded offsets, copies every byte no step
// touches and streams the changed parts; only what a rule requires is
// edited (single parameters of a field, single fields of a header), so
// conformant mail passes byte-identical. Audio is transcoded through
// [AudioCodec] into a temporary file first (Content-Duration precedes the
// data), and only after the codec converted it once during Evaluate (all
// of it, or a prefix for the sample-exact formats). [Report.Voice] is the
// part the telephony bridge plays ([OpenVoice]).
//
// # Findings
//
// Every finding carries a rule ID (RULES.md): a DIGEST §1 ID (D1-* for the
// v1 profiles, V2-* for VPIM v2, I-* for IVM) or a project one (DT-*: the
// desktop target; P-*: parsing, limits, audio recognition, the bridge), its RFC 2119 level, the
// RFC section and the MIME part path ("" top level, "2", "3.1"; an
// embedded message shares the path of its message/rfc822 part). The level
// is the rule's, except where one section mixes levels (I-CODEC-TX: raw
// µ-law audio/basic is a MUST, its .au filename a SHOULD). The profiles'
// rules apply to targets that get the message converted (vpim2, vpim1,
// ivm, desktop); passthrough and bridge recipients take it as it is.
//
// # Defined verdicts for hostile input
//
// Beyond [Limits] (depth 50, 1000 parts, 1 MiB top-level header, 1000
// lines or 64 KiB per part header, 16 times that for all part headers) the
// message is not interpreted and passes through unchanged with a P-LIMIT
// finding; only a top-level Sensitivity: Private still refuses it, and it
// is refused to the bridge. Defective MIME is repaired where it can be (a
// missing close delimiter is added, an unparsable Content-Type written
// anew); what cannot be repaired (invalid base64, a multipart without
// parts) is delivered as it came under a stated decision. Audio that
// cannot be converted for the target is refused with 550 5.6.1 where
// passing it on cannot work: towards VPIM (V2-PROP, RFC 3801 4.5.3; a part
// marked handling=OPTIONAL is dropped instead) and when the part is marked
// critical (I-DSN, RFC 4239 6, RFC 3459); a voice message that cannot
// become audio/basic leaves the whole message as it came for IVM. Audio
// refused only because it is longer than the codec converts
// (codec.max_duration) gets 552 5.3.4 instead (P-AUDIO-LONG, RFC 3463 3.4:
// message too big for system), as does a message to a telephone number
// whose audio, by its format's timing, plays longer than the bridge takes
// (Options.BridgeMaxAudio). For the desktop target such audio is delivered as it came, marked or not
// (desktop.go says why). The desktop's MP3 is encoded by the body writer;
// Evaluate only tries the decoder. A read
// error of the body is returned as an error (the milter tempfails), and so
// is a codec failure while the body is written.
package profile
