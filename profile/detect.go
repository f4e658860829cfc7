package profile

import (
	"strconv"
	"strings"
)

// isAudio reports whether a part is audio by its label or by its bytes.
func (ev *eval) isAudio(p *Part) bool {
	if !p.IsLeaf() {
		return false
	}
	if strings.HasPrefix(p.Type, "audio/") {
		return true
	}
	return ev.info[p].audio()
}

// hasAudio reports whether p or a descendant (not entering embedded
// messages) is audio.
func (ev *eval) hasAudio(p *Part) bool {
	if ev.isAudio(p) {
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
func detect(ev *eval) string { return ev.detectAt(ev.m.Root) }

func (ev *eval) detectAt(root *Part) string {
	if root.Type == "multipart/report" {
		// A DSN/MDN is voice when its human-readable part is spoken or it
		// returns a voice message.
		if len(root.Children) > 0 && ev.isAudio(root.Children[0]) {
			if hasVoiceDisp(root.Children[0]) {
				return "vpim2"
			}
			return "ivm"
		}
		for _, c := range root.Children {
			if c.Embedded != nil {
				if p := ev.detectAt(c.Embedded); p != "none" {
					return p
				}
			}
		}
		return "none"
	}
	if mvm := findMVM(root); mvm != nil {
		mv, _ := root.Get("MIME-Version")
		switch {
		case mvmVersion2(mvm.Params["version"]):
			return "vpim2"
		case containsFold(mv, "(voice 1.0"):
			return "vpim1" // RFC 1911 4.2: the (Voice 1.0) comment marks VPIM v1
		case hasVoiceDisp(mvm):
			return "vpim2" // DIGEST §7.1: version-less MVM with voice= is "v2-sloppy"
		case containsFold(mv, "(voice 2") || containsFold(mv, "version 2"):
			return "vpim2" // a version 2 comment, "(Voice 2.0)" or "(Voice Version 2.0)"
		}
		if v, _ := root.Get("Message-Context"); strings.EqualFold(v, "voice-message") {
			// RFC 3458 / RFC 4239 3: visual-voicemail servers send a
			// version-less multipart/voice-message with Message-Context;
			// RFC 1911 has no Message-Context: not VPIM v1 (DIGEST §6).
			return "vpim2"
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
	walkSameMessage(root, func(p *Part) {
		if p.Type == "audio/adpcm" || p.Type == "text/signature" {
			strong = true
		}
		if p.Encoding == "base-64" {
			weak = true
		}
	})
	if v, ok := root.Get("Message-ID"); ok && isDraftID(v) {
		weak = true
	}
	if fieldCount(root.Header, "Generate-Receipt-Notification")+fieldCount(root.Header, "Generate-Delivery-Notification") > 0 {
		weak = true
	}
	if strong || weak && audio {
		return "v1-draft"
	}
	if audio && ev.vendor(root) {
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
	if audio && ev.telephoneMail(root) {
		return "vendor"
	}
	return "none"
}

// walkSameMessage calls fn for p and every part below it, entering
// embedded messages.
func walkSameMessage(p *Part, fn func(*Part)) {
	fn(p)
	if p.Embedded != nil {
		walkSameMessage(p.Embedded, fn)
	}
	for _, c := range p.Children {
		walkSameMessage(c, fn)
	}
}

// vendor reports vendor voicemail markers (DIGEST §6, §7 rule 4).
func (ev *eval) vendor(root *Part) bool {
	for _, f := range root.Header {
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
	walkSameMessage(root, func(p *Part) {
		if d, ok := p.Get("Content-Description"); ok && ev.isAudio(p) &&
			(containsFold(d, "mobeon voice") || containsFold(d, "cisco voice")) {
			found = true
		}
	})
	return found
}

// telephoneMail recognises voice mail by its content (DIGEST §6: "detect
// by content sniffing, not by label"): a short message of text and
// telephone-band audio, as a FRITZ!Box, Asterisk without caller ID or
// FreeSWITCH send it. Every audio part must be telephone-band (8 kHz mono
// or a telephony codec: music at 44.1 kHz stereo is not voice mail), at
// most three of them, beside nothing but text (a fax, a video, a
// document make it ordinary mail).
func (ev *eval) telephoneMail(root *Part) bool {
	audio, leaves := 0, 0
	ok := true
	walkSameMessage(root, func(p *Part) {
		if !p.IsLeaf() || !ok {
			return
		}
		leaves++
		switch {
		case ev.isAudio(p):
			audio++
			if !ev.info[p].telephone() {
				ok = false
			}
		case strings.HasPrefix(p.Type, "text/"):
		default:
			ok = false
		}
	})
	return ok && audio > 0 && audio <= 3 && leaves <= 6
}
