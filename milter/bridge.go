package milter

import (
	"context"
	"errors"
	"io"
	"strings"

	"github.com/vpim-milter/vpim-milter/codec"
	"github.com/vpim-milter/vpim-milter/profile"
	"github.com/vpim-milter/vpim-milter/telephony"
)

// Bridge takes voice-bound recipients out of MTA delivery;
// *telephony.Gateway implements it. Admit decides at RCPT time whether a
// bridge-bound recipient may be dialled for the transaction's admission
// (one per transaction: who asks, and what it has admitted so far): nil
// admits it, a *telephony.RejectError refuses it with its reply, any other
// error tempfails it. Stage must make the jobs durable, but not yet
// callable, before it returns them; the milter commits them only with the
// accept, and discards them when the message is not accepted, the MTA
// aborts or the connection is lost. A *telephony.RejectError refuses the
// whole message with its reply (a 4xx one tempfails it), any other error
// tempfails it so the MTA keeps it. Stage must return when ctx ends.
type Bridge interface {
	Admit(a *telephony.Admission, rcpt string) error
	Stage(ctx context.Context, m *telephony.Message) (*telephony.Staged, error)
}

// admit runs the bridge's RCPT-time check and turns its answer into a
// reply; err is the bridge's refusal, for the log.
func admit(b Bridge, a *telephony.Admission, rcpt string) (*profile.Reply, error) {
	if b == nil {
		return &profile.Reply{Code: 550, Enhanced: "5.7.1", Text: "no telephony bridge is configured here"}, errors.New("milter: no telephony bridge is configured")
	}
	err := b.Admit(a, rcpt)
	if err == nil {
		return nil, nil
	}
	if r, ok := rejectReply(err); ok {
		return &r, err
	}
	return &profile.Reply{Code: 451, Enhanced: "4.3.0", Text: "voice outdial policy unavailable, try again later"}, err
}

// rejectReply is the SMTP reply of a *telephony.RejectError in err's chain.
func rejectReply(err error) (profile.Reply, bool) {
	var rej *telephony.RejectError
	if !errors.As(err, &rej) {
		return profile.Reply{}, false
	}
	return profile.Reply{Code: rej.Code, Enhanced: rej.Enhanced, Text: rej.Text}, true
}

// handOff gives the bridge the transaction's voice-bound recipients
// (rep.Bridge) with their ESMTP parameters, the header block and the voice
// part to play, and returns the staged jobs.
func handOff(ctx context.Context, b Bridge, in *profile.Input, rep *profile.Report, adm *telephony.Admission) (*telephony.Staged, error) {
	m := &telephony.Message{
		QueueID:    in.Envelope.QueueID,
		Sender:     in.Envelope.From,
		SenderArgs: in.Envelope.FromArgs,
		Header:     headerBlock(in.Header),
		Admission:  adm,
	}
	args := rcptArgs(in.Envelope.Rcpts)
	for _, rcpt := range rep.Bridge {
		m.Recipients = append(m.Recipients, telephony.Recipient{Addr: rcpt, Args: args[strings.ToLower(rcpt)]})
	}
	voice, err := voicePart(in, rep)
	if err != nil {
		return nil, err
	}
	m.Voice = voice
	return b.Stage(ctx, m)
}

// voicePart is the part the bridge plays, nil when the message has no
// audio: the voice message the evaluation chose (recognised by its label or
// its bytes, so an Asterisk WAV sent as application/octet-stream plays too).
func voicePart(in *profile.Input, rep *profile.Report) (*telephony.Voice, error) {
	v := rep.Voice
	if v == nil {
		return nil, nil
	}
	return &telephony.Voice{
		Part:   v.Path,
		Format: codec.Format(v.Format()),
		Open:   func() (io.Reader, error) { return profile.OpenVoice(in, v) },
	}, nil
}

// rcptArgs maps each envelope recipient, in lower case, to the ESMTP
// parameters the envelope gave it (the last copy's), built once per hand-off:
// looking each bridge recipient up in the envelope took O(n²) with many
// recipients (redteam R12).
func rcptArgs(rcpts []profile.Rcpt) map[string]string {
	args := make(map[string]string, len(rcpts))
	for _, r := range rcpts {
		args[strings.ToLower(r.Addr)] = r.Args
	}
	return args
}

// headerBlock renders header fields as the MTA gave them, one
// "Name:value" line each, folds and line ends as CRLF.
func headerBlock(h []profile.Field) []byte {
	var b strings.Builder
	for _, f := range h {
		b.WriteString(f.Name + ":" + strings.ReplaceAll(f.Value, "\n", "\r\n") + "\r\n")
	}
	return []byte(b.String())
}
