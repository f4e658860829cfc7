package profile

import (
	"fmt"
	"strings"
)

// ActionKind is the kind of a plan step.
type ActionKind int

// The steps a plan is made of.
const (
	ActionHeader    ActionKind = iota + 1 // edit the top-level header (Header)
	ActionPartField                       // set field Name of a part's header to Value; an empty Value deletes the field
	ActionTranscode                       // convert the part's audio From → To: base64, Content-Duration from the samples
	ActionReencode                        // write the part's data again as base64 in lines of 76 characters (From: the old transfer encoding)
	ActionDrop                            // leave the part out
	ActionLayout                          // arrange the parts of a multipart (or the single-part body) anew
	ActionBridge                          // hand the message to the telephony bridge for Rcpt
	ActionRefuse                          // refuse or quarantine the message (Decision)
	ActionClose                           // write the missing close delimiter of a multipart (RFC 2046 5.1.1)
)

// Action is one typed step of a plan. The report prints them (String),
// and the milter, rewrite and the body writer carry out exactly these.
type Action struct {
	Kind ActionKind
	Rule Rule // the rule that requires the step; "" for a step of policy
	// Part is the input part the step applies to (Part.Path: "" or "0"
	// for the top level); Message says it is the header or body of the
	// message inside that message/rfc822 part.
	Part    string
	Message bool

	Header   HeaderEdit // ActionHeader
	Name     string     // ActionPartField
	Value    string     // ActionPartField
	From, To string     // ActionTranscode (codec formats), ActionReencode (transfer encodings)
	Layout   *Layout    // ActionLayout
	Rcpt     string     // ActionBridge
	Decision Decision   // ActionRefuse

	part *Part
}

// Layout is a new arrangement of the parts of a container.
type Layout struct {
	Type     string            // the container's media type ("multipart/voice-message")
	Params   map[string]string // its parameters besides the boundary (a new group's)
	Boundary string
	Entries  []LayoutEntry
}

// LayoutEntry is one part of a Layout: an input part moved there, a new
// empty audio segment, or a new multipart of its own.
type LayoutEntry struct {
	Role  string  // what the entry is in the new arrangement ("spoken name"), may be empty
	Part  string  // the input part placed here; "" for a new one
	New   []Field // a new part's header (its body is empty)
	Group *Layout // a new multipart holding other entries

	part *Part
}

// String renders the step for reports and golden files.
func (a Action) String() string {
	label := a.label()
	switch a.Kind {
	case ActionHeader:
		return a.Header.String()
	case ActionPartField:
		if a.Value == "" {
			return fmt.Sprintf("delete part %s %s", label, a.Name)
		}
		return fmt.Sprintf("set part %s %s: %s", label, a.Name, unfold(a.Value))
	case ActionTranscode:
		return fmt.Sprintf("transcode part %s %s→%s (Content-Duration from the samples)", label, a.From, a.To)
	case ActionReencode:
		return fmt.Sprintf("re-encode part %s %s→base64 (76-character lines)", label, orNone(a.From))
	case ActionDrop:
		t := ""
		if a.part != nil {
			t = " " + a.part.Type
		}
		return fmt.Sprintf("drop part %s%s", label, t)
	case ActionLayout:
		return fmt.Sprintf("arrange part %s as %s", label, a.Layout)
	case ActionBridge:
		return "hand to bridge " + a.Rcpt
	case ActionClose:
		return fmt.Sprintf("close part %s with its delimiter", label)
	case ActionRefuse:
		if a.Decision.Verdict == VerdictQuarantine {
			return "quarantine: " + a.Decision.Reason
		}
		return string(a.Decision.Verdict) + " " + a.Decision.Reply.String()
	}
	return fmt.Sprintf("unknown action %d", int(a.Kind))
}

// label names the action's part as reports do: "0" for the top level,
// "2 (message)" for the message inside the message/rfc822 part 2.
func (a Action) label() string {
	l := a.Part
	if l == "" {
		l = "0"
	}
	if a.Message {
		l += " (message)"
	}
	return l
}

func orNone(s string) string {
	if s == "" {
		return "none"
	}
	return s
}

// String renders a layout: "multipart/voice-message [spoken name: part 1,
// spoken subject: empty, voice message: part 2]".
func (l *Layout) String() string {
	var b strings.Builder
	b.WriteString(l.Type)
	if v := l.Params["version"]; v != "" {
		b.WriteString("; version=" + v)
	}
	b.WriteString(" [")
	for i, e := range l.Entries {
		if i > 0 {
			b.WriteString(", ")
		}
		if e.Role != "" {
			b.WriteString(e.Role + ": ")
		}
		switch {
		case e.Group != nil:
			b.WriteString(e.Group.String())
		case e.part != nil && !e.part.synthetic:
			b.WriteString("part " + pathLabel(e.part))
		case e.part != nil:
			b.WriteString("the body")
		default:
			b.WriteString("empty")
		}
	}
	b.WriteString("]")
	return b.String()
}

// pathLabel is a part's path as reports print it ("0" for the top level).
func pathLabel(p *Part) string {
	if p.Path == "" {
		return "0"
	}
	return p.Path
}

// Condition names what a check found when it leads to a decision (a
// refusal today; a per-condition policy may map it to another action).
type Condition string

// The conditions behind decisions.
const (
	CondPrivate          Condition = "private-not-capable"     // Private voice mail to a destination that cannot keep it private
	CondPrivateForwarded Condition = "private-forwarded"       // a Private message (or forwarded Private content) would be forwarded
	CondMediaUnsupported Condition = "media-unsupported"       // audio the target needs converted cannot be converted
	CondRequiredPart     Condition = "required-part"           // critical content the target cannot carry
	CondBridgeNoVoice    Condition = "bridge-no-voice"         // a message to a telephone number has no audio to play
	CondTooLong          Condition = "audio-too-long"          // audio longer than the conversion (codec.max_duration) or the bridge (telephony.max_audio) takes
	CondUnrepairable     Condition = "unrepairable-voice-mail" // MUST-level defects the plan cannot repair (Options.Quarantine)
	CondUnconvertible    Condition = "unconvertible-audio"     // the voice message cannot be converted; the message passes unchanged
)

// planner collects the steps of a plan. Every step the report lists is
// appended here and nowhere else.
type planner struct {
	actions []Action
}

func (pl *planner) add(a Action) { pl.actions = append(pl.actions, a) }

// refused reports whether the plan refuses the message.
func (pl *planner) refused() *Decision {
	for i := range pl.actions {
		if pl.actions[i].Kind == ActionRefuse {
			return &pl.actions[i].Decision
		}
	}
	return nil
}

// refuse plans the decision d, unless one is planned already (the first
// reason is the one the sender sees).
func (pl *planner) refuse(d Decision) {
	if pl.refused() == nil {
		pl.add(Action{Kind: ActionRefuse, Rule: d.Rule, Decision: d})
	}
}

// partActions reports whether any step changes the body.
func (pl *planner) bodyChanges() bool {
	for _, a := range pl.actions {
		switch a.Kind {
		case ActionPartField:
			if a.part.Path != "" || a.part.embeddedIn != nil || a.part.synthetic {
				return true
			}
		case ActionTranscode, ActionReencode, ActionDrop, ActionLayout, ActionClose:
			return true
		}
	}
	return false
}
