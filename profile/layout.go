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
	if broken {
		return r
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
	var name, subj, msg *Part
	var rest []*Part
	for _, p := range leaves {
		src := p
		if p == body {
			src = root
		}
		switch {
		case p.Embedded != nil:
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
	r.find(ruleD1MVM, "", "a VPIM v1 message is a multipart/voice-message of the spoken name, the spoken subject and the message; arranged as %s", l)
	r.act(Action{Kind: ActionLayout, Rule: ruleD1MVM, part: root, Layout: l})
	return r
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
