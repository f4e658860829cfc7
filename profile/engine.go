package profile

import (
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/vpim-milter/vpim-milter/profile/addr"
)

// Engine evaluates messages against a policy. It is safe for concurrent use.
type Engine struct {
	opts Options
}

// New returns an engine for opts (zero values take the defaults, see
// Options.WithDefaults), or the *FieldError values of invalid options.
func New(opts Options) (*Engine, error) {
	opts = opts.WithDefaults()
	if err := opts.Validate(); err != nil {
		return nil, fmt.Errorf("profile: invalid options: %w", err)
	}
	norm := make(map[string]Target, len(opts.Targets))
	for d, t := range opts.Targets {
		norm[strings.ToLower(d)] = t
	}
	opts.Targets = norm
	return &Engine{opts: opts}, nil
}

// Recipient decides at RCPT time whether rcpt is accepted and which target
// its copy of the message needs. accepted are the recipients the
// transaction has accepted so far, in order. Of them only two matter: the
// first one (all accepted recipients share its privacy class) and the first
// one not for the bridge (all those share its body target); a caller may
// pass just these, in their order, and so keep the work per recipient
// independent of the number accepted (the milter does: redteam R12).
//
// A transaction carries one body, so its recipients must agree on what
// the body becomes: recipients whose target differs from the first
// non-bridge recipient's, and recipients whose destination keeps
// Sensitivity: Private (Options.PrivacyCapable) in a transaction of
// recipients whose destination does not (the bridge never does), or the
// other way round, get 452 4.5.3 and are retried by the client in a
// transaction of their own. So a Private message is refused only to the
// recipients that cannot keep it private (RFC 3801 4.2.13).
func (e *Engine) Recipient(from string, rcpt Rcpt, accepted []Rcpt) RcptResult {
	res := e.route(from, rcpt)
	if res.Reject != nil {
		return res
	}
	return e.group(from, rcpt, res.Target, accepted)
}

// route decides the target of one recipient, or refuses it, on its own.
func (e *Engine) route(from string, rcpt Rcpt) RcptResult {
	a, domain := parseRecipient(rcpt.Addr)
	if inList(e.opts.VoiceDomains, domain) {
		switch {
		case a.Special == addr.SpecialNonMailUser || strings.EqualFold(a.Local, addr.SpecialNonMailUser):
			// RFC 3801 4.1.2: mail addressed to non-mail-user MUST be rejected with 5.1.1.
			return RcptResult{Reject: &Reply{Code: 550, Enhanced: "5.1.1", Text: "non-mail-user cannot receive mail (RFC 3801 4.1.2)"}, Rule: ruleV2AddrNMU}
		case a.Special == addr.SpecialLoopback || strings.EqualFold(a.Local, addr.SpecialLoopback):
			// RFC 1911 4.1 / DIGEST D1-ADDR-LOOP: the loopback mailbox is
			// not supported (a reflector to a forgeable From address); it
			// is refused rather than delivered as an ordinary mailbox.
			return RcptResult{Reject: &Reply{Code: 550, Enhanced: "5.1.1", Text: "loopback mailbox is not supported"}, Rule: ruleD1AddrLoop}
		}
	}
	if gatewayRecipient(e.opts.GatewayDomains, a, domain) {
		// Every address at a gateway domain but postmaster goes to the
		// telephony gateway, which admits a dialable VOICE=/VPIM=/AMIS=
		// number or refuses it (553 5.1.3, RFC 3463 bad destination
		// mailbox address syntax): FAX=, SMS=, a number without a
		// selector, a malformed address are never delivered as mail.
		return RcptResult{Target: TargetBridge}
	}
	return RcptResult{Target: e.target(domain)}
}

// group accepts a recipient of target t into the transaction of the
// recipients accepted so far, or defers it (see Recipient). It finds the
// first accepted recipient not for the bridge without parsing those for the
// bridge before it (acceptedTarget).
func (e *Engine) group(from string, rcpt Rcpt, t Target, accepted []Rcpt) RcptResult {
	if len(accepted) == 0 {
		return RcptResult{Target: t}
	}
	if t != TargetBridge {
		for _, a := range accepted {
			at := e.acceptedTarget(from, a)
			if at == TargetBridge {
				continue
			}
			if at != t {
				// DIGEST §7: one body target per transaction.
				return RcptResult{Reject: &Reply{Code: 452, Enhanced: "4.5.3",
					Text: fmt.Sprintf("recipient needs the %s profile, this transaction is %s; retry it in another transaction", t, at)}}
			}
			break
		}
	}
	mine, theirs := e.keepsPrivate(rcpt, t), e.keepsPrivate(accepted[0], e.acceptedTarget(from, accepted[0]))
	switch {
	case mine && !theirs:
		return RcptResult{Reject: &Reply{Code: 452, Enhanced: "4.5.3",
			Text: "recipient's destination keeps Sensitivity: Private, this transaction's does not; retry it in another transaction"}}
	case !mine && theirs:
		return RcptResult{Reject: &Reply{Code: 452, Enhanced: "4.5.3",
			Text: "recipient's destination does not keep Sensitivity: Private, this transaction's does; retry it in another transaction"}}
	}
	return RcptResult{Target: t}
}

