package milter

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"runtime/debug"
	"time"

	gomilter "github.com/d--j/go-milter"

	"github.com/vpim-milter/vpim-milter/profile"
	"github.com/vpim-milter/vpim-milter/telephony"
)

// session is one MTA connection. go-milter calls it from one goroutine.
type session struct {
	f         *Filter
	leadSpace bool
	tx        *transaction
	counted   bool // in f's session count; Cleanup takes it out
	// failed is a failure of the transaction the MTA has not heard: it came
	// at a stage whose reply the MTA negotiated away (SMFIP_NR_MAIL, _NR_HDR,
	// _NR_BODY) or whose reply refuses one recipient only (RCPT). Every later
	// stage that replies answers it until the transaction ends: each RCPT is
	// refused with it, and end of headers or end of message end the
	// transaction with it. Otherwise the end of message would find no
	// transaction and let the message through unchecked. nil: none.
	failed *Result
}

var _ gomilter.Milter = (*session)(nil)

// NewConnection runs once the connection is negotiated, and again on each
// SMFIC_QUIT_NC, when the MTA reuses the connection for a new SMTP client.
func (s *session) NewConnection(m gomilter.Modifier) error {
	s.tx.close()
	s.tx = nil
	s.failed = nil
	if !s.counted {
		s.counted = true
		s.f.sessionDelta(1)
	}
	return nil
}

func (s *session) Connect(host string, family string, port uint16, addr string, m gomilter.Modifier) (*gomilter.Response, error) {
	return gomilter.RespContinue, nil
}

func (s *session) Helo(name string, m gomilter.Modifier) (*gomilter.Response, error) {
	return gomilter.RespContinue, nil
}

func (s *session) MailFrom(from string, esmtpArgs string, m gomilter.Modifier) (resp *gomilter.Response, err error) {
	defer s.guard(m, gomilter.OptNoMailReply, &resp, &err)
	s.tx.close()
	s.tx = nil
	s.failed = nil
	s.tx = s.f.newTransaction(angle(from), esmtpArgs)
	s.tx.env.QueueID = m.Get(macroQueueID)
	// Who asks for calls: the SMTP AUTH login and the client address, as
	// the MTA reports them (requested for this stage in New).
	s.tx.adm.Login = m.Get(macroAuthAuthen)
	s.tx.adm.Client = m.Get(macroClientAddr)
	return gomilter.RespContinue, nil
}

func (s *session) RcptTo(rcptTo string, esmtpArgs string, m gomilter.Modifier) (resp *gomilter.Response, err error) {
	defer s.guard(m, gomilter.OptNoRcptReply, &resp, &err)
	if s.failed != nil {
		return s.failed.rcptAnswer()
	}
	if s.tx == nil {
		return gomilter.RespContinue, nil
	}
	if s.tx.env.QueueID == "" {
		s.tx.env.QueueID = m.Get(macroQueueID)
	}
	if r := s.f.rcpt(s.tx, angle(rcptTo), esmtpArgs); r != nil {
		s.f.logRefusal(s.tx, rcptTo, s.tx.refused[len(s.tx.refused)-1])
		return response(*r)
	}
	return gomilter.RespContinue, nil
}

func (s *session) Data(m gomilter.Modifier) (*gomilter.Response, error) {
	return gomilter.RespContinue, nil
}

func (s *session) Header(name string, value string, m gomilter.Modifier) (resp *gomilter.Response, err error) {
	defer s.guard(m, gomilter.OptNoHeaderReply, &resp, &err)
	if s.tx != nil {
		s.f.addHeader(s.tx, name, value)
	}
	return gomilter.RespContinue, nil
}

func (s *session) Headers(m gomilter.Modifier) (resp *gomilter.Response, err error) {
	defer s.guard(m, gomilter.OptNoEOHReply, &resp, &err)
	if s.failed != nil {
		return s.answerFailed()
	}
	if s.tx == nil {
		return gomilter.RespContinue, nil
	}
	if s.tx.env.QueueID == "" {
		s.tx.env.QueueID = m.Get(macroQueueID)
	}
	if s.f.endOfHeaders(s.tx) {
		s.done(Result{Verdict: profile.VerdictAccept, FastPath: true})
		return gomilter.RespAccept, nil
	}
	return gomilter.RespContinue, nil
}

func (s *session) BodyChunk(chunk []byte, m gomilter.Modifier) (resp *gomilter.Response, err error) {
	defer s.guard(m, gomilter.OptNoBodyReply, &resp, &err)
	if s.tx == nil {
		return gomilter.RespContinue, nil
	}
	if s.tx.stripOnly {
		// Only forged stamps to remove at the end of message: the body is
		// not needed.
		if m.Version() >= 6 {
			return gomilter.RespSkip, nil
		}
		return gomilter.RespContinue, nil
	}
	if _, err := s.tx.body.Write(chunk); err != nil {
		return s.fail(m, gomilter.OptNoBodyReply, inMode(s.f.failure(err), s.f.mode(s.tx)))
	}
	if s.tx.body.TooLarge() && m.Version() >= 6 {
		// Nothing more to store: ask the MTA not to send the rest.
		return gomilter.RespSkip, nil
	}
	return gomilter.RespContinue, nil
}

