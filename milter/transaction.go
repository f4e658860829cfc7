package milter

import (
	"context"
	"errors"
	"fmt"
	"io"
	"runtime/debug"
	"slices"
	"strings"
	"time"

	"github.com/vpim-milter/vpim-milter/profile"
	"github.com/vpim-milter/vpim-milter/telephony"
)

// Engine is what the milter needs of the profile engine; *profile.Engine
// implements it.
type Engine interface {
	Recipient(from string, rcpt profile.Rcpt, accepted []profile.Rcpt) profile.RcptResult
	NeedsBody(env *profile.Envelope, header []profile.Field) bool
	Evaluate(ctx context.Context, in *profile.Input) (*profile.Report, error)
}

// modifier is the part of the milter modifier a plan is applied through. The
// go-milter session and the offline message writer both implement it.
type modifier interface {
	AddHeader(name, value string) error
	ChangeHeader(index int, name, value string) error
	InsertHeader(index int, name, value string) error
	AddRecipient(r string, esmtpArgs string) error
	DeleteRecipient(r string) error
	ReplaceBody(r io.Reader) error
	Quarantine(reason string) error
}

// RcptRefusal is one recipient refused at RCPT time.
type RcptRefusal struct {
	Rcpt  string
	Reply profile.Reply
	Err   error        // the telephony bridge's refusal (a *telephony.RejectError), for the log; nil for the profile's
	Rule  profile.Rule // the profile's rule behind it; "" for the bridge's and for deferrals
	// Report: not applied, report mode; the recipient was accepted and is left to the
	// MTA (not part of the evaluation).
	Report bool
}

// Result is what happened to one transaction.
type Result struct {
	Verdict  profile.Verdict // what the MTA was told: accept, modify, reject, tempfail, quarantine
	Reply    profile.Reply   // for reject and tempfail
	Report   *profile.Report // nil when the fast path accepted or evaluation failed
	Target   profile.Target  // body target of the transaction (first accepted recipient's)
	FastPath bool            // accepted without reading the body
	Refused  []RcptRefusal   // recipients refused at RCPT time (in report mode: that would have been)
	Err      error           // internal error behind a tempfail (or an accept under error_action = accept)

	// Mode is the mode the message was handled in (Options.ModeFor its target); ""
	// on the fast path.
	Mode Mode
	// Would and WouldReply are what enforce mode does with the message: Verdict and
	// Reply in enforce mode; in report mode what would have been done instead of the
	// accept.
	Would      profile.Verdict
	WouldReply profile.Reply
	// Condition and Rule are what decided Would (the profile's decision, or
	// internal-error, oversize); "" when nothing did. Action is the [milter.on] action
	// taken on Condition (OnOptions), "" when it has none.
	Condition profile.Condition
	Rule      profile.Rule
	Action    OnAction
	// Stamp is the VPIM-Check value added to the message, "" none; Unstamped counts
	// the received VPIM-Check fields removed (forged: they claimed our authserv-id).
	Stamp     string
	Unstamped int
}

// transaction is the state of one SMTP transaction, from MAIL to end of message.
type transaction struct {
	start       time.Time
	env         profile.Envelope
	header      []profile.Field
	headerBytes int64
	overflow    string // why the header block could not be kept, "" if it could
	first       profile.Target
	body        *body
	refused     []RcptRefusal
	fastPath    bool
	// adm is the transaction at the telephony gateway: the caller (sender,
	// SMTP AUTH login, client address) and the numbers admitted so far.
	adm *telephony.Admission
	// staged holds the bridge jobs of this message until the answer is
	// decided: committed when the message is accepted (commit), discarded
	// by close otherwise.
	staged *telephony.Staged
	// stamps has one entry per VPIM-Check field received, in order: whether it is
	// removed (forgedStamp). stripOnly: the message needs no evaluation, only those
	// removals, at end of message (the body is not kept).
	stamps    []bool
	stripOnly bool
	// lead is what Engine.Recipient needs of the accepted recipients: the
	// first one, and the first one not for the bridge (at most two; passing
	// every accepted recipient cost O(n) per RCPT, redteam R12).
	lead []profile.Rcpt
}

