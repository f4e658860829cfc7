package profile

import (
	"context"
	"fmt"
	"io"
	"mime"
	"strconv"
	"strings"

	"github.com/emersion/go-message/textproto"
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
			if critical(p) {
				// RFC 4239 9.3: critical content VPIM cannot carry is refused.
				ev.add("I-GW", p.Path, "%s marked handling=REQUIRED cannot be carried by VPIM", p.Type)
				ev.refuse(Reply{Code: 550, Enhanced: "5.6.1",
					Text: "a required " + p.Type + " part cannot be carried to a VPIM destination"})
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
	undecodable := false // passed unchanged because it cannot be converted
	if f != tf {
		switch {
		case f == "32kadpcm" && tf == "32kadpcm":
		case p.Data == 0:
			ev.unfix("empty audio part " + p.Path)
		case f == "" || p.BadBase64 || p.Truncated:
			why := fmt.Sprintf("audio cannot be decoded (%s)", orUnknown(f))
			if ev.unrenderable(p, role, why) {
				return
			}
			ev.add("P-CODEC", p.Path, "%s: passed unchanged", why)
			ev.unfix("undecodable audio in part " + p.Path)
			undecodable = true
		case opts.Codec == nil:
			ev.add("P-CODEC", p.Path, "no audio codec configured: %s passed unchanged", f)
			ev.unfix("audio not transcoded in part " + p.Path)
		default:
			transcode = true
		}
	}
	if transcode && (p.Path == "" || ev.mustConvert(p)) {
		// A single-part message has its type in the top-level header, which
		// cannot be restored if transcoding fails while the body is written;
		// and a part whose failure refuses the message must be known to
		// work before the verdict (a nested part that fails while the body
		// is written is kept unchanged). So transcode once here, into
		// nothing, to be sure it works.
		// The trial converts to raw µ-law whatever the target: what can
		// fail is decoding the source (the encoders take any PCM), and
		// µ-law is the cheapest encoder (a trial to audio/32KADPCM would
		// double the G.726 work of every message bound for VPIM v2).
		if err := ev.dryRun(p, "basic", f); err != nil {
			if ev.ioErr != nil {
				return // Evaluate fails: the milter tempfails
			}
			why := fmt.Sprintf("audio cannot be transcoded (%v)", err)
			if ev.unrenderable(p, role, why) {
				return
			}
			ev.add("P-CODEC", p.Path, "%s: passed unchanged", why)
			if p.Path == "" {
				ev.unfix("undecodable audio in the message body")
			} else {
				ev.unfix("undecodable audio in part " + p.Path)
			}
			transcode, undecodable = false, true
		}
	}
	h := headerOr(nil, p.Header)
	name := fmt.Sprintf("msg%d.%s", ev.audioN, ext)
	if transcode && tf == "basic" {
		// RFC 4239 7 (I-CODEC-TX): without knowledge of the recipient, raw
		// G.711 µ-law labelled audio/basic, with a filename ending in ".au".
		ev.add("I-CODEC-TX", p.Path, "%s audio becomes raw G.711 µ-law audio/basic named %s", f, name)
	}
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
			if undecodable && handling == "REQUIRED" {
				// Audio that cannot become audio/basic passes as it came
				// (it is not marked critical, or it would be refused):
				// marking it REQUIRED now would make the next IVM hop
				// refuse the whole message (RFC 3459, RFC 4239 6).
				handling = ""
				if optional(p) {
					handling = "OPTIONAL"
				}
			}
			if handling != "" {
				disp += "; handling=" + handling
			}
		}
		fn := p.DispositionParams["filename"]
		switch e := formatExt(f); {
		case transcode:
			fn = name
		case ev.keepsBasic(p, f) && !auNamed(p):
			// RFC 4239 7 (I-CODEC-TX): raw µ-law audio/basic SHOULD use a
			// filename ending in ".au"; a legacy Content-Type name= is
			// kept in step.
			fn = auName(fn, ev.audioN)
			if _, ok := p.Params["name"]; ok && !p.TypeInvalid {
				params := copyParams(p.Params)
				params["name"] = fn
				h = setField(h, "Content-Type", mime.FormatMediaType(p.Type, params))
			}
		case fn == "" && e != "":
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

// critical reports whether a part is marked critical content: handling=
// REQUIRED or any value but OPTIONAL (RFC 3459 3: unknown values MUST be
// treated as REQUIRED), or the RFC 4239 3 spelling criticality=CRITICAL.
// An absent marking is not counted: the sender did not use criticality.
func critical(p *Part) bool {
	d := p.DispositionParams
	if h, ok := d["handling"]; ok {
		return !strings.EqualFold(h, "OPTIONAL")
	}
	return strings.EqualFold(d["criticality"], "critical")
}

// optional reports whether a part is marked handling=OPTIONAL (RFC 3459) or
// criticality=IGNORE (RFC 4239 3).
func optional(p *Part) bool {
	d := p.DispositionParams
	if h, ok := d["handling"]; ok {
		return strings.EqualFold(h, "OPTIONAL")
	}
	return strings.EqualFold(d["criticality"], "ignore")
}

// refuse plans rejecting the message with r, unless a refusal is planned
// already (the first reason is the one the sender sees).
func (ev *eval) refuse(r Reply) {
	if ev.rep.Plan.Decision.Verdict == "" {
		ev.rep.Plan.Decision = Decision{Verdict: VerdictReject, Reply: r}
	}
}

// mustConvert reports whether audio that cannot be converted for the target
// refuses the message (see unrenderable), so a planned transcode must be
// tried before the verdict.
func (ev *eval) mustConvert(p *Part) bool {
	return !ev.report && (ev.target == TargetVPIM2 || critical(p))
}

// unrenderable handles an audio part that cannot be converted to the
// target's audio (why says how it failed) and reports whether it did: the
// part is dropped or the message refused with 550 5.6.1. False leaves the
// part to pass unchanged with a P-CODEC finding, as for every target when
// the message is a delivery or disposition report (DIGEST §5: reports pass).
func (ev *eval) unrenderable(p *Part, role, why string) bool {
	if ev.report {
		return false
	}
	switch {
	case ev.target == TargetVPIM2:
		// RFC 3801 4.5.3 (V2-PROP): a VPIM v2 system that cannot render
		// an audio/* part MUST return the message with an NDN "media not
		// supported" (RFC 3801 App. C: 5.6.1). An IVM sender's OPTIONAL
		// part other than the voice message is dropped instead (RFC 3459:
		// silently, without notification).
		if p.Path != "" && optional(p) && role != "Voice-Message" && role != "Voice-Message-Notification" {
			ev.add("V2-PROP", p.Path, "%s: %s marked handling=OPTIONAL is dropped, VPIM v2 cannot carry it", why, p.Type)
			ev.edits[p] = &partEdit{drop: true}
			return true
		}
		ev.add("V2-PROP", p.Path, "%s: a VPIM v2 destination cannot render %s, the message is refused (media not supported)", why, p.Type)
		ev.refuse(Reply{Code: 550, Enhanced: "5.6.1",
			Text: "media not supported: an audio part cannot be converted for the VPIM destination"})
	case critical(p):
		// RFC 4239 6 (I-DSN), RFC 3459: critical content that cannot be
		// processed for the recipient: the whole message is not delivered
		// (5.6.1).
		ev.add("I-DSN", p.Path, "%s: %s is marked critical (handling=REQUIRED) and cannot be converted for the %s destination, the message is refused",
			why, p.Type, ev.target)
		ev.refuse(Reply{Code: 550, Enhanced: "5.6.1",
			Text: "media not supported: a required audio part cannot be converted for the destination"})
	default:
		return false
	}
	return true
}

// keepsBasic reports whether p is audio/basic in the very form the IVM
// target mandates, so the rewrite keeps its data as it is.
func (ev *eval) keepsBasic(p *Part, f string) bool {
	tf, tmedia, _ := ev.targetAudio()
	return ev.target == TargetIVM && p.Type == "audio/basic" && tmedia == "audio/basic" && f == tf
}

// auNamed reports whether a part's filename ends in ".au" (RFC 4239 7),
// and so does its legacy Content-Type name= when it has one.
func auNamed(p *Part) bool {
	if !hasSuffixFold(p.DispositionParams["filename"], ".au") {
		return false
	}
	n, ok := p.Params["name"]
	return !ok || p.TypeInvalid || hasSuffixFold(n, ".au")
}

// auName returns a filename ending in ".au" for raw µ-law audio: fn with
// its directory and extension removed, or msgN.au when nothing usable is
// left.
func auName(fn string, n int) string {
	if i := strings.LastIndexAny(fn, `/\`); i >= 0 {
		fn = fn[i+1:]
	}
	fn = strings.Trim(fn, "\" \t")
	if i := strings.LastIndexByte(fn, '.'); i >= 0 {
		fn = fn[:i]
	}
	if fn == "" || strings.ContainsFunc(fn, func(r rune) bool { return r < 0x20 || r == 0x7f || r == '"' }) {
		return fmt.Sprintf("msg%d.au", n)
	}
	return fn + ".au"
}

func hasSuffixFold(s, suffix string) bool {
	return len(s) >= len(suffix) && strings.EqualFold(s[len(s)-len(suffix):], suffix)
}

// dryRun transcodes the body of part p to io.Discard. A failure to read the
// body itself (or the end of ctx) is kept in ev.ioErr, for Evaluate to
// return; any other error is the codec's.
func (ev *eval) dryRun(p *Part, to, from string) error {
	if _, err := ev.in.Body.Seek(0, io.SeekStart); err != nil {
		ev.ioErr = errBody{err}
		return ev.ioErr
	}
	br := &bodyReader{r: ctxReader{ctx: ev.ctx, r: ev.in.Body}}
	var terr error
	err := partBody(ev.m.Root, br, p, func(body io.Reader) {
		_, terr = ev.e.opts.Codec.Transcode(io.Discard, to, decoder(p, body), from)
	})
	switch {
	case ev.ctx != nil && ev.ctx.Err() != nil:
		ev.ioErr = fmt.Errorf("profile: %w", ev.ctx.Err())
	case br.err != nil:
		ev.ioErr = errBody{br.err}
	case err != nil:
		ev.ioErr = err
	}
	if ev.ioErr != nil {
		return ev.ioErr
	}
	return terr
}

// partBody re-reads body, the raw body of part cur, down to its descendant
// p (outside embedded messages, like every part the plan transcodes) the
// way the parser read it, and calls fn with the raw body of p (as the
// rewriter does, RFC 2046 5.1.1).
func partBody(cur *Part, body io.Reader, p *Part, fn func(io.Reader)) error {
	if cur == p {
		fn(body)
		return nil
	}
	if !cur.IsMultipart() || cur.NoParts || cur.Params["boundary"] == "" {
		return fmt.Errorf("profile: part %s not found on re-read", p.Path)
	}
	mr := textproto.NewMultipartReader(body, cur.Params["boundary"])
	for _, c := range cur.Children {
		tp, err := mr.NextPart()
		if err != nil {
			return fmt.Errorf("profile: part %s vanished on re-read: %v", c.Path, err)
		}
		if c == p || c.Embedded == nil && strings.HasPrefix(p.Path, c.Path+".") {
			return partBody(c, tp, p, fn)
		}
	}
	return fmt.Errorf("profile: part %s not found on re-read", p.Path)
}

// ctxReader stops reading when ctx ends, so that a long trial transcoding
// does not outlive the milter's evaluation timeout.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c ctxReader) Read(b []byte) (int, error) {
	if c.ctx != nil {
		if err := c.ctx.Err(); err != nil {
			return 0, err
		}
	}
	return c.r.Read(b)
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
