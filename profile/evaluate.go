package profile

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/vpim-milter/vpim-milter/codec"
)

// eval is the state of one evaluation. The checks read it and return
// their findings and plan steps (result); run merges them in order.
type eval struct {
	ctx     context.Context
	e       *Engine
	in      *Input
	m       *Message
	target  Target
	spec    *targetSpec
	profile string
	report  bool // multipart/report (DSN/MDN)

	info   map[*Part]audioInfo   // what the bytes of each leaf are
	roles  map[*Part]string      // voice= role of each voice part
	trials map[*Part]trialResult // trials of all of a part's data
	names  map[string]bool       // file names given to audio parts (lower case), desktop target

	findings []Finding
	pl       planner
	unfixed  []defect // MUST-level defects that stay in the delivered message
	bridge   []string // recipients for the telephony bridge
	voice    *Part    // the voice message the bridge plays
	audioN   int      // audio parts named so far (msgN.ext)
	// unconvertible is the voice message, when it cannot be converted for
	// an IVM destination and passes unchanged: then the whole message does.
	unconvertible *Part
	ioErr         error     // reading the body failed while planning: Evaluate returns it
	pass          *Decision // the message is delivered unchanged by this decision
}

// result is what one check contributes: findings and plan steps.
type result struct {
	findings []Finding
	actions  []Action
	unfixed  []defect
}

// defect is a MUST-level defect the plan cannot repair.
type defect struct {
	rule Rule
	why  string
}

// find records a finding of rule id on part path.
func (r *result) find(id Rule, part, format string, args ...any) {
	r.findings = append(r.findings, finding(id, part, format, args...))
}

// findAt is find with the level of the one requirement behind it, for
// rules whose section mixes levels (RFC 4239 7: raw µ-law audio/basic MUST,
// a filename ending in .au SHOULD).
func (r *result) findAt(lvl Level, id Rule, part, format string, args ...any) {
	f := finding(id, part, format, args...)
	f.Level = lvl
	r.findings = append(r.findings, f)
}

// unfix records that a MUST-level defect stays in the delivered message.
func (r *result) unfix(rule Rule, why string) { r.unfixed = append(r.unfixed, defect{rule, why}) }

// act records a plan step.
func (r *result) act(a Action) { r.actions = append(r.actions, a) }

// header records a top-level header edit.
func (r *result) header(rule Rule, e HeaderEdit) {
	r.act(Action{Kind: ActionHeader, Rule: rule, Header: e})
}

// merge adds a check's result to the evaluation.
func (ev *eval) merge(r result) {
	ev.findings = append(ev.findings, r.findings...)
	ev.pl.actions = append(ev.pl.actions, r.actions...)
	ev.unfixed = append(ev.unfixed, r.unfixed...)
}

// check is one check: it reads the evaluation and returns its result.
type check func(ev *eval) result

// runChecks runs checks in order, merging each result before the next
// check runs; it stops when the plan refuses the message or reading the
// body failed.
func (ev *eval) runChecks(checks ...check) {
	for _, c := range checks {
		ev.merge(c(ev))
		if ev.pl.refused() != nil || ev.ioErr != nil {
			return
		}
	}
}

func newEval(ctx context.Context, e *Engine, in *Input, m *Message) *eval {
	ev := &eval{ctx: ctx, e: e, in: in, m: m, info: map[*Part]audioInfo{}, trials: map[*Part]trialResult{}, names: map[string]bool{}}
	m.Walk(func(p *Part, _ int) bool {
		if p.IsLeaf() {
			ev.info[p] = inspectAudio(p)
		}
		return true
	})
	return ev
}

func (ev *eval) isV1() bool { return ev.profile == "v1-draft" || ev.profile == "vpim1" }

// run performs detection, checks, policy and planning, and returns the
// report.
func (ev *eval) run() *Report {
	ev.routeRecipients()
	ev.spec = ev.target.spec()
	ev.profile = "none"
	limited := ev.m.Limited() || ev.m.HeaderSize > ev.e.opts.Limits.MaxHeaderBytes
	if limited {
		ev.merge(checkLimits(ev))
	} else {
		ev.profile = detect(ev)
		ev.assignRoles()
	}
	ev.report = ev.m.Root.Type == "multipart/report"
	if ev.profile != "none" || limited {
		// The profiles' rules apply only to a target that gets the
		// message converted; passthrough and bridge take it as it is.
		if !limited && ev.spec.rewrite {
			ev.runChecks(checkStructure, checkLines, checkHeader, checkParts)
		}
		ev.runChecks(checkPrivacy)
	}
	if ev.pl.refused() == nil {
		ev.runChecks(checkBridge)
	}
	if ev.pl.refused() != nil {
		return ev.finish()
	}
	if ev.profile == "none" || limited || !ev.spec.rewrite {
		ev.unfixed = nil // passed through unchanged by definition
		return ev.finish()
	}
	if ev.report {
		ev.runChecks(planReport, planLines, planRepair)
	} else {
		ev.runChecks(planMessageID, planHeader, planFields, planSensitivity, planParts, planLines, planRepair)
	}
	if p := ev.unconvertible; p != nil && ev.pl.refused() == nil {
		// The voice message cannot become audio/basic: converting the rest
		// (Message-Context, dispositions) would announce a voice message
		// IVM clients cannot play. The message is delivered as it came,
		// where its audio stays playable by ordinary mail readers.
		ev.pl.actions = nil
		ev.findings = append(ev.findings, finding(rulePCodec, p.Path,
			"the voice message cannot be converted to audio/basic: the message is delivered unchanged, not as IVM voice mail"))
		ev.pass = &Decision{Verdict: VerdictAccept, Condition: CondUnconvertible, Rule: rulePCodec}
	}
	return ev.finish()
}

