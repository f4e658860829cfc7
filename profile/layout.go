package profile

import (
	"mime"
	"strings"
)

// Container plans: the arrangement of parts a target requires.

// planPositional arranges a message for VPIM v1 (RFC 1911 14): a
// multipart/voice-message with exactly three parts, the spoken name, the
// spoken subject and the voice message, an empty audio segment standing
// in for a missing name or subject ("the segment must still be present but
// may be empty"). Text is not sent (RFC 1911 4.3: "Conformant
// implementations MUST NOT send the Text/Plain content-type"), nor anything
// else a voice mailbox cannot take; further audio and forwarded messages
// go into the third part, a multipart/mixed behind the voice message
// ("The voice message body part may contain any arbitrary content
// including a multipart/mixed collections of body parts").
func planPositional(ev *eval) (r result) {
	root := ev.m.Root
	if c := root.Children; root.Type == "multipart/voice-message" && len(root.Params) == 1 && len(c) == 3 &&
		c[0].IsLeaf() && ev.isAudio(c[0]) && c[1].IsLeaf() && ev.isAudio(c[1]) {
		// Already the three positional parts: only their content is
		// converted, the third part's included.
		ev.planAudio(&r, c[0], "Originator-Spoken-Name", false)
		ev.planAudio(&r, c[1], "Spoken-Subject", false)
		ev.v1Content(&r, c[2])
		return r
	}
	var leaves []*Part
	broken := false
	var collect func(p *Part)
	collect = func(p *Part) {
		switch {
		case p.Embedded != nil:
			leaves = append(leaves, p)
		case p.IsMultipart():
			if p.NoParts || p.Params["boundary"] == "" {
				broken = true
				return
			}
			for _, c := range p.Children {
				collect(c)
			}
		default:
			leaves = append(leaves, p)
		}
	}
	var body *Part // the wrapped single-part body
	if root.IsLeaf() {
		if !ev.isAudio(root) {
			return r
		}
		body = ev.wrapPart(&r, ruleD1MVM)
		leaves = []*Part{body}
	} else {
		collect(root)
	}
	if broken {
		return r
	}
	var name, subj, msg *Part
	var rest []*Part
	for _, p := range leaves {
		src := p
		if p == body {
			src = root
		}
		switch {
		case p.Embedded != nil:
			ev.planForwarded(&r, p.Embedded)
			rest = append(rest, p)
			continue
		case ev.isAudio(src):
		case strings.HasPrefix(p.Type, "text/"):
			r.find(ruleD1CtText, p.Path, "%s is not sent to a VPIM v1 destination", p.Type)
			r.act(Action{Kind: ActionDrop, Rule: ruleD1CtText, Part: p.Path, part: p})
			continue
		default:
			r.find(ruleD1MVM, p.Path, "%s has no place in a VPIM v1 message", p.Type)
			r.act(Action{Kind: ActionDrop, Rule: ruleD1MVM, Part: p.Path, part: p})
			continue
		}
		role := ev.roles[src]
		before := len(r.actions)
		ev.planAudio(&r, p, role, false)
		if dropped(r.actions[before:], p) || refusedIn(r.actions[before:]) {
			continue
		}
		switch {
		case role == "Originator-Spoken-Name" && name == nil:
			name = p
		case role == "Spoken-Subject" && subj == nil:
			subj = p
		case role == "Voice-Message" && msg == nil:
			msg = p
		default:
			rest = append(rest, p)
		}
	}
	if refusedIn(r.actions) {
		return r
	}
	if msg == nil {
		for i, p := range rest {
			if p.Embedded == nil {
				msg = p
				rest = append(rest[:i:i], rest[i+1:]...)
				break
			}
		}
	}
	if msg == nil && len(rest) > 0 {
		msg, rest = rest[0], rest[1:]
	}
	if msg == nil {
		return r // nothing to deliver as a voice message
	}
	slot := func(p *Part, role string) LayoutEntry {
		if p == nil {
			return LayoutEntry{Role: role, New: []Field{{Name: "Content-Type", Value: " audio/32KADPCM"}}}
		}
		return LayoutEntry{Role: role, Part: pathOrBody(p), part: p}
	}
	b := root.Params["boundary"]
	if root.IsLeaf() || b == "" {
		b = ev.boundary("")
	}
	l := &Layout{Type: "multipart/voice-message", Boundary: b, Entries: []LayoutEntry{
		slot(name, "spoken name"), slot(subj, "spoken subject"), slot(msg, "voice message")}}
	if len(rest) > 0 {
		g := &Layout{Type: "multipart/mixed", Boundary: ev.boundary("m")}
		g.Entries = append(g.Entries, slot(msg, "voice message"))
		for _, p := range rest {
			g.Entries = append(g.Entries, slot(p, ""))
		}
		l.Entries[2] = LayoutEntry{Role: "voice message", Group: g}
	}
	ct := mime.FormatMediaType("multipart/voice-message", map[string]string{"boundary": b})
	if !root.IsLeaf() && root.Type == "multipart/voice-message" && len(root.Params) == 1 && len(root.Children) == 3 && len(rest) == 0 &&
		root.Children[0] == name && root.Children[1] == subj && root.Children[2] == msg {
		return r // already the three positional parts
	}
	if root.IsLeaf() || root.Type != "multipart/voice-message" || len(root.Params) != 1 {
		ev.setHeader(&r, ruleD1MVM, "Content-Type", ct)
	}
	if l.Entries[2].Group == nil && msg.IsMultipart() {
		l.Entries[2] = LayoutEntry{Role: "voice message", Group: &Layout{Type: "multipart/mixed", Boundary: ev.boundary("m"),
			Entries: []LayoutEntry{{Part: pathLabel(msg), part: msg}}}}
	}
	r.find(ruleD1MVM, "", "a VPIM v1 message is a multipart/voice-message of the spoken name, the spoken subject and the message; arranged as %s", l)
	r.act(Action{Kind: ActionLayout, Rule: ruleD1MVM, part: root, Layout: l})
	return r
}