func (s *session) EndOfMessage(m gomilter.Modifier) (resp *gomilter.Response, err error) {
	defer s.guard(m, 0, &resp, &err)
	if s.failed != nil {
		return s.answerFailed()
	}
	if s.tx == nil {
		return gomilter.RespContinue, nil
	}
	if qid := m.Get(macroQueueID); qid != "" {
		s.tx.env.QueueID = qid
	}
	progress := m.Progress
	if m.Version() < 6 {
		progress = nil // SMFIR_PROGRESS is new in protocol 6
	}
	res := s.f.finish(context.Background(), s.tx, modifierAdapter{m}, s.leadSpace, progress)
	res = s.f.commit(s.tx, res, progress)
	s.done(res)
	if res.Verdict == profile.VerdictReject || res.Verdict == profile.VerdictTempfail {
		return response(res.Reply)
	}
	return gomilter.RespAccept, nil
}

func (s *session) Abort(m gomilter.Modifier) error {
	s.tx.close()
	s.tx = nil
	s.failed = nil
	return nil
}

func (s *session) Unknown(cmd string, m gomilter.Modifier) (*gomilter.Response, error) {
	return gomilter.RespContinue, nil
}

func (s *session) Cleanup(m gomilter.Modifier) {
	s.tx.close()
	s.tx = nil
	if s.counted {
		s.counted = false
		s.f.sessionDelta(-1)
	}
}

// done logs the transaction, counts it and frees its resources.
func (s *session) done(res Result) {
	tx := s.tx
	s.tx = nil
	if tx == nil {
		return
	}
	s.f.logResult(tx, res)
	tx.close()
}

// guard turns a panic in a callback into the error action's reply, so one
// bad message cannot take the daemon down. noReply is the callback's stage
// as its SMFIP_NR_* flag (0: end of message), for fail.
func (s *session) guard(m gomilter.Modifier, noReply gomilter.OptProtocol, resp **gomilter.Response, err *error) {
	p := recover()
	if p == nil {
		return
	}
	res := s.f.failure(fmt.Errorf("milter: panic: %v\n%s", p, debug.Stack()))
	if s.tx != nil {
		res = inMode(res, s.f.mode(s.tx))
	} else {
		s.f.log.Error("panic in milter callback", "error", res.Err)
	}
	*err = nil
	*resp, _ = s.fail(m, noReply, res)
}

// fail ends the transaction with res, a failure at the stage whose SMFIP_NR_*
// flag is noReply (0: end of message). It is logged now; the MTA hears it
// now only where it reads the reply and the reply ends the transaction (end
// of headers, end of message, and the other stages with an MTA that asks
// for their replies). Otherwise it waits in s.failed for the next stage that
// replies: a reply Postfix and Sendmail do not read (SMFIP_NR_BODY, ...)
// would be lost, and a RCPT reply refuses one recipient only.
func (s *session) fail(m gomilter.Modifier, noReply gomilter.OptProtocol, res Result) (*gomilter.Response, error) {
	s.done(res)
	heard := noReply == 0 || m.Protocol()&noReply == 0
	if heard && noReply != gomilter.OptNoRcptReply {
		return res.answer()
	}
	s.failed = &res
	if heard {
		return res.rcptAnswer()
	}
	return gomilter.RespContinue, nil
}

// answerFailed answers s.failed at a stage whose reply ends the transaction,
// and forgets it.
func (s *session) answerFailed() (*gomilter.Response, error) {
	res := *s.failed
	s.failed = nil
	return res.answer()
}

// answer is the reply that ends a transaction with res.
func (res Result) answer() (*gomilter.Response, error) {
	if res.Verdict.Delivered() {
		return gomilter.RespAccept, nil
	}
	return response(res.Reply)
}

// rcptAnswer is the reply to a RCPT of a transaction that failed with res:
// the failure's refusal, or continue when the failure is accepted
// (error_action = accept, report mode): the end of headers accepts.
func (res Result) rcptAnswer() (*gomilter.Response, error) {
	if res.Verdict.Delivered() {
		return gomilter.RespContinue, nil
	}
	return response(res.Reply)
}

// logRefusal logs a recipient refused at RCPT. A refusal by the telephony
// gateway also names who asked (login, client address), the normalised
// number and the rule; refusals that may be an attack on the gateway (an
// unauthorised caller, a limit reached) are WARN, other policy refusals
// INFO. Never ERROR: nothing is broken.
func (f *Filter) logRefusal(tx *transaction, rcpt string, ref RcptRefusal) {
	msg, r, err := "recipient refused", ref.Reply, ref.Err
	attrs := []any{"queue_id", tx.env.QueueID, "from", tx.env.From, "rcpt", rcpt, "reply", r.String()}
	if ref.Rule != "" {
		attrs = append(attrs, "rule", string(ref.Rule))
	}
	if ref.Report {
		msg = "recipient would be refused"
		attrs = append(attrs, "mode", string(ModeReport))
	}
	level := slog.LevelInfo
	var rej *telephony.RejectError
	if errors.As(err, &rej) {
		attrs = append(attrs, "login", tx.adm.Login, "client", tx.adm.Client, "rule", rej.Rule, "number", rej.Number, "reason", rej.Reason)
		switch rej.Rule {
		case telephony.RuleAuth, telephony.RuleSender, telephony.RuleMaxCalls, telephony.RuleRateSender, telephony.RuleRateNumber:
			level = slog.LevelWarn
		}
	} else if err != nil {
		attrs = append(attrs, "login", tx.adm.Login, "client", tx.adm.Client, "error", err.Error())
	}
	f.log.Log(context.Background(), level, msg, attrs...)
}