// routeRecipients computes the body target and the bridge recipients, each
// address once: copies of one recipient are one hand-off and one removal
// from MTA delivery (a DELRCPT removes every copy), not one per copy
// (redteam R12: 10,000 copies made 10,000 of each).
func (ev *eval) routeRecipients() {
	ev.target = ""
	seen := map[string]bool{}
	for _, r := range ev.in.Envelope.Rcpts {
		res := ev.e.route(ev.in.Envelope.From, r)
		if res.Reject != nil {
			continue
		}
		if res.Target == TargetBridge {
			if !seen[r.Addr] {
				seen[r.Addr] = true
				ev.bridge = append(ev.bridge, r.Addr)
			}
			continue
		}
		if ev.target == "" {
			ev.target = res.Target
		}
	}
	if ev.target == "" {
		if len(ev.bridge) > 0 {
			ev.target = TargetBridge
		} else {
			ev.target = ev.e.opts.DefaultTarget
		}
	}
}

// checkLimits records that the message exceeded a parse limit (it then
// passes unchanged, never partially rewritten).
func checkLimits(ev *eval) (r result) {
	m, lim := ev.m, ev.e.opts.Limits
	var why []string
	if m.HeaderSize > lim.MaxHeaderBytes {
		why = append(why, fmt.Sprintf("header block of %d bytes exceeds %d", m.HeaderSize, lim.MaxHeaderBytes))
	}
	if m.HeaderLimit != "" {
		why = append(why, fmt.Sprintf("the header of part %s exceeds %d lines or %d bytes (or the part headers together %d times as much)",
			m.HeaderLimit, lim.MaxPartHeaderLines, lim.MaxPartHeaderBytes, partHeaderTotal))
	}
	if m.DepthLimit {
		why = append(why, fmt.Sprintf("MIME nesting deeper than %d", lim.MaxDepth))
	}
	if m.PartLimit {
		why = append(why, fmt.Sprintf("more than %d MIME parts", lim.MaxParts))
	}
	r.find(rulePLimit, "", "%s: message not interpreted, passed through unchanged", strings.Join(why, "; "))
	return r
}

// finish assembles the plan and the report.
func (ev *eval) finish() *Report {
	if ev.pl.refused() == nil {
		for _, b := range ev.bridge {
			ev.pl.add(Action{Kind: ActionBridge, Rcpt: b})
		}
	} else {
		ev.bridge = nil // a refused message is handed to nobody
	}
	if len(ev.unfixed) > 0 && ev.pl.refused() == nil && (ev.pass == nil || ev.e.opts.Quarantine) {
		var why []string
		for _, d := range ev.unfixed {
			why = append(why, d.why)
		}
		d := Decision{Condition: CondUnrepairable, Rule: ev.unfixed[0].rule}
		if ev.e.opts.Quarantine {
			d.Verdict, d.Reason = VerdictQuarantine, "non-conforming voice mail: "+strings.Join(why, "; ")
			ev.pl.refuse(d)
			ev.pass = nil
		} else {
			// Delivered with the defects the rewrite cannot repair: the
			// decision names them (a per-condition policy may refuse them).
			d.Reason = "delivered with defects the rewrite cannot repair: " + strings.Join(why, "; ")
			ev.pass = &d
		}
	}
	rep := &Report{Profile: ev.profile, Target: ev.target, Findings: ev.findings, Bridge: ev.bridge}
	if rep.Findings == nil {
		rep.Findings = []Finding{}
	}
	if rep.Bridge == nil {
		rep.Bridge = []string{}
	}
	plan := &rep.Plan
	plan.Actions = ev.order(ev.pl.actions)
	if ev.pass != nil {
		plan.Decision = *ev.pass
	}
	for _, a := range plan.Actions {
		switch a.Kind {
		case ActionHeader:
			plan.Headers = append(plan.Headers, a.Header)
		case ActionRefuse:
			plan.Decision = a.Decision
		}
	}
	if ev.pl.bodyChanges() {
		plan.Body = newRewriter(ev.e, ev.in, ev.m, plan.Actions)
	}
	if ev.voice != nil {
		rep.Voice = &Voice{Path: ev.voice.Path, MediaType: ev.voice.Type, format: ev.info[ev.voice].format, part: ev.voice}
	}
	return rep
}

