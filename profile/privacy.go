package profile

// Privacy (DIGEST §3): Sensitivity: Private voice mail goes only where it
// stays private; forwarded private content is not forwarded.

import "strings"

// checkPrivacy refuses the message when its privacy cannot be kept.
func checkPrivacy(ev *eval) (r result) {
	root := ev.m.Root
	vals, most := sensitivities(root.Header)
	rule := ev.rid(ruleV2HdrSens, ruleD1HdrSens)
	private := len(vals) > 0 && (ev.isV1() || most == "Private")
	forwarded := false
	if !ev.report {
		ev.m.Walk(func(p *Part, _ int) bool {
			if p.Embedded != nil {
				if _, most := sensitivities(p.Embedded.Header); most == "Private" {
					forwarded, rule = true, ruleV2Fwd
					r.find(ruleV2Fwd, p.Path, "forwarded content is marked Sensitivity: Private")
				}
			}
			return !forwarded
		})
		resent := false
		for _, f := range root.Header {
			if hasPrefixFold(f.Name, "Resent-") {
				resent = true
			}
		}
		if private && resent {
			forwarded = true
			r.find(rule, "", "a Private message is being re-sent (Resent-* fields)")
		}
	}
	if !private && !forwarded {
		return r
	}
	why := ""
	cond := CondPrivate
	if forwarded {
		why = "forwarding of private content is prohibited"
		cond = CondPrivateForwarded
	} else {
		for _, rc := range ev.in.Envelope.Rcpts {
			_, domain := parseRecipient(rc.Addr)
			res := ev.e.route(ev.in.Envelope.From, rc)
			if res.Reject != nil {
				continue // refused at RCPT
			}
			if res.Target == TargetBridge {
				// DIGEST §3: an outdial cannot stop forwarding or replay.
				why = "the telephony bridge cannot assure privacy"
				break
			}
			if !ev.e.keepsPrivate(rc, res.Target) {
				why = "privacy could not be assured by " + domain
				break
			}
		}
		if len(ev.in.Envelope.Rcpts) == 0 && !ev.e.privacyCapable("") {
			why = "privacy could not be assured by the " + string(ev.target) + " destination"
		}
	}
	if why == "" {
		return r // every destination keeps it private
	}
	code := ev.e.opts.SensitivityCode
	if code == "" {
		code = "5.6.0" // RFC 3801 4.2.13
		if ev.isV1() {
			code = "5.3.3" // RFC 3801 App. C, DIGEST §3
		}
	}
	r.find(rule, "", "message marked private: %s", why)
	r.act(Action{Kind: ActionRefuse, Rule: rule, Decision: Decision{Verdict: VerdictReject, Condition: cond, Rule: rule,
		Reply: Reply{Code: 550, Enhanced: code, Text: "message marked private: " + why + "; the message was not delivered"}}})
	return r
}

// planSensitivity plans the Sensitivity field of the delivered message:
// the canonical spelling of its value; and for v1 input converted to a
// profile in which only Private means anything, Private. RFC 1911 4.2: "If
// a sensitivity header is present in the message, a conformant system MUST
// prohibit the recipient from forwarding this message to any other user",
// whatever its value; RFC 3801 4.2.13: "If a user marks a message
// "Private", a conforming implementation MUST send only the "Private"
// sensitivity level", and receivers MAY ignore Personal.
func planSensitivity(ev *eval) (r result) {
	h := ev.m.Root.Header
	vals, want := sensitivities(h)
	if len(vals) == 0 {
		return r
	}
	rule := ev.rid(ruleV2HdrSens, ruleD1HdrSens)
	if !ev.isV1() && ev.target == TargetVPIM1 && want != "Private" {
		// RFC 3801 4.2.13: no VPIM v2 semantics for Personal or
		// Company-Confidential; RFC 1911 4.2: any value asks a v1 system
		// for privacy the sender did not ask for.
		r.find(ruleD1HdrSens, "", "Sensitivity %q has no meaning in VPIM v2 but would mean private to VPIM v1: removed", strings.Join(vals, ", "))
		for i := len(vals); i >= 1; i-- {
			r.header(ruleD1HdrSens, HeaderEdit{Op: HeaderDelete, Name: "Sensitivity", Index: i})
		}
		return r
	}
	if ev.isV1() && ev.target != TargetVPIM1 && want != "Private" {
		r.find(ruleV2HdrSens, "", "v1 Sensitivity %q forbids forwarding (RFC 1911 4.2); the %s message carries that as Private", strings.Join(vals, ", "), ev.target)
		want, rule = "Private", ruleV2HdrSens
	}
	if want != "" && !strings.EqualFold(want, vals[0]) {
		ev.setHeader(&r, rule, "Sensitivity", want)
	}
	// One field, the most restrictive value: a receiver reading only the
	// first must not see a weaker one.
	for i := len(vals); i >= 2; i-- {
		r.header(rule, HeaderEdit{Op: HeaderDelete, Name: "Sensitivity", Index: i})
	}
	return r
}

// sensitivities returns the values of the Sensitivity fields of h and the
// most restrictive canonical value among them (Private, then
// Company-Confidential, then Personal; "" when none is defined).
func sensitivities(h []Field) (vals []string, most string) {
	rank := map[string]int{"Personal": 1, "Company-Confidential": 2, "Private": 3}
	for i := range h {
		if !strings.EqualFold(h[i].Name, "Sensitivity") {
			continue
		}
		v := unfold(h[i].Value)
		vals = append(vals, v)
		if c := canonSensitivity(v); rank[c] > rank[most] {
			most = c
		}
	}
	return vals, most
}