// v1Content converts the content of the third part of a VPIM v1 message:
// audio to Audio/32KADPCM (also inside forwarded messages); text and other
// content a voice mailbox cannot take is not sent (RFC 1911 4.3).
func (ev *eval) v1Content(r *result, p *Part) {
	switch {
	case p.Embedded != nil:
		ev.planForwarded(r, p.Embedded)
	case p.IsMultipart():
		if !p.NoParts && p.Params["boundary"] != "" {
			for _, c := range p.Children {
				ev.v1Content(r, c)
			}
		}
	case ev.isAudio(p):
		ev.planAudio(r, p, ev.roles[p], false)
	case strings.HasPrefix(p.Type, "text/"):
		r.find(ruleD1CtText, p.Path, "%s is not sent to a VPIM v1 destination", p.Type)
		r.act(Action{Kind: ActionDrop, Rule: ruleD1CtText, Part: p.Path, part: p})
	default:
		r.find(ruleD1MVM, p.Path, "%s has no place in a VPIM v1 message", p.Type)
		r.act(Action{Kind: ActionDrop, Rule: ruleD1MVM, Part: p.Path, part: p})
	}
}

// pathOrBody is the label of a layout entry's part.
func pathOrBody(p *Part) string {
	if p.synthetic {
		return ""
	}
	return pathLabel(p)
}

// dropped reports whether actions drop p.
func dropped(actions []Action, p *Part) bool {
	for _, a := range actions {
		if a.Kind == ActionDrop && a.part == p {
			return true
		}
	}
	return false
}

// refusedIn reports whether actions refuse the message.
func refusedIn(actions []Action) bool {
	for _, a := range actions {
		if a.Kind == ActionRefuse {
			return true
		}
	}
	return false
}

// boundary is a new multipart boundary, stable for the message (derived
// from its header like generated Message-IDs) and distinct per suffix.
func (ev *eval) boundary(suffix string) string {
	id := strings.TrimPrefix(ev.generateID(), "<")
	b := "=_vpim_" + id[:strings.IndexByte(id, '.')]
	if suffix != "" {
		b += "_" + suffix
	}
	return b
}