// txAlloc is a transaction with the parts every transaction has, allocated
// at once: the body spool, the gateway admission, and room for the header
// fields and recipients of a typical message (more grow as usual).
type txAlloc struct {
	tx    transaction
	body  body
	adm   telephony.Admission
	hdr   [16]profile.Field
	rcpts [2]profile.Rcpt
}

func (f *Filter) newTransaction(from, args string) *transaction {
	o := f.options()
	a := &txAlloc{
		body: makeBody(o.TempDir, o.BodyMaxMemory, o.BodyMaxSize, f.mem),
		adm:  telephony.Admission{Caller: telephony.Caller{Sender: from}},
	}
	a.tx = transaction{
		start:  time.Now(),
		env:    profile.Envelope{From: from, FromArgs: args, Rcpts: a.rcpts[:0]},
		header: a.hdr[:0],
		body:   &a.body,
		adm:    &a.adm,
	}
	return &a.tx
}

// close frees the body and discards bridge jobs that were not committed:
// a transaction that ends in a tempfail or reject, that the MTA aborts or
// whose connection is lost leaves no job behind.
func (tx *transaction) close() {
	if tx == nil {
		return
	}
	if tx.body != nil {
		tx.body.Close()
	}
	_ = tx.staged.Discard()
	tx.adm.Close() // gives back the rate-limit counts of calls not committed
}

// rcpt runs the RCPT-time rules; a non-nil reply refuses the recipient.
func (f *Filter) rcpt(tx *transaction, addr, args string) *profile.Reply {
	r := profile.Rcpt{Addr: addr, Args: args}
	res := f.engine().Recipient(tx.env.From, r, tx.lead)
	var err error
	if res.Reject == nil && res.Target == profile.TargetBridge {
		tx.adm.QueueID = tx.env.QueueID
		res.Reject, err = admit(f.options().Bridge, tx.adm, addr)
	}
	if res.Reject != nil {
		ref := RcptRefusal{Rcpt: addr, Reply: *res.Reject, Err: err, Rule: res.Rule}
		// Report mode leaves the profile's refusals (5xx: non-mail-user, loopback)
		// undone; its deferrals (452 4.5.3: one target and one privacy class per
		// transaction) lose nothing and keep each evaluation to one target, and the
		// gateway's refusals (who may dial what) guard the telephone network: those
		// apply in both modes. The recipient has no target yet: [milter] mode decides.
		ref.Report = err == nil && res.Reject.Code >= 500 && f.options().Mode == ModeReport
		tx.refused = append(tx.refused, ref)
		if f.metrics != nil {
			f.metrics.observeRcpt(ref)
		}
		if ref.Report {
			f.logRefusal(tx, addr, ref)
			return nil
		}
		return res.Reject
	}
	if len(tx.env.Rcpts) == 0 || tx.first == "" && res.Target != profile.TargetBridge {
		tx.lead = append(tx.lead, r)
	}
	if tx.first == "" && res.Target != profile.TargetBridge {
		tx.first = res.Target
	}
	tx.env.Rcpts = append(tx.env.Rcpts, r)
	return nil
}

// addHeader records one header field, within the configured caps. VPIM-Check fields are
// noted apart (up to MaxHeaders of them), so forged ones are removed even from a header
// too large to keep.
func (f *Filter) addHeader(tx *transaction, name, value string) {
	o := f.options()
	if isStampField(name) && len(tx.stamps) < o.MaxHeaders {
		tx.stamps = append(tx.stamps, forgedStamp(name, value, o.AuthservID))
	}
	if tx.overflow != "" {
		return
	}
	tx.headerBytes += int64(len(name) + len(value) + 3)
	switch {
	case o.MaxHeaders > 0 && len(tx.header) >= o.MaxHeaders:
		tx.overflow = fmt.Sprintf("more than %d header fields", o.MaxHeaders)
	case o.MaxHeaderBytes > 0 && tx.headerBytes > o.MaxHeaderBytes:
		tx.overflow = fmt.Sprintf("header block larger than %d bytes", o.MaxHeaderBytes)
	}
	if tx.overflow != "" {
		tx.header = nil
		return
	}
	tx.header = append(tx.header, profile.Field{Name: name, Value: value})
}