// logResult writes the one line per transaction and updates the metrics.
// The attributes are slog.Attr values (LogAttrs): unlike key-value pairs
// they are not boxed into interface values, which saves an allocation per
// attribute on every message.
func (f *Filter) logResult(tx *transaction, res Result) {
	d := time.Since(tx.start)
	ctx := context.Background()
	level := slog.LevelInfo
	if res.Err != nil {
		level = slog.LevelError
	}
	if f.log.Enabled(ctx, level) {
		var buf [20]slog.Attr
		attrs := append(buf[:0],
			slog.String("queue_id", tx.env.QueueID),
			slog.String("from", tx.env.From),
			slog.Int("rcpts", len(tx.env.Rcpts)),
			slog.String("verdict", string(res.Verdict)),
			slog.Duration("duration", d.Round(time.Microsecond)),
		)
		if res.FastPath {
			attrs = append(attrs, slog.String("profile", "none"), slog.Bool("fast_path", true))
		} else if res.Report != nil {
			attrs = append(attrs, slog.String("profile", res.Report.Profile), slog.String("target", string(res.Report.Target)), slog.Int("findings", len(res.Report.Findings)))
			if len(res.Report.Bridge) > 0 {
				attrs = append(attrs, slog.Int("bridge", len(res.Report.Bridge)))
			}
		}
		if res.Reply.Code != 0 {
			attrs = append(attrs, slog.String("reply", res.Reply.String()))
		}
		if res.Mode == ModeReport {
			// What enforce would have done instead.
			attrs = append(attrs, slog.String("mode", string(res.Mode)), slog.String("would", string(res.Would)))
			if res.WouldReply.Code != 0 {
				attrs = append(attrs, slog.String("would_reply", res.WouldReply.String()))
			}
		}
		if res.Condition != "" {
			attrs = append(attrs, slog.String("condition", string(res.Condition)))
			if res.Rule != "" {
				attrs = append(attrs, slog.String("rule", string(res.Rule)))
			}
			if res.Action != "" {
				attrs = append(attrs, slog.String("action", string(res.Action)))
			}
		}
		if res.Unstamped > 0 {
			attrs = append(attrs, slog.Int("stamps_removed", res.Unstamped))
		}
		if res.Err != nil {
			attrs = append(attrs, slog.String("error", res.Err.Error()))
		}
		f.log.LogAttrs(ctx, level, "transaction", attrs...)
	}
	if res.Report != nil && f.log.Enabled(ctx, slog.LevelDebug) {
		for _, fd := range res.Report.Findings {
			f.log.Debug("finding", "queue_id", tx.env.QueueID, "rule", fd.Rule, "level", string(fd.Level), "spec", fd.Spec, "part", fd.Part, "message", fd.Message)
		}
	}
	if f.metrics != nil {
		f.metrics.observe(res, d)
	}
}

// response converts an SMTP reply into a milter response.
func response(r profile.Reply) (*gomilter.Response, error) {
	text := r.Text
	if r.Enhanced != "" {
		text = r.Enhanced + " " + text
	}
	resp, err := gomilter.RejectWithCodeAndReason(uint16(r.Code), text)
	if err != nil {
		// A malformed reply must still refuse: fall back to the generic one.
		if r.Code >= 500 {
			return gomilter.RespReject, nil
		}
		return gomilter.RespTempFail, nil
	}
	return resp, nil
}

// modifierAdapter gives the go-milter modifier the modifier interface.
type modifierAdapter struct{ m gomilter.Modifier }

func (a modifierAdapter) AddHeader(name, value string) error { return a.m.AddHeader(name, value) }
func (a modifierAdapter) ChangeHeader(index int, name, value string) error {
	return a.m.ChangeHeader(index, name, value)
}
func (a modifierAdapter) InsertHeader(index int, name, value string) error {
	return a.m.InsertHeader(index, name, value)
}
func (a modifierAdapter) AddRecipient(r string, args string) error {
	return a.m.AddRecipient(gomilter.AddAngle(r), args)
}
func (a modifierAdapter) DeleteRecipient(r string) error {
	return a.m.DeleteRecipient(gomilter.AddAngle(r))
}
func (a modifierAdapter) ReplaceBody(r io.Reader) error  { return a.m.ReplaceBody(r) }
func (a modifierAdapter) Quarantine(reason string) error { return a.m.Quarantine(reason) }