// planVPIM2 arranges a message for VPIM v2 (RFC 3801 4.4, 4.5): the voice
// content (audio, fax, forwarded messages) in a multipart/voice-message;
// version=2.0. Text may stay beside it in a top-level multipart/mixed
// (4.5.4: "Implementations MAY send the Text/Plain content-type outside
// the Multipart/Voice-Message"; 4.5.1); inside the voice container text,
// vCards and other content are not sent. Content VPIM v2 cannot carry is
// dropped, or refuses the message when the sender marked it critical
// (RFC 4239 9.3: such a message "would be rejected in the gateway").
func planVPIM2(ev *eval) (r result) {
	root := ev.m.Root
	if root.IsLeaf() {
		if ev.isAudio(root) {
			ev.planAudio(&r, ev.wrapRoot(&r), ev.roles[root], false)
		}
		return r
	}
	if root.NoParts || root.Params["boundary"] == "" {
		return r
	}
	switch mvm := findMVM(root); {
	case mvm == root:
		ev.v2Version(&r, root)
		ev.v2Inside(&r, root)
	case mvm != nil && root.Type == "multipart/mixed":
		// RFC 3801 4.5.1: a voice message inside multipart/mixed, with other
		// content beside it; that content is the sender's and stays.
		for _, c := range root.Children {
			switch {
			case c == mvm:
				ev.v2Version(&r, c)
				ev.v2Inside(&r, c)
			case c.Embedded != nil:
				ev.planForwarded(&r, c.Embedded)
			case ev.isAudio(c):
				ev.planAudio(&r, c, ev.roles[c], false)
			}
		}
	default:
		ev.v2Build(&r, root)
	}
	return r
}

// v2Version plans the version parameter of a voice container (RFC 3801 4.4.1).
func (ev *eval) v2Version(r *result, p *Part) {
	if mvmVersion2(p.Params["version"]) {
		return
	}
	params := copyParams(p.Params)
	params["version"] = "2.0"
	ev.setField(r, ruleV2MVM, p, "Content-Type", mime.FormatMediaType("multipart/voice-message", params))
}

// v2Inside plans the parts inside a voice container.
func (ev *eval) v2Inside(r *result, mvm *Part) {
	for _, c := range mvm.Children {
		switch {
		case c.Embedded != nil:
			ev.planForwarded(r, c.Embedded) // RFC 3801 4.8
		case c.IsMultipart():
			if !c.NoParts && c.Params["boundary"] != "" {
				ev.v2Inside(r, c)
			}
		case ev.isAudio(c):
			ev.planAudio(r, c, ev.roles[c], false)
		case c.Type == "image/tiff":
			ev.v2Fax(r, c)
		case c.Type == "text/plain":
			// RFC 3801 4.5.4 (V2-TEXT): not sent inside the voice message.
			ev.v2Drop(r, c, ruleV2Text)
		case c.Type == "text/directory":
			ev.v2Drop(r, c, ruleV2VCard) // RFC 3801 4.5.2
		case strings.HasPrefix(c.Type, "image/"):
			ev.v2Drop(r, c, ruleV2Prop) // RFC 3801 4.5.3: fax is image/tiff
		default:
			ev.v2Drop(r, c, ruleV2MVMInner) // RFC 3801 4.4
		}
	}
}

// v2Drop leaves out a part VPIM v2 does not carry, or refuses the message
// when the sender marked the part critical (RFC 4239 9.3, RFC 3459).
func (ev *eval) v2Drop(r *result, p *Part, rule Rule) {
	if critical(p) {
		r.find(ruleIGW, p.Path, "%s marked handling=REQUIRED cannot be carried by VPIM", p.Type)
		r.act(Action{Kind: ActionRefuse, Rule: ruleIGW, Decision: Decision{Verdict: VerdictReject, Condition: CondRequiredPart, Rule: ruleIGW,
			Reply: Reply{Code: 550, Enhanced: "5.6.1", Text: "a required " + p.Type + " part cannot be carried to a VPIM destination"}}})
		return
	}
	r.act(Action{Kind: ActionDrop, Rule: rule, Part: p.Path, part: p})
}