// order puts the steps in the order the report lists and the milter
// applies them: a refusal alone (a refused message is not changed), else
// the top-level header edits, the body steps in document order of their
// parts, then the envelope steps and a quarantine. Steps of one part keep
// the order they were planned in.
func (ev *eval) order(actions []Action) []Action {
	rank := map[*Part]int{}
	n := 0
	ev.m.Walk(func(p *Part, _ int) bool {
		n++
		rank[p] = n
		return true
	})
	key := func(a Action) (int, int) {
		switch a.Kind {
		case ActionHeader:
			return 0, 0
		case ActionRefuse:
			if a.Decision.Verdict == VerdictQuarantine {
				return 4, 0
			}
			return -1, 0
		case ActionBridge:
			return 3, 0
		}
		r, ok := rank[a.part]
		if !ok && a.part != nil && a.part.synthetic {
			r = rank[a.part.parent]
		}
		return 1, r
	}
	out := slices.Clone(actions)
	if d := ev.pl.refused(); d != nil && d.Verdict != VerdictQuarantine {
		out = slices.DeleteFunc(out, func(a Action) bool { return a.Kind != ActionRefuse })
	}
	slices.SortStableFunc(out, func(a, b Action) int {
		ka, ra := key(a)
		kb, rb := key(b)
		if ka != kb {
			return ka - kb
		}
		return ra - rb
	})
	return out
}

// checkBridge refuses a message to a telephone number that has no audio the
// bridge can play, as the bridge would (554 5.6.1, media not supported):
// the evaluation chose no voice part, or the codec cannot decode it.
func checkBridge(ev *eval) (r result) {
	if len(ev.bridge) == 0 {
		return r
	}
	why, part := "", ""
	switch v := ev.voice; {
	case ev.m.Limited():
		why = "message to a telephone number is beyond the parse limits: its audio cannot be found"
	case v == nil:
		why = "message to a telephone number has no audio to play"
	case ev.e.opts.Codec != nil && !v.damaged():
		// The bridge decodes the audio itself and bounds its length
		// (telephony.max_audio): the trial only shows that the codec
		// decodes this format, from its first 8 KiB.
		part = v.Path
		if err := ev.trialPrefix(v, ev.info[v].format); err != nil && !errors.Is(err, codec.ErrTooLong) {
			if ev.ioErr != nil {
				return r
			}
			why = "audio of this message cannot be played"
			r.find(rulePBridge, part, "the codec cannot decode the voice part (%v)", err)
		}
	case v.damaged():
		part, why = v.Path, "audio of this message cannot be played"
	}
	if why == "" {
		ev.checkBridgeLength(&r)
		return r
	}
	r.find(rulePBridge, part, "%s: refused for the telephony bridge", why)
	r.act(Action{Kind: ActionRefuse, Rule: rulePBridge, Decision: Decision{Verdict: VerdictReject, Condition: CondBridgeNoVoice, Rule: rulePBridge,
		Reply: Reply{Code: 554, Enhanced: "5.6.1", Text: why}}})
	return r
}

// checkBridgeLength refuses a message to a telephone number whose voice
// part, by the timing of its format, plays longer than the bridge takes
// (telephony.max_audio, or the codec's max_duration when shorter), with the
// bridge's own reply (552 5.3.4, RFC 3463 3.4: message too big for system),
// so that the report and the milter refuse it before the hand-off and list
// no bridge recipient (redteam R11). Audio whose timing only decoding tells
// (MP3, formats without a fixed byte rate) is left to the hand-off, which
// refuses it alike as soon as its decoder passes the limit.
func (ev *eval) checkBridgeLength(r *result) {
	v, lim := ev.voice, ev.bridgeMaxAudio()
	if v == nil || lim <= 0 {
		return
	}
	n, ok := ev.info[v].samples(v)
	// The bridge's count (telephony.Gateway): whole seconds of the limit
	// at 8 kHz; one sample more is too long.
	if most := int64(lim / time.Second * codec.Rate); !ok || n <= most {
		return
	}
	r.find(rulePAudioLong, v.Path, "the voice part plays %d s, longer than the telephony bridge takes (%v): refused for the telephony bridge",
		roundSeconds(n), lim)
	r.act(Action{Kind: ActionRefuse, Rule: rulePAudioLong, Decision: Decision{Verdict: VerdictReject, Condition: CondTooLong, Rule: rulePAudioLong,
		Reply: Reply{Code: 552, Enhanced: "5.3.4", Text: fmt.Sprintf("voice message too long to play by telephone (the limit is %v)", lim)}}})
}

// bridgeMaxAudio is the longest audio the telephony bridge plays:
// Options.BridgeMaxAudio, or the codec's limit when that is shorter or
// BridgeMaxAudio is 0 (the bridge applies both, telephony.Gateway); 0 when
// neither is set.
func (ev *eval) bridgeMaxAudio() time.Duration {
	lim := ev.e.opts.BridgeMaxAudio
	if c, ok := ev.e.opts.Codec.(durationLimiter); ok {
		if d := c.MaxDuration(); d > 0 && (lim <= 0 || d < lim) {
			lim = d
		}
	}
	return lim
}