// endOfHeaders decides whether the body is needed. It returns true for the
// fast path: accept without reading the body. A message that needs no body
// but carries forged stamps waits for the end of message, when header fields
// can be removed, without keeping its body (stripOnly).
func (f *Filter) endOfHeaders(tx *transaction) bool {
	if tx.overflow != "" {
		return false
	}
	if f.engine().NeedsBody(&tx.env, tx.header) {
		return false
	}
	if slices.Contains(tx.stamps, true) {
		tx.stripOnly = true
		return false
	}
	tx.fastPath = true
	return true
}

// mode is the mode of the transaction before its evaluation names the target: that of
// the first accepted recipient's target (the bridge's for a message only to telephone
// numbers).
func (f *Filter) mode(tx *transaction) Mode {
	o := f.options()
	switch {
	case tx.first != "":
		return o.ModeFor(tx.first)
	case len(tx.env.Rcpts) > 0:
		return o.ModeFor(profile.TargetBridge)
	}
	return o.Mode
}

// finish evaluates the message and applies what its mode makes of the plan
// through mod. It never panics; internal failures become the configured error
// action (in report mode: an accept).
//
// Enforce mode carries out the outcome of [Options.decide]: refuse, or apply
// the plan's edits (none when the outcome keeps the message as it came),
// quarantine, hand voice-bound recipients to the bridge. Report mode applies
// nothing of it, and hands off only when the bridge's own mode is enforce.
// Both then remove forged stamps and stamp a voice message with what was done
// (enforce) or would have been done (report).
func (f *Filter) finish(ctx context.Context, tx *transaction, mod modifier, leadSpace bool, progress func() error) (res Result) {
	o := f.options()
	mode := f.mode(tx)
	applied := false // the MTA may have been sent edits: a failure after that sends no more
	defer func() {
		if p := recover(); p != nil {
			res = inMode(f.failure(fmt.Errorf("milter: panic: %v\n%s", p, debug.Stack())), mode)
		}
	}()
	// done finishes a message that is not evaluated (failure, oversize,
	// stripOnly): when it is delivered, forged stamps still go.
	done := func(res Result) Result {
		if res.Verdict.Delivered() && !applied {
			edits, n := f.stampEdits(tx, "")
			if err := apply(&profile.Plan{Headers: edits}, mod, leadSpace); err != nil {
				return inMode(f.failure(err), mode)
			}
			res.Unstamped = n
		}
		return res
	}
	switch {
	case tx.stripOnly:
		return done(Result{Verdict: profile.VerdictAccept, FastPath: true})
	case tx.overflow != "":
		return done(inMode(f.oversize(tx.overflow), mode))
	case tx.body.TooLarge():
		return done(inMode(f.oversize(fmt.Sprintf("body larger than %d bytes", o.BodyMaxSize)), mode))
	}
	rd, err := tx.body.Reader()
	if err != nil {
		return done(inMode(f.failure(err), mode))
	}
	if o.EvalTimeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, o.EvalTimeout)
		defer cancel()
	}
	// Every read of the body, by the engine, its codecs and the bridge,
	// ends with the evaluation deadline: no input can make the end of
	// message outlast eval_timeout.
	in := &profile.Input{Envelope: tx.env, Header: tx.header, Body: ctxReadSeeker{ctx: ctx, r: rd}, BodySize: tx.body.Size()}
	var rep *profile.Report
	err = f.withProgress(ctx, progress, func(ctx context.Context) (err error) {
		rep, err = f.engine().Evaluate(ctx, in)
		return err
	})
	if err != nil {
		return done(inMode(f.failure(fmt.Errorf("milter: evaluate: %w", err)), mode))
	}
	mode = o.ModeFor(rep.Target)
	out := o.decide(&rep.Plan)
	res = Result{Report: rep, Mode: mode, Would: out.verdict, WouldReply: out.reply,
		Condition: out.condition, Rule: out.rule, Action: out.action}
	enforce := mode == ModeEnforce
	if enforce && (out.verdict == profile.VerdictReject || out.verdict == profile.VerdictTempfail) {
		res.Verdict, res.Reply = out.verdict, out.reply
		return res
	}
	// eff is what is done to the message: the plan in enforce mode (unless
	// the outcome keeps the message as it came), nothing in report mode.
	var eff profile.Plan
	switch {
	case enforce && !out.asIs:
		eff = rep.Plan
		eff.Headers = slices.Clone(eff.Headers)
		eff.DelRcpts = slices.Clone(eff.DelRcpts)
	case enforce && out.verdict == profile.VerdictQuarantine:
		eff.Decision = profile.Decision{Verdict: profile.VerdictQuarantine, Reason: out.reason}
	}
	if len(rep.Bridge) > 0 && o.ModeFor(profile.TargetBridge) == ModeEnforce {
		if o.Bridge == nil {
			return done(inMode(f.failure(errors.New("milter: message has bridge recipients but no bridge is configured")), mode))
		}
		if _, err := in.Body.Seek(0, io.SeekStart); err != nil {
			return done(inMode(f.failure(fmt.Errorf("milter: rewind body: %w", err)), mode))
		}
		err := f.withProgress(ctx, progress, func(ctx context.Context) (err error) {
			tx.staged, err = handOff(ctx, o.Bridge, in, rep, tx.adm)
			return err
		})
		if err != nil {
			if reply, ok := rejectReply(err); ok {
				// A refusal by policy, not an internal error: logged with
				// its reply at INFO, like the engine's own refusals. The
				// bridge's mode is enforce, so it refuses in report mode too.
				res.Verdict, res.Reply, res.Would, res.WouldReply = profile.VerdictReject, reply, profile.VerdictReject, reply
				if reply.Code < 500 {
					res.Verdict, res.Would = profile.VerdictTempfail, profile.VerdictTempfail
				}
				res.Report = handedToNobody(rep, res.Verdict, reply)
				return res
			}
			return done(inMode(f.failure(fmt.Errorf("milter: bridge hand-off: %w", err)), mode))
		}
		// The jobs are durable (staged; committed with the accept, see
		// commit): the MTA no longer delivers to these recipients. When
		// they were all of them, Postfix and Sendmail drop the message
		// without a bounce (tested in integration/); deleting them is also
		// much faster than SMFIR_DISCARD on Postfix.
		eff.DelRcpts = append(eff.DelRcpts, rep.Bridge...)
	}
	res.Verdict = eff.Verdict()
	if rep.Profile != "" && rep.Profile != "none" && !o.NoStamp {
		res.Stamp = Stamp{AuthservID: o.AuthservID, Mode: mode, Profile: rep.Profile, Target: rep.Target,
			Verdict: out.verdict, Condition: string(out.condition), Action: string(out.action),
			Code: out.reply.Enhanced, Rules: findingRules(rep.Findings)}.String()
	}
	edits, n := f.stampEdits(tx, res.Stamp)
	eff.Headers = append(eff.Headers, edits...)
	res.Unstamped = n
	if _, err := in.Body.Seek(0, io.SeekStart); err != nil {
		return done(inMode(f.failure(fmt.Errorf("milter: rewind body: %w", err)), mode))
	}
	applied = true
	if err := apply(&eff, mod, leadSpace); err != nil {
		return inMode(f.failure(err), mode)
	}
	return res
}