// textual reports whether a part is text a VPIM v2 message may carry
// beside its voice message: text/plain, or a multipart/alternative whose
// parts are all text (RFC 3801 4.5.4).
func textual(p *Part) bool {
	if p.Type == "text/plain" {
		return true
	}
	if p.Type != "multipart/alternative" || len(p.Children) == 0 {
		return false
	}
	plain := false
	for _, c := range p.Children {
		if !c.IsLeaf() || !strings.HasPrefix(c.Type, "text/") {
			return false
		}
		plain = plain || c.Type == "text/plain"
	}
	return plain
}

// v2Build plans the voice container of a multipart without one (IVM and
// vendor mail): its voice content goes into a multipart/voice-message,
// text stays beside it in the top-level multipart/mixed (or the top level
// becomes the voice container when nothing stays beside it).
func (ev *eval) v2Build(r *result, root *Part) {
	var inside, outside []*Part
	for _, c := range root.Children {
		switch {
		case c.Embedded != nil, c.Type == "image/tiff", ev.isAudio(c) && c.IsLeaf():
			inside = append(inside, c)
		case textual(c):
			outside = append(outside, c)
		case c.IsMultipart():
			ev.v2Drop(r, c, ruleV2MVMInner)
		case c.Type == "text/directory":
			ev.v2Drop(r, c, ruleV2VCard)
		default:
			ev.v2Drop(r, c, ruleV2Prop) // RFC 3801 4.5.3
		}
	}
	if refusedIn(r.actions) || len(inside) == 0 {
		return
	}
	for _, c := range inside {
		switch {
		case c.Embedded != nil:
			ev.planForwarded(r, c.Embedded)
		case ev.isAudio(c):
			ev.planAudio(r, c, ev.roles[c], false)
		case c.Type == "image/tiff":
			ev.v2Fax(r, c)
		}
	}
	params := copyParams(root.Params)
	params["version"] = "2.0"
	if len(outside) == 0 || root.Type != "multipart/mixed" {
		for _, c := range outside {
			ev.v2Drop(r, c, ruleV2Text)
		}
		ev.setField(r, ruleV2MVM, root, "Content-Type", mime.FormatMediaType("multipart/voice-message", params))
		return
	}
	g := &Layout{Type: "multipart/voice-message", Params: map[string]string{"version": "2.0"}, Boundary: ev.boundary("v")}
	l := &Layout{Type: root.Type, Boundary: root.Params["boundary"]}
	for _, c := range root.Children {
		switch {
		case contains2(outside, c):
			l.Entries = append(l.Entries, LayoutEntry{Part: pathLabel(c), part: c})
		case contains2(inside, c):
			if len(g.Entries) == 0 {
				l.Entries = append(l.Entries, LayoutEntry{Role: "voice message", Group: g})
			}
			g.Entries = append(g.Entries, LayoutEntry{Part: pathLabel(c), part: c})
		}
	}
	r.find(ruleV2MVM, "", "the voice content goes into a multipart/voice-message; version=2.0, the text beside it (RFC 3801 4.5.1, 4.5.4)")
	r.act(Action{Kind: ActionLayout, Rule: ruleV2MVM, part: root, Layout: l})
}

func contains2(list []*Part, p *Part) bool {
	for _, x := range list {
		if x == p {
			return true
		}
	}
	return false
}

// planForwarded plans the audio of a forwarded message (the message inside
// a message/rfc822 part) for the target: voice is converted wherever it is
// (RFC 4239 7: voice "may be contained at any location within a message";
// RFC 3801 4.4.3 sends voice as audio/32KADPCM). The forwarded message
// keeps its structure; for IVM and the desktop its voice container becomes
// multipart/mixed, for VPIM v2 it gets its version.
func (ev *eval) planForwarded(r *result, m *Part) {
	var walk func(p *Part)
	walk = func(p *Part) {
		switch {
		case p.Embedded != nil:
			walk(p.Embedded)
		case p.IsMultipart():
			if p.NoParts || p.Params["boundary"] == "" {
				return
			}
			if p.Type == "multipart/voice-message" {
				switch ev.target {
				case TargetIVM, TargetDesktop:
					params := copyParams(p.Params)
					delete(params, "version")
					rule := ruleITop
					if ev.target == TargetDesktop {
						rule = ruleDTTop
					}
					ev.setField(r, rule, p, "Content-Type", mime.FormatMediaType("multipart/mixed", params))
				case TargetVPIM2:
					ev.v2Version(r, p)
				}
			}
			for _, c := range p.Children {
				walk(c)
			}
		case ev.isAudio(p):
			ev.planAudio(r, p, ev.roles[p], false)
		}
	}
	walk(m)
}