// acceptedTarget is the target of a recipient Recipient accepted: route's,
// without parsing the address when it is plainly at a gateway domain
// (plainAtGateway), so that recipients for the bridge cost no allocation
// however many of them precede a new one.
func (e *Engine) acceptedTarget(from string, r Rcpt) Target {
	if e.plainAtGateway(r.Addr) {
		return TargetBridge
	}
	return e.route(from, r).Target
}

// plainAtGateway reports, without allocating, whether an envelope address is
// one route sends to the bridge for certain: after its last "@" a gateway
// domain as listed (any case), before it a local part without quoting or
// escapes that is none of the special mailboxes (postmaster stays mail; the
// others are refused on voice domains). Anything else is left to route.
func (e *Engine) plainAtGateway(s string) bool {
	s = strings.TrimSpace(strings.Trim(strings.TrimSpace(s), "<>"))
	i := strings.LastIndexByte(s, '@')
	if i <= 0 || !inList(e.opts.GatewayDomains, s[i+1:]) {
		return false
	}
	local := s[:i]
	return !strings.ContainsAny(local, "\"\\") && !strings.EqualFold(local, addr.SpecialPostmaster) &&
		!strings.EqualFold(local, addr.SpecialNonMailUser) && !strings.EqualFold(local, addr.SpecialLoopback)
}

// keepsPrivate reports whether a recipient of target t is at a destination
// that honours Sensitivity: Private: listed in Options.PrivacyCapable (or
// of a target that always does; none does, and the bridge never).
func (e *Engine) keepsPrivate(rcpt Rcpt, t Target) bool {
	if t == TargetBridge {
		return false // DIGEST §3: an outdial cannot stop forwarding or replay
	}
	_, domain := parseRecipient(rcpt.Addr)
	return e.privacyCapable(domain) || t.spec().privacy
}

// target returns the configured body target of a recipient domain.
func (e *Engine) target(domain string) Target {
	if t, ok := e.opts.Targets[domain]; ok {
		return t
	}
	return e.opts.DefaultTarget
}

// privacyCapable reports whether a destination domain honours Sensitivity.
func (e *Engine) privacyCapable(domain string) bool { return inList(e.opts.PrivacyCapable, domain) }

func inList(list []string, s string) bool {
	for _, x := range list {
		if strings.EqualFold(x, s) {
			return true
		}
	}
	return false
}

// NeedsBody reports, at end of headers, whether the message could be voice
// mail (or goes to the bridge) and so needs its body evaluated. When it
// returns false the milter accepts without reading the body.
func (e *Engine) NeedsBody(env *Envelope, header []Field) bool {
	if env != nil && len(e.opts.GatewayDomains) > 0 {
		for _, r := range env.Rcpts {
			if a, d := parseRecipient(r.Addr); gatewayRecipient(e.opts.GatewayDomains, a, d) {
				return true
			}
		}
	}
	for i := range header {
		n, v := header[i].Name, header[i].Value
		switch {
		case strings.EqualFold(n, "Content-Type"):
			v = strings.TrimLeft(v, " \t\r\n")
			if hasPrefixFold(v, "multipart/") || hasPrefixFold(v, "audio/") || hasPrefixFold(v, "message/") {
				return true
			}
		case strings.EqualFold(n, "Message-Context"), strings.EqualFold(n, "Sensitivity"),
			strings.EqualFold(n, "X-CallingTelephoneNumber"), strings.EqualFold(n, "X-VoiceMessageDuration"),
			strings.EqualFold(n, "X-VoiceMessageSenderName"), strings.EqualFold(n, "Content-Class"),
			hasPrefixFold(n, "X-Asterisk"), hasPrefixFold(n, "X-CNS-"), hasPrefixFold(n, "Generate-"):
			return true
		case strings.EqualFold(n, "MIME-Version"):
			if containsFold(v, "(voice") {
				return true
			}
		}
	}
	return false
}

func hasPrefixFold(s, prefix string) bool {
	return len(s) >= len(prefix) && strings.EqualFold(s[:len(prefix)], prefix)
}

// containsFold reports whether s contains the lower-case ASCII sub, case insensitively, without allocating.
func containsFold(s, sub string) bool {
	for i := 0; i+len(sub) <= len(s); i++ {
		if strings.EqualFold(s[i:i+len(sub)], sub) {
			return true
		}
	}
	return false
}

// Evaluate checks in against the profile of its recipients and returns the
// report with the plan. An error means the message could not be evaluated
// (the body could not be read, or ctx ended while audio was being
// test-transcoded); the milter then tempfails.
//
// Work is bounded by Options.Limits: beyond the depth, part or header-size
// limits the message is passed through unchanged with a P-LIMIT finding
// (only a top-level Sensitivity: Private still refuses it); it is never
// partially rewritten.
func (e *Engine) Evaluate(ctx context.Context, in *Input) (*Report, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("profile: %w", err)
	}
	if in.Body == nil {
		return nil, fmt.Errorf("profile: no body")
	}
	if _, err := in.Body.Seek(0, io.SeekStart); err != nil {
		return nil, fmt.Errorf("profile: rewinding body: %w", err)
	}
	m, err := Parse(in.Header, in.Body, e.opts.Limits)
	if err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("profile: %w", err)
	}
	ev := newEval(ctx, e, in, m)
	rep := ev.run()
	if ev.ioErr != nil {
		return nil, ev.ioErr
	}
	return rep, nil
}