// handedToNobody is rep for a message the bridge refused with reply: like a
// message the engine refuses, it lists no bridge recipient and no hand-off,
// and its plan ends in the refusal (check --json and the log say what the
// MTA was told).
func handedToNobody(rep *profile.Report, verdict profile.Verdict, reply profile.Reply) *profile.Report {
	r := *rep
	r.Bridge = []string{}
	r.Plan.Actions = slices.DeleteFunc(slices.Clone(rep.Plan.Actions), func(a profile.Action) bool { return a.Kind == profile.ActionBridge })
	r.Plan.Actions = append(r.Plan.Actions, profile.Action{Kind: profile.ActionRefuse, Decision: profile.Decision{Verdict: verdict, Reply: reply}})
	return &r
}

// stampEdits are the header edits for the stamps: the removal of the forged VPIM-Check
// fields received (the last first, so the indices of the others hold), then stamp
// inserted at the top, where trace fields and Authentication-Results go (RFC 8601 5);
// none for an empty stamp. It returns the edits and the number of removals.
func (f *Filter) stampEdits(tx *transaction, stamp string) ([]profile.HeaderEdit, int) {
	var edits []profile.HeaderEdit
	for i := len(tx.stamps); i >= 1; i-- {
		if tx.stamps[i-1] {
			edits = append(edits, profile.HeaderEdit{Op: profile.HeaderDelete, Name: StampField, Index: i})
		}
	}
	n := len(edits)
	if stamp != "" {
		edits = append(edits, profile.HeaderEdit{Op: profile.HeaderInsert, Name: StampField, Index: 0, Value: stamp})
	}
	return edits, n
}

