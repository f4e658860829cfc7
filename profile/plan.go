package profile

import (
	"fmt"
	"io"
	"mime"
	"strconv"
	"strings"
)

// targetAudio returns the codec format, media type and file extension the
// target mandates (RFC 3801 4.4.3: audio/32KADPCM; RFC 4239 7: raw µ-law
// audio/basic with a .au filename).
func (ev *eval) targetAudio() (format, mediaType, ext string) {
	if ev.target == TargetIVM {
		switch ev.e.opts.IVMAudio {
		case "au":
			return "au", "audio/basic", "au"
		case "wav":
			return "wav-ulaw", "audio/wav", "wav"
		}
		return "basic", "audio/basic", "au"
	}
	return "32kadpcm", "audio/32KADPCM", "726"
}

// audioParts lists the audio leaves outside embedded messages, in order.
func (ev *eval) audioParts(p *Part, out []*Part) []*Part {
	if p.Embedded != nil {
		return out
	}
	if ev.isAudioPart(p) {
		return append(out, p)
	}
	for _, c := range p.Children {
		out = ev.audioParts(c, out)
	}
	return out
}

// roles assigns the voice= value of each audio part (RFC 3801 4.3.2,
// DIGEST §2.6, §7 "v1 input → v2": positional parts name, subject, message).
func (ev *eval) roles(audio []*Part) map[*Part]string {
	r := make(map[*Part]string, len(audio))
	missing := 0
	for _, p := range audio {
		if v, ok := p.DispositionParams["voice"]; ok {
			if c := canonVoice(v); c != "" {
				r[p] = c
			} else if len(audio) == 1 {
				r[p] = "Voice-Message"
			} else {
				r[p] = v
			}
		} else {
			missing++
		}
	}
	if missing == 0 {
		return r
	}
	mvm := findMVM(ev.m.Root)
	if missing == 3 && len(audio) == 3 && mvm != nil && ev.isV1() {
		for i, role := range []string{"Originator-Spoken-Name", "Spoken-Subject", "Voice-Message"} {
			r[audio[i]] = role
		}
		return r
	}
	hasMsg := false
	for _, v := range r {
		if v == "Voice-Message" || v == "Voice-Message-Notification" {
			hasMsg = true
		}
	}
	if !hasMsg {
		var best *Part
		for _, p := range audio {
			if _, ok := r[p]; !ok && (best == nil || p.Data > best.Data) {
				best = p
			}
		}
		if best != nil {
			r[best] = "Voice-Message"
		}
	}
	return r
}

// planParts plans part rewrites for the target (DIGEST §7 conversion rules).
func (ev *eval) planParts() {
	audio := ev.audioParts(ev.m.Root, nil)
	roles := ev.roles(audio)
	var walk func(p *Part, inMVM bool)
	walk = func(p *Part, inMVM bool) {
		if p.Embedded != nil {
			// RFC 4239 3 (I-FWDCT): forwarded content keeps its types.
			if fwd := ev.audioParts(p.Embedded, nil); len(fwd) > 0 && ev.target == TargetIVM {
				ev.add("I-FWDCT", p.Path, "forwarded message kept unchanged, with its %d audio part(s) in their original encoding", len(fwd))
			}
			return
		}
		if p.IsMultipart() {
			if p.NoParts || p.Params["boundary"] == "" {
				return
			}
			mvm := p.Type == "multipart/voice-message"
			params := copyParams(p.Params)
			newType := ""
			switch {
			case ev.target == TargetIVM && mvm:
				delete(params, "version")
				newType = "multipart/mixed" // RFC 4239 3 (I-TOP)
				ev.add("I-TOP", p.Path, "multipart/voice-message becomes multipart/mixed for IVM")
				mvm = false
			case ev.target == TargetVPIM2 && mvm && !mvmVersion2(p.Params["version"]):
				params["version"] = "2.0" // RFC 3801 4.4.1
				newType = "multipart/voice-message"
			case ev.target == TargetVPIM2 && p.Path == "" && p.Type == "multipart/mixed" && findMVM(p) == nil && ev.hasAudio(p):
				params["version"] = "2.0"
				newType = "multipart/voice-message"
				mvm = true
			}
			if newType != "" {
				ev.retype(p, mime.FormatMediaType(newType, params))
			}
			for _, c := range p.Children {
				walk(c, mvm)
			}
			return
		}
		if ev.isAudioPart(p) {
			ev.planAudio(p, roles[p], false)
			return
		}
		if inMVM && ev.target == TargetVPIM2 && !strings.HasPrefix(p.Type, "image/") && p.Type != "message/rfc822" {
			// RFC 3801 4.4, 4.5.2, 4.5.4: text, vCard and other parts are not sent.
			if h := strings.ToUpper(p.DispositionParams["handling"]); h == "REQUIRED" || strings.EqualFold(p.DispositionParams["criticality"], "critical") {
				ev.add("I-GW", p.Path, "%s marked handling=REQUIRED cannot be carried by VPIM", p.Type)
				ev.rep.Plan.Decision = Decision{Verdict: VerdictReject, Reply: Reply{Code: 550, Enhanced: "5.6.1",
					Text: "a required " + p.Type + " part cannot be carried to a VPIM destination"}}
				return
			}
			ev.edit(p).drop = true
		}
	}
	walk(ev.m.Root, false)
	if ev.rep.Plan.Decision.Verdict == VerdictReject {
		ev.edits = map[*Part]*partEdit{}
		ev.hdr = nil
		ev.rep.Actions = append(ev.rep.Actions, "reject "+ev.rep.Plan.Decision.Reply.String())
	}
}

