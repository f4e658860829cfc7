// Package testengine is a scripted engine for tests of the milter adapter
// against real MTAs and miltertest: the message's X-Test-Action header says
// which plan to return, so a test can drive every modification the milter
// protocol carries without depending on the voice-mail rules.
//
// X-Test-Action holds a comma-separated list of:
//
//	add-header          add "X-Test-Added: yes"
//	change-header       change the first Subject to "changed"
//	delete-header       delete the first X-Test-Delete field
//	insert-header       insert "X-Test-Inserted: top" before all fields
//	replace-body        replace the body with "replaced body\r\n"
//	big-body=N          replace the body with N bytes of numbered lines, streamed
//	del-rcpt=ADDR       delete recipient ADDR
//	add-rcpt=ADDR       add recipient ADDR
//	reject              550 5.7.1 rejected by test
//	tempfail            451 4.7.1 tempfail by test
//	quarantine          quarantine with reason "held by test"
//	panic               panic inside Evaluate
//	sleep=DURATION      sleep before answering
//
// Recipients whose local part is "refuse" are refused with 550 5.1.1 at RCPT.
// Recipients whose local part starts with "VOICE=" go to the telephony
// bridge: their target is bridge, mail to them always needs its body, and
// Evaluate lists them in Report.Bridge, with the voice part the real
// profile engine chooses. Other mail without X-Test-Action leaves through
// the end-of-headers fast path.
package testengine

import (
	"context"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/vpim-milter/vpim-milter/profile"
)

// Engine is the scripted engine. The zero value is ready to use.
type Engine struct{}

// Recipient refuses local part "refuse" and sends VOICE= local parts to
// the bridge; everyone else is an IVM recipient.
func (Engine) Recipient(from string, rcpt profile.Rcpt, accepted []profile.Rcpt) profile.RcptResult {
	switch {
	case strings.HasPrefix(strings.ToLower(rcpt.Addr), "refuse@"):
		return profile.RcptResult{Reject: &profile.Reply{Code: 550, Enhanced: "5.1.1", Text: "refused by test"}}
	case voice(rcpt.Addr):
		return profile.RcptResult{Target: profile.TargetBridge}
	}
	return profile.RcptResult{Target: profile.TargetIVM}
}

func voice(addr string) bool { return strings.HasPrefix(strings.ToUpper(addr), "VOICE=") }

// NeedsBody is true when the message carries X-Test-Action or has a
// bridge recipient.
func (Engine) NeedsBody(env *profile.Envelope, header []profile.Field) bool {
	_, ok := actions(header)
	for _, r := range env.Rcpts {
		ok = ok || voice(r.Addr)
	}
	return ok
}

// Evaluate returns the plan the X-Test-Action header asks for.
func (Engine) Evaluate(ctx context.Context, in *profile.Input) (*profile.Report, error) {
	acts, _ := actions(in.Header)
	rep := &profile.Report{Profile: "none", Target: profile.TargetIVM}
	for _, r := range in.Envelope.Rcpts {
		if voice(r.Addr) {
			rep.Bridge = append(rep.Bridge, r.Addr)
		}
	}
	if len(rep.Bridge) > 0 {
		v, err := realVoice(ctx, in)
		if err != nil {
			return nil, err
		}
		rep.Voice = v
	}
	p := &rep.Plan
	for _, a := range acts {
		name, arg, _ := strings.Cut(a, "=")
		switch name {
		case "add-header":
			p.Headers = append(p.Headers, profile.HeaderEdit{Op: profile.HeaderAdd, Name: "X-Test-Added", Value: "yes"})
		case "change-header":
			p.Headers = append(p.Headers, profile.HeaderEdit{Op: profile.HeaderChange, Name: "Subject", Index: 1, Value: "changed"})
		case "delete-header":
			p.Headers = append(p.Headers, profile.HeaderEdit{Op: profile.HeaderDelete, Name: "X-Test-Delete", Index: 1})
		case "insert-header":
			p.Headers = append(p.Headers, profile.HeaderEdit{Op: profile.HeaderInsert, Name: "X-Test-Inserted", Index: 0, Value: "top"})
		case "replace-body":
			p.Body = fixedBody("replaced body\r\n")
		case "big-body":
			n, err := strconv.ParseInt(arg, 10, 64)
			if err != nil {
				return nil, fmt.Errorf("testengine: big-body=%q: %w", arg, err)
			}
			p.Body = bigBody(n)
		case "del-rcpt":
			p.DelRcpts = append(p.DelRcpts, arg)
		case "add-rcpt":
			p.AddRcpts = append(p.AddRcpts, profile.Rcpt{Addr: arg})
		case "reject":
			p.Decision = profile.Decision{Verdict: profile.VerdictReject, Reply: profile.Reply{Code: 550, Enhanced: "5.7.1", Text: "rejected by test"}}
		case "tempfail":
			p.Decision = profile.Decision{Verdict: profile.VerdictTempfail, Reply: profile.Reply{Code: 451, Enhanced: "4.7.1", Text: "tempfail by test"}}
		case "quarantine":
			p.Decision = profile.Decision{Verdict: profile.VerdictQuarantine, Reason: "held by test"}
		case "panic":
			panic("testengine: panic requested by X-Test-Action")
		case "sleep":
			d, err := time.ParseDuration(arg)
			if err != nil {
				return nil, fmt.Errorf("testengine: sleep=%q: %w", arg, err)
			}
			select {
			case <-time.After(d):
			case <-ctx.Done():
				return nil, ctx.Err()
			}
		default:
			return nil, fmt.Errorf("testengine: unknown action %q", a)
		}
	}
	for _, e := range p.Headers {
		p.Actions = append(p.Actions, profile.Action{Kind: profile.ActionHeader, Header: e})
	}
	return rep, nil
}

// realVoice is the voice part the profile engine chooses for in.
func realVoice(ctx context.Context, in *profile.Input) (*profile.Voice, error) {
	e, err := profile.New(profile.Options{})
	if err != nil {
		return nil, err
	}
	rep, err := e.Evaluate(ctx, in)
	if err != nil {
		return nil, err
	}
	return rep.Voice, nil
}

func actions(h []profile.Field) ([]string, bool) {
	for _, f := range h {
		if strings.EqualFold(f.Name, "X-Test-Action") {
			var out []string
			for _, a := range strings.Split(f.Value, ",") {
				if a = strings.TrimSpace(a); a != "" {
					out = append(out, a)
				}
			}
			return out, true
		}
	}
	return nil, false
}

type fixedBody string

func (b fixedBody) WriteBody(w io.Writer) error {
	_, err := io.WriteString(w, string(b))
	return err
}

// bigBody writes n bytes of numbered 64-byte lines without holding them.
type bigBody int64

// BigBodyLine is line i of a big-body replacement (64 bytes with CRLF).
func BigBodyLine(i int64) string {
	return fmt.Sprintf("line %010d of the streamed replacement body ....................\r\n", i)[:62] + "\r\n"
}

func (b bigBody) WriteBody(w io.Writer) error {
	left := int64(b)
	for i := int64(0); left > 0; i++ {
		line := BigBodyLine(i)
		if int64(len(line)) > left {
			line = line[:left]
		}
		if _, err := io.WriteString(w, line); err != nil {
			return err
		}
		left -= int64(len(line))
	}
	return nil
}