// findingRules are the rule IDs of the findings, in order.
func findingRules(fs []profile.Finding) []string {
	out := make([]string, 0, len(fs))
	for _, fd := range fs {
		out = append(out, string(fd.Rule))
	}
	return out
}

// withProgress runs fn in a goroutine of its own and, while it works,
// sends the MTA a progress notice every ProgressInterval (progress; nil
// sends none), so that a long transcoding or hand-off does not run into
// the MTA's timeout. The notices are written from the calling goroutine,
// never beside another write to the MTA. A notice that fails means the MTA
// is gone (frameGuard.Write): fn's context is cancelled, and withProgress
// returns that error once fn has stopped. When ctx ends, withProgress
// waits for fn too (fn checks its context, so this is short; fn may still
// use the body, which must not be closed under it) and returns ctx's error
// unless fn had one of its own.
func (f *Filter) withProgress(ctx context.Context, progress func() error, fn func(ctx context.Context) error) error {
	run := func(ctx context.Context) (err error) {
		defer func() {
			if p := recover(); p != nil {
				err = fmt.Errorf("milter: panic: %v\n%s", p, debug.Stack())
			}
		}()
		return fn(ctx)
	}
	if progress == nil {
		return run(ctx)
	}
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	t := time.NewTicker(f.options().ProgressInterval)
	defer t.Stop()
	ch := make(chan error, 1)
	go func() { ch <- run(ctx) }()
	// gone is the MTA's hang-up, when a notice found it; it wins over
	// whatever fn made of its cancelled context.
	var gone error
	result := func(err error) error {
		switch {
		case gone != nil:
			return gone
		case err == nil && ctx.Err() != nil:
			return context.Cause(ctx)
		}
		return err
	}
	for {
		select {
		case err := <-ch:
			return result(err)
		case <-t.C:
			if err := progress(); err != nil {
				gone = err
				if !errors.Is(err, errMTAGone) {
					gone = fmt.Errorf("%w: %w", errMTAGone, err)
				}
				cancel(gone)
				t.Stop()
			}
		case <-ctx.Done():
			return result(<-ch)
		}
	}
}

// ctxReadSeeker fails reads once its context has ended, so that a reader
// of the message body, however deep in the codecs, stops at the
// evaluation deadline.
type ctxReadSeeker struct {
	ctx context.Context
	r   io.ReadSeeker
}

func (c ctxReadSeeker) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}

func (c ctxReadSeeker) Seek(off int64, whence int) (int64, error) { return c.r.Seek(off, whence) }

