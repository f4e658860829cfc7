package profile

import (
	"context"
	"fmt"
	"strings"

	"github.com/vpim-milter/vpim-milter/profile/addr"
)

// Options configures an [Engine]. It is filled from the [profile] section of
// the configuration by the command; the zero value is the built-in default.
type Options struct {
	// DefaultTarget applies to recipients whose domain has no entry in Targets.
	// Empty means TargetIVM.
	DefaultTarget Target
	// Targets maps a recipient domain (lower case) to its target.
	Targets map[string]Target
	// PrivacyCapable lists destination domains that honour Sensitivity:
	// Private. Passthrough destinations are outside the policy and never
	// cause a refusal; the telephony bridge is never privacy-capable.
	PrivacyCapable []string
	// VoiceDomains lists our own voice-mail domains (non-mail-user@ → 550 5.1.1).
	VoiceDomains []string
	// GatewayDomains (from [telephony] gateway_domains) are the domains on
	// which a VOICE=/VPIM=/AMIS= local part goes to the telephony bridge.
	GatewayDomains []string

	// SensitivityCode is the RFC 3463 enhanced code used to refuse a
	// Private message that cannot stay private: "5.6.0" (RFC 3801 4.2.13)
	// or "5.3.3" (RFC 3801 App. C). Empty means 5.6.0, except 5.3.3 for
	// v1 and v1-draft input (DIGEST §3).
	SensitivityCode string
	// MessageIDPolicy is "fix" (default: bracket a bare id, convert the
	// v1-draft form, generate a missing one, keeping the old value in
	// X-Original-Message-ID; DIGEST §2.1) or "keep" (report only).
	MessageIDPolicy string
	// Hostname is the right-hand side of generated Message-IDs
	// (default "localhost").
	Hostname string
	// Loopback enables the RFC 1911 loopback@ mailbox on VoiceDomains: the
	// message is reflected to its sender with postmaster as originator
	// (recorded as a plan action). Off: loopback@ is refused with 550 5.1.1.
	Loopback bool
	// Quarantine quarantines voice mail with MUST-level defects the plan
	// cannot repair instead of passing it on.
	Quarantine bool
	// IVMAudio is the audio form for IVM targets: "raw" (default; headerless
	// µ-law audio/basic, RFC 4239 7), "au" (Sun header, audio/basic) or
	// "wav" (µ-law audio/wav).
	IVMAudio string

	// Strict refuses voice mail whose MIME structure is defective
	// (delimiters, base64, unparsable Content-Type) with 550 5.6.0 instead
	// of repairing it leniently.
	Strict bool

	// Codec transcodes audio; nil means never transcode.
	Codec AudioCodec
	// TempDir is where transcoded audio is spooled ("" = os.TempDir()).
	TempDir string
	// Limits bound the parser (depth 50, 1000 parts, 1 MiB header).
	Limits Limits
}

// Engine evaluates messages against a policy. It is safe for concurrent use.
type Engine struct {
	opts Options
	re   patterns
}

// New returns an engine for opts, or an error describing invalid options.
func New(opts Options) (*Engine, error) {
	if opts.DefaultTarget == "" {
		opts.DefaultTarget = TargetIVM
	}
	var errs []string
	validTarget := func(t Target) bool {
		switch t {
		case TargetVPIM2, TargetVPIM1, TargetIVM, TargetPassthrough, TargetBridge:
			return true
		}
		return false
	}
	if !validTarget(opts.DefaultTarget) {
		errs = append(errs, fmt.Sprintf("default target %q is not vpim2, vpim1, ivm or passthrough", opts.DefaultTarget))
	}
	norm := make(map[string]Target, len(opts.Targets))
	for d, t := range opts.Targets {
		if !validTarget(t) {
			errs = append(errs, fmt.Sprintf("target %q for domain %q is not vpim2, vpim1, ivm or passthrough", t, d))
		}
		norm[strings.ToLower(d)] = t
	}
	opts.Targets = norm
	switch opts.SensitivityCode {
	case "", "5.6.0", "5.3.3":
	default:
		errs = append(errs, fmt.Sprintf("sensitivity code %q is not 5.6.0 or 5.3.3", opts.SensitivityCode))
	}
	switch opts.MessageIDPolicy {
	case "":
		opts.MessageIDPolicy = "fix"
	case "fix", "keep":
	default:
		errs = append(errs, fmt.Sprintf("message-id policy %q is not fix or keep", opts.MessageIDPolicy))
	}
	switch opts.IVMAudio {
	case "":
		opts.IVMAudio = "raw"
	case "raw", "au", "wav":
	default:
		errs = append(errs, fmt.Sprintf("ivm audio %q is not raw, au or wav", opts.IVMAudio))
	}
	if opts.Hostname == "" {
		opts.Hostname = "localhost"
	}
	opts.Limits = opts.Limits.withDefaults()
	if len(errs) > 0 {
		return nil, fmt.Errorf("profile: invalid options: %s", strings.Join(errs, "; "))
	}
	return &Engine{opts: opts, re: compilePatterns()}, nil
}

// Recipient decides at RCPT time whether rcpt is accepted and which target
// its copy of the message needs. first is the target of the first accepted
// non-bridge recipient of the transaction ("" for none yet).
func (e *Engine) Recipient(from string, rcpt Rcpt, first Target) RcptResult {
	a := addr.Parse(strings.Trim(strings.TrimSpace(rcpt.Addr), "<>"))
	domain := a.Domain
	if domain == "" {
		domain = parseRcpt(rcpt.Addr).domain
	}
	if inList(e.opts.VoiceDomains, domain) {
		switch {
		case a.Special == addr.SpecialNonMailUser || strings.EqualFold(a.Local, addr.SpecialNonMailUser):
			// RFC 3801 4.1.2: mail addressed to non-mail-user MUST be rejected with 5.1.1.
			return RcptResult{Reject: &Reply{Code: 550, Enhanced: "5.1.1", Text: "non-mail-user cannot receive mail (RFC 3801 4.1.2)"}}
		case a.Special == addr.SpecialLoopback || strings.EqualFold(a.Local, addr.SpecialLoopback):
			// RFC 1911 4.1 / DIGEST D1-ADDR-LOOP: disabled outside tests.
			if !e.opts.Loopback {
				return RcptResult{Reject: &Reply{Code: 550, Enhanced: "5.1.1", Text: "loopback mailbox is disabled"}}
			}
		}
	}
	if inList(e.opts.GatewayDomains, domain) && bridgeLocal(a.Local) {
		if !a.IsVoice() {
			// RFC 3463 5.1.3: bad destination mailbox address syntax.
			return RcptResult{Reject: &Reply{Code: 550, Enhanced: "5.1.3", Text: "invalid telephone address: " + a.Error}}
		}
		return RcptResult{Target: TargetBridge}
	}
	t := e.target(domain)
	if first != "" && first != TargetBridge && t != first {
		// DIGEST §7: one body target per transaction.
		return RcptResult{Reject: &Reply{Code: 452, Enhanced: "4.5.3",
			Text: fmt.Sprintf("recipient needs the %s profile, this transaction is %s; retry it in another transaction", t, first)}}
	}
	return RcptResult{Target: t}
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
			if i := strings.LastIndexByte(r.Addr, '@'); i >= 0 && inList(e.opts.GatewayDomains, r.Addr[i+1:]) && bridgeLocal(r.Addr[:i]) {
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
	if _, err := in.Body.Seek(0, 0); err != nil {
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
	ev.run()
	if ev.ioErr != nil {
		return nil, ev.ioErr
	}
	return ev.rep, nil
}