// planReport adapts a DSN/MDN: only a spoken human-readable part is
// transcoded (DIGEST §5 (c)).
func (ev *eval) planReport() {
	root := ev.m.Root
	if ev.target != TargetIVM || len(root.Children) == 0 || !ev.isAudioPart(root.Children[0]) {
		return
	}
	p := root.Children[0]
	role := canonVoice(p.DispositionParams["voice"])
	ev.planAudio(p, role, true)
}

func copyParams(m map[string]string) map[string]string {
	out := make(map[string]string, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

func (ev *eval) edit(p *Part) *partEdit {
	pe := ev.edits[p]
	if pe == nil {
		pe = &partEdit{}
		ev.edits[p] = pe
	}
	return pe
}

// retype plans a new Content-Type for a multipart part.
func (ev *eval) retype(p *Part, value string) {
	if p.Path == "" {
		ev.setHeader("Content-Type", value)
		return
	}
	pe := ev.edit(p)
	pe.header = setField(headerOr(pe.header, p.Header), "Content-Type", value)
}

func headerOr(h, def []Field) []Field {
	if h != nil {
		return h
	}
	return append([]Field(nil), def...)
}

// setField replaces the first field name in h, or appends it.
func setField(h []Field, name, value string) []Field {
	for i := range h {
		if strings.EqualFold(h[i].Name, name) {
			h[i].Value = " " + value
			return h
		}
	}
	return append(h, Field{Name: name, Value: " " + value})
}

// planAudio plans the rewrite of one audio part for the target.
func (ev *eval) planAudio(p *Part, role string, report bool) {
	ev.audioN++
	opts := ev.e.opts
	tf, tmedia, ext := ev.targetAudio()
	f := audioFormat(p, opts.Codec)
	transcode := false
	if f != tf {
		switch {
		case f == "32kadpcm" && tf == "32kadpcm":
		case p.Data == 0:
			ev.unfix("empty audio part " + p.Path)
		case f == "" || p.BadBase64 || p.Truncated:
			ev.add("P-CODEC", p.Path, "audio cannot be decoded (%s): passed unchanged", orUnknown(f))
			ev.unfix("undecodable audio in part " + p.Path)
		case opts.Codec == nil:
			ev.add("P-CODEC", p.Path, "no audio codec configured: %s passed unchanged", f)
			ev.unfix("audio not transcoded in part " + p.Path)
		default:
			transcode = true
		}
	}
	if transcode && p.Path == "" {
		// A single-part message has its type in the top-level header, which
		// cannot be restored if transcoding fails while the body is written;
		// so transcode once here, into nothing, to be sure it works.
		if err := ev.dryRun(p, tf, f); err != nil {
			ev.add("P-CODEC", p.Path, "audio cannot be transcoded (%v): passed unchanged", err)
			ev.unfix("undecodable audio in the message body")
			transcode = false
		}
	}
	h := headerOr(nil, p.Header)
	name := fmt.Sprintf("msg%d.%s", ev.audioN, ext)
	if transcode {
		mt := tmedia + "; name=" + name // keep the registered capitalisation (audio/32KADPCM)
		h = setField(h, "Content-Type", mt)
		h = setField(h, "Content-Transfer-Encoding", "base64")
	} else {
		if p.Type == "audio/adpcm" && tf == "32kadpcm" {
			h = setField(h, "Content-Type", "audio/32KADPCM") // DIGEST D1-CT-ADPCM
		}
		if strings.EqualFold(p.Encoding, "base-64") {
			h = setField(h, "Content-Transfer-Encoding", "base64") // DIGEST D1-ENC
		}
	}
	if report && !transcode {
		return
	}
	if !report {
		// RFC 3801 4.3.2 disposition; RFC 4239 3 / RFC 3459 handling.
		disp := "inline"
		if role != "" {
			disp += "; voice=" + role
		}
		if ev.target == TargetIVM {
			handling := "REQUIRED"
			if role == "Originator-Spoken-Name" || role == "Spoken-Subject" || role == "Recipient-Spoken-Name" {
				handling = "OPTIONAL"
			}
			disp += "; handling=" + handling
		}
		fn := p.DispositionParams["filename"]
		if transcode {
			fn = name
		} else if e := formatExt(f); fn == "" && e != "" {
			fn = fmt.Sprintf("msg%d.%s", ev.audioN, e)
		}
		if fn != "" {
			disp += "; " + mime.FormatMediaType("x", map[string]string{"filename": fn})[len("x; "):]
		}
		if cur, ok := p.Get("Content-Disposition"); !ok || cur != disp {
			h = setField(h, "Content-Disposition", disp)
		}
	}
	pe := &partEdit{}
	if transcode {
		pe.transcode, pe.from, pe.dur = tf, f, true
		h = setField(h, "Content-Duration", "0") // filled in from the transcoded samples
	} else if secs, ok := durationSeconds(f, p.Head, p.Data); !report && ok && p.Data > 0 && !p.BadBase64 && !p.Truncated && (p.Duration < 0 || absDiff(p.Duration, secs) > 1) {
		h = setField(h, "Content-Duration", strconv.FormatInt(secs, 10)) // RFC 3803
	}
	if p.Path == "" && (ev.target == TargetVPIM2 || ev.target == TargetVPIM1) {
		ev.wrapRoot(p, pe, h)
		return
	}
	changed := transcode || len(h) != len(p.Header)
	for i := 0; !changed && i < len(h); i++ {
		changed = h[i] != p.Header[i]
	}
	if !changed {
		return
	}
	pe.header = h
	if p.Path == "" {
		// Single-part message: the part header is the top-level header.
		for _, f := range h {
			if strings.EqualFold(f.Name, "Content-Duration") && pe.dur {
				if secs, ok := durationSeconds(pe.from, p.Head, p.Data); ok {
					ev.setHeader("Content-Duration", strconv.FormatInt(secs, 10))
				}
				continue
			}
			if old, ok := p.Get(f.Name); !ok || old != unfold(f.Value) {
				ev.setHeader(f.Name, unfold(f.Value))
			}
		}
		if !transcode {
			return
		}
		pe.header = nil
	}
	ev.edits[p] = pe
}

// formatExt is the conventional file extension of a codec format.
func formatExt(f string) string {
	switch {
	case f == "basic", f == "au":
		return "au"
	case f == "32kadpcm":
		return "726"
	case strings.HasPrefix(f, "wav"):
		return "wav"
	case f == "mp3", f == "gsm", f == "ogg":
		return f
	}
	return ""
}

// dryRun transcodes the body of a single-part message to io.Discard.
func (ev *eval) dryRun(p *Part, to, from string) error {
	if _, err := ev.in.Body.Seek(0, io.SeekStart); err != nil {
		return err
	}
	_, err := ev.e.opts.Codec.Transcode(io.Discard, to, decoder(p, ev.in.Body), from)
	return err
}

// wrapRoot plans wrapping a single-part audio message into a
// multipart/voice-message (RFC 3801 4.4.1; RFC 1911 14 for v1): the
// Content-* fields move from the top-level header into the new part and
// the top-level Content-Type names the new boundary.
func (ev *eval) wrapRoot(p *Part, pe *partEdit, h []Field) {
	var ph []Field
	seen := map[string]bool{}
	var names []string
	for _, f := range h {
		if hasPrefixFold(f.Name, "Content-") {
			ph = append(ph, f)
		}
	}
	for _, f := range p.Header {
		n := strings.ToLower(f.Name)
		if hasPrefixFold(n, "Content-") && n != "content-type" && !seen[n] {
			seen[n] = true
			names = append(names, f.Name)
		}
	}
	for _, n := range names {
		ev.deleteAll(n)
	}
	id := strings.TrimPrefix(ev.generateID(), "<")
	b := "=_vpim_" + id[:strings.IndexByte(id, '.')]
	params := map[string]string{"boundary": b}
	if ev.target == TargetVPIM2 {
		params["version"] = "2.0"
	}
	ev.setHeader("Content-Type", mime.FormatMediaType("multipart/voice-message", params))
	pe.header = ph
	pe.wrap = b
	ev.edits[p] = pe
	ev.add(ev.rid("V2-MVM", "D1-MVM"), "", "single-part audio message wrapped in multipart/voice-message")
}