// commit is the last step of an accepted message with bridge jobs: it
// makes sure the MTA still waits for the answer (probe sends a progress
// notice, which fails when the MTA hung up or aborted, frameGuard.Write;
// nil when the protocol has no notices) and publishes the staged jobs.
// Only then is the accept sent. If the MTA is gone, or the jobs cannot be
// published, the answer becomes a tempfail and close discards the jobs:
// the MTA keeps the message, and no call is placed for it. What is left is
// the accept that the MTA receives and then fails to act on (it dies
// before it has queued the message): the message comes again and its call
// is placed twice (at-least-once).
func (f *Filter) commit(tx *transaction, res Result, probe func() error) Result {
	if tx.staged == nil || len(tx.staged.Jobs()) == 0 || !res.Verdict.Delivered() {
		return res
	}
	// A tempfail whatever error_action says: the plan removed the voice
	// recipients, so an accept would lose them.
	tempfail := func(err error) Result {
		return Result{Report: res.Report, Verdict: profile.VerdictTempfail, Err: err,
			Reply: profile.Reply{Code: 451, Enhanced: "4.3.0", Text: "temporary failure in the voice-mail filter, try again later"}}
	}
	if probe != nil {
		if err := probe(); err != nil {
			if !errors.Is(err, errMTAGone) {
				err = fmt.Errorf("%w: %w", errMTAGone, err)
			}
			return tempfail(fmt.Errorf("milter: bridge jobs not committed: %w", err))
		}
	}
	if err := tx.staged.Commit(); err != nil {
		return tempfail(fmt.Errorf("milter: bridge hand-off: %w", err))
	}
	return res
}

// apply carries out the plan: header edits, recipient changes, quarantine,
// and the body replacement last, because Postfix does not allow other
// modifications to interleave with it.
func apply(plan *profile.Plan, mod modifier, leadSpace bool) error {
	val := func(v string) string {
		if leadSpace && v != "" && v[0] != ' ' && v[0] != '\t' {
			return " " + v
		}
		return v
	}
	for _, e := range plan.Headers {
		var err error
		switch e.Op {
		case profile.HeaderAdd:
			err = mod.AddHeader(e.Name, val(e.Value))
		case profile.HeaderChange:
			err = mod.ChangeHeader(e.Index, e.Name, val(e.Value))
		case profile.HeaderInsert:
			err = mod.InsertHeader(e.Index, e.Name, val(e.Value))
		case profile.HeaderDelete:
			err = mod.ChangeHeader(e.Index, e.Name, "")
		default:
			err = fmt.Errorf("unknown operation %d", e.Op)
		}
		if err != nil {
			return fmt.Errorf("milter: %s: %w", e, err)
		}
	}
	for _, r := range plan.AddRcpts {
		if err := mod.AddRecipient(r.Addr, r.Args); err != nil {
			return fmt.Errorf("milter: add recipient %s: %w", r.Addr, err)
		}
	}
	for _, r := range plan.DelRcpts {
		if err := mod.DeleteRecipient(r); err != nil {
			return fmt.Errorf("milter: delete recipient %s: %w", r, err)
		}
	}
	if plan.Decision.Verdict == profile.VerdictQuarantine {
		if err := mod.Quarantine(plan.Decision.Reason); err != nil {
			return fmt.Errorf("milter: quarantine: %w", err)
		}
	}
	if plan.Body != nil {
		pr, pw := io.Pipe()
		done := make(chan error, 1)
		go func() {
			err := plan.Body.WriteBody(pw)
			pw.CloseWithError(err)
			done <- err
		}()
		err := mod.ReplaceBody(pr)
		pr.CloseWithError(errors.New("milter: body replacement aborted"))
		werr := <-done // the writer reads the spooled body: wait before it is closed
		if err != nil {
			return fmt.Errorf("milter: replace body: %w", err)
		}
		if werr != nil {
			return fmt.Errorf("milter: write body: %w", werr)
		}
	}
	return nil
}

// angle strips one pair of angle brackets from an envelope address.
func angle(s string) string {
	s = strings.TrimSpace(s)
	if len(s) >= 2 && s[0] == '<' && s[len(s)-1] == '>' {
		return s[1 : len(s)-1]
	}
	return s
}
