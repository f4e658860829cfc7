package milter

import (
	"fmt"

	"github.com/vpim-milter/vpim-milter/internal/optfield"
	"github.com/vpim-milter/vpim-milter/profile"
)

// OnAction is what happens to a message when the profile refuses it on a condition of
// [milter.on] (as OpenDKIM's On-* settings).
type OnAction string

// The values of the OnOptions fields.
const (
	// OnReject refuses the message with the profile's reply (550 5.6.0, 550 5.6.1, ...).
	OnReject OnAction = "reject"
	// OnQuarantine accepts the message as it came and has the MTA hold it
	// (SMFIR_QUARANTINE: Postfix's hold queue, Sendmail's quarantine), with the stamp and
	// a reason naming the condition.
	OnQuarantine OnAction = "quarantine"
	// OnTag delivers the message as it came, with the stamp naming the condition
	// (condition=..., action=tag) for the recipient's filters to act on.
	OnTag OnAction = "tag"
)

// OnActions lists the values the OnOptions fields take.
func OnActions() []OnAction { return []OnAction{OnReject, OnQuarantine, OnTag} }

// OnOptions says what happens on each condition under which the profile refuses a message
// (README "Per-condition actions"). Internal errors and oversized messages have their own
// options (Options.ErrorAction, Options.OversizeAction). Refusals for other conditions
// (critical parts the destination cannot carry, a message to a telephone number without
// audio, audio longer than the duration limits: profile.CondTooLong) are not configurable.
type OnOptions struct {
	// PrivateToNonCapable: Private voice mail towards a destination that cannot keep it
	// private (profile.CondPrivate, RFC 3801 4.2.13); "": reject (550 5.6.0 or 5.3.3).
	PrivateToNonCapable OnAction
	// PrivateForwarded: forwarded Private content (profile.CondPrivateForwarded, RFC 1911
	// 4.2); "": reject.
	PrivateForwarded OnAction
	// UnconvertibleAudio: audio the destination needs converted that cannot be
	// (profile.CondMediaUnsupported, RFC 3801 4.5.3, RFC 4239 6); "": reject (550 5.6.1).
	UnconvertibleAudio OnAction
}

func (o OnOptions) withDefaults() OnOptions {
	for _, a := range []*OnAction{&o.PrivateToNonCapable, &o.PrivateForwarded, &o.UnconvertibleAudio} {
		if *a == "" {
			*a = OnReject
		}
	}
	return o
}

func (o OnOptions) validate(errs *optfield.List, noStamp bool) {
	for _, f := range []struct {
		field string
		a     OnAction
	}{{"On.PrivateToNonCapable", o.PrivateToNonCapable}, {"On.PrivateForwarded", o.PrivateForwarded}, {"On.UnconvertibleAudio", o.UnconvertibleAudio}} {
		optfield.OneOf(errs, f.field, f.a, OnActions())
		if f.a == OnTag && noStamp {
			errs.Add(f.field, `"tag" marks the message with the stamp, which is turned off (hint: turn the stamp on, or use "reject" or "quarantine")`)
		}
	}
}

// action is the configured action for condition c; false when c is not configurable.
func (o OnOptions) action(c profile.Condition) (OnAction, bool) {
	switch c {
	case profile.CondPrivate:
		return o.PrivateToNonCapable, true
	case profile.CondPrivateForwarded:
		return o.PrivateForwarded, true
	case profile.CondMediaUnsupported:
		return o.UnconvertibleAudio, true
	}
	return "", false
}

// Conditions of the filter itself, besides the profile's.
const (
	condInternalError profile.Condition = "internal-error" // Options.ErrorAction
	condOversize      profile.Condition = "oversize"       // Options.OversizeAction
)

// outcome is what enforce mode does with an evaluated message.
type outcome struct {
	verdict   profile.Verdict // what happens: accept, modify, reject, tempfail, quarantine
	reply     profile.Reply   // for reject and tempfail
	reason    string          // for quarantine
	condition profile.Condition
	rule      profile.Rule
	action    OnAction // the [milter.on] action taken on condition; "" when it has none
	// asIs keeps the message as it came: the plan's edits are not applied (a refusal
	// turned into quarantine or tag; the plan of a refused message is not a delivery).
	asIs bool
}

// decide is the one place where the profile's decision (verdict, condition, rule) becomes
// what the filter does, per [milter.on]; failure and oversize are the other two
// conditions' places.
func (o *Options) decide(plan *profile.Plan) outcome {
	d := plan.Decision
	out := outcome{verdict: plan.Verdict(), reply: d.Reply, reason: d.Reason, condition: d.Condition, rule: d.Rule}
	act, ok := o.On.action(d.Condition)
	if !ok || d.Verdict != profile.VerdictReject {
		return out
	}
	out.action = act
	switch act {
	case OnQuarantine:
		out.verdict, out.reply, out.asIs = profile.VerdictQuarantine, profile.Reply{}, true
		out.reason = fmt.Sprintf("vpim-milter: %s (%s): %s", d.Condition, d.Rule, d.Reply.Text)
	case OnTag:
		out.verdict, out.reply, out.asIs = profile.VerdictAccept, profile.Reply{}, true
	}
	return out
}

// failure maps an internal error to the configured error action.
func (f *Filter) failure(err error) Result {
	res := Result{Verdict: profile.VerdictTempfail, Condition: condInternalError, Err: err,
		Reply: profile.Reply{Code: 451, Enhanced: "4.3.0", Text: "temporary failure in the voice-mail filter, try again later"}}
	if f.options().ErrorAction == ActionAccept {
		res.Verdict, res.Reply = profile.VerdictAccept, profile.Reply{}
	}
	return res
}

// oversize maps a message beyond the caps to the configured oversize action.
func (f *Filter) oversize(why string) Result {
	res := Result{Condition: condOversize, Err: fmt.Errorf("milter: message too large to evaluate: %s", why)}
	switch f.options().OversizeAction {
	case ActionAccept:
		res.Verdict = profile.VerdictAccept
	case ActionTempfail:
		res.Verdict, res.Reply = profile.VerdictTempfail, profile.Reply{Code: 452, Enhanced: "4.3.4", Text: "message too large for the voice-mail filter, try again later"}
	default:
		res.Verdict, res.Reply = profile.VerdictReject, profile.Reply{Code: 552, Enhanced: "5.3.4", Text: "message too large for the voice-mail filter"}
	}
	return res
}

// inMode turns res, what enforce mode does, into what mode does: in report mode a message
// that enforce would refuse, tempfail or quarantine is accepted, and Would keeps what
// enforce would have done. In both modes Would is the enforce verdict.
func inMode(res Result, mode Mode) Result {
	res.Mode, res.Would = mode, res.Verdict
	if mode == ModeReport && !res.Verdict.Delivered() {
		res.Verdict, res.Reply = profile.VerdictAccept, profile.Reply{}
	}
	return res
}