// planLines re-wraps base64 parts whose lines are longer than 76
// characters (RFC 2045 6.8), unless the plan rewrites their data anyway.
func planLines(ev *eval) (r result) {
	if !ev.spec.rewrite {
		return r
	}
	touched := map[*Part]bool{}
	for _, a := range ev.pl.actions {
		switch a.Kind {
		case ActionTranscode, ActionReencode, ActionDrop:
			touched[a.part] = true
		}
	}
	ev.m.Walk(func(p *Part, _ int) bool {
		if p.IsLeaf() && isBase64(p.Encoding) && !p.BadBase64 && p.MaxLine > 76 && !touched[p] {
			r.act(Action{Kind: ActionReencode, Rule: rulePB64, Part: p.Path, Message: p.embeddedIn != nil, From: p.Encoding, part: p})
		}
		return true
	})
	return r
}

// v2Fax gives a fax part the parameter VPIM v2 requires: RFC 3801 4.4.4,
// image/tiff; application=faxbw ("the param MUST be present").
func (ev *eval) v2Fax(r *result, p *Part) {
	if strings.EqualFold(p.Params["application"], "faxbw") || p.TypeInvalid {
		return
	}
	raw, _ := rawField(p.Header, "Content-Type")
	ev.setField(r, ruleV2Fax, p, "Content-Type", strings.TrimLeft(editParams(raw, "", map[string]string{"application": "faxbw"}), " \t"))
}

// planRepair plans the repairs of MIME structure a converted message
// needs: the close delimiter of a multipart that lacks it (RFC 2046
// 5.1.1), a Content-Type that does not parse written anew from what could
// be read of it (RFC 2045 5.1), and for VPIM v2 the MIME-Version and
// Content-Type a forwarded message must have (RFC 3801 4.8: "the embedded
// message MUST have MIME-Version and Content-Type"; an absent
// Content-Type means text/plain, RFC 2045 5.2).
func planRepair(ev *eval) (r result) {
	typed := map[*Part]bool{}
	for _, a := range ev.pl.actions {
		if a.Kind == ActionPartField && strings.EqualFold(a.Name, "Content-Type") {
			typed[a.part] = true
		}
		if a.Kind == ActionHeader && strings.EqualFold(a.Header.Name, "Content-Type") {
			typed[ev.m.Root] = true
		}
		if a.Kind == ActionTranscode || a.Kind == ActionDrop {
			typed[a.part] = true
		}
	}
	ev.m.Walk(func(p *Part, _ int) bool {
		if p.IsMultipart() && p.Unclosed && !p.NoParts && p.Params["boundary"] != "" {
			r.act(Action{Kind: ActionClose, Rule: rulePMIMEClose, Part: p.Path, Message: p.embeddedIn != nil, part: p})
		}
		if p.TypeInvalid && strings.Contains(p.Type, "/") && !typed[p] {
			ev.setField(&r, rulePCTSyntax, p, "Content-Type", mime.FormatMediaType(p.Type, p.Params))
		}
		if in := p.Embedded; in != nil && ev.target == TargetVPIM2 && !ev.report {
			if _, ok := in.Get("MIME-Version"); !ok {
				ev.setField(&r, ruleV2Fwd, in, "MIME-Version", "1.0")
			}
			if _, ok := in.Get("Content-Type"); !ok {
				ev.setField(&r, ruleV2Fwd, in, "Content-Type", "text/plain; charset=us-ascii")
			}
		}
		return true
	})
	return r
}
