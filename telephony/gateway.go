package telephony

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/vpim-milter/vpim-milter/codec"
	"github.com/vpim-milter/vpim-milter/profile/addr"
)

// Message is what the gateway needs of one mail message at end of message
// (DESIGN flow step 4). It is a neutral request: the milter fills it from
// the transaction, so this package needs neither go-milter nor the profile
// engine.
type Message struct {
	QueueID    string
	Sender     string      // envelope MAIL FROM without angle brackets, "" for <>
	SenderArgs string      // ESMTP parameters of MAIL FROM as received, e.g. "ENVID=QQ314159 RET=HDRS"
	Recipients []Recipient // the voice-bound recipients, one job each
	// Header is the message's header block as received: one "Name:value"
	// line per field ending in CRLF, folds kept as CRLF. It goes into the
	// DSN's text/rfc822-headers part; Message-ID and Subject are read from it.
	Header []byte
	// Voice is the part to play; nil when the message has no audio part
	// (the gateway then refuses the message).
	Voice *Voice
}

// Recipient is one voice-bound envelope recipient.
type Recipient struct {
	Addr string // without angle brackets, e.g. "VOICE=+3940226338@voice.example.com"
	Args string // its ESMTP RCPT parameters as received (NOTIFY, ORCPT; RFC 3461)
}

// Voice is the audio part the call plays. The caller chooses the part (the
// milter asks the profile engine); the gateway only reads it.
type Voice struct {
	// Open returns the part's bytes with the transfer encoding removed. The
	// gateway calls it at most once per HandOff.
	Open func() (io.Reader, error)
	// Format is the codec format the part's label fixes for headerless
	// audio (codec.Basic for audio/basic, codec.ADPCM32 for audio/32KADPCM);
	// "" sniffs the content. A container found in the bytes (WAV, .au) wins
	// over it, as in codec.NewReader.
	Format codec.Format
	// Part is the MIME part path ("" for a single-part message, "2",
	// "1.3"), for error messages.
	Part string
}

// Gateway takes voice-bound recipients out of mail delivery and into the
// spool: Admit applies the outdial policy at RCPT, HandOff writes one
// durable job per recipient at end of message, before the milter answers.
// A Gateway is immutable and safe for concurrent use; a configuration
// reload builds a new one.
type Gateway struct {
	policy  *Policy
	spool   *Spool // nil: dry run, nothing is written
	tempDir string
}

// NewGateway builds the gateway for the outdial policy and TempDir of o.
// With a nil spool it is a dry run for the offline commands: the policy
// applies and the voice is decoded, but no job is written.
func NewGateway(o Options, spool *Spool) (*Gateway, error) {
	p, err := NewPolicy(o)
	if err != nil {
		return nil, err
	}
	return &Gateway{policy: p, spool: spool, tempDir: o.TempDir}, nil
}

// Admit decides at RCPT whether rcpt, a voice-bound address, may be dialled
// for sender (RFC 3804 5). It returns nil or a *RejectError with the reply
// for that recipient: 553 5.1.3 when the address holds no telephone number,
// 550 5.7.1 when the outdial policy refuses it.
func (g *Gateway) Admit(sender, rcpt string) error {
	a := addr.Parse(rcpt)
	number := a.DialString()
	if !a.Valid || number == "" {
		return &RejectError{Code: 553, Enhanced: "5.1.3", Text: "no telephone number in this voice address", Reason: fmt.Sprintf("%q: %s", rcpt, a.Error)}
	}
	return g.policy.Check(sender, number)
}

// HandOff decodes m.Voice to 8 kHz PCM once (in an unlinked temporary file
// under TempDir) and writes one job per recipient into the spool; when it
// returns nil every job is durable (Spool.Enqueue) and the recipients may
// leave MTA delivery. A *RejectError (554 5.6.1) means the message can
// never be played: no audio, audio that does not decode, or none at all
// after decoding; the milter refuses the message with its reply. Any other
// error is temporary: the milter tempfails the message and the MTA keeps
// it. A failing recipient leaves no job behind, but the jobs written for
// the recipients before it stay (the message is then retried and those
// calls may be placed twice: at-least-once).
func (g *Gateway) HandOff(ctx context.Context, m *Message) error {
	if m.Voice == nil {
		return unplayable("message to a telephone number has no audio to play", "no audio part")
	}
	pcm, samples, err := g.decode(m.Voice)
	if err != nil {
		return err
	}
	defer pcm.Close()
	if g.spool == nil {
		return nil
	}
	meta := JobMeta{
		QueueID:   m.QueueID,
		Sender:    m.Sender,
		MessageID: headerValue(m.Header, "Message-ID"),
		Subject:   headerValue(m.Header, "Subject"),
		EnvID:     esmtpParam(m.SenderArgs, "ENVID"),
		Header:    m.Header,
	}
	for _, r := range m.Recipients {
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("telephony: hand-off: %w", err)
		}
		jm := meta
		jm.Recipient = r.Addr
		jm.Number = addr.Parse(r.Addr).DialString()
		jm.Notify, jm.ORcpt = esmtpParam(r.Args, "NOTIFY"), esmtpParam(r.Args, "ORCPT")
		if _, err := pcm.Seek(0, io.SeekStart); err != nil {
			return fmt.Errorf("telephony: hand-off: %w", err)
		}
		if _, err := g.spool.Enqueue(jm, bufio.NewReaderSize(pcm, 64<<10), samples); err != nil {
			return fmt.Errorf("telephony: hand-off: %s: %w", r.Addr, err)
		}
	}
	return nil
}

// unplayable is the refusal of a message whose audio cannot be played.
func unplayable(text, reason string) *RejectError {
	return &RejectError{Code: 554, Enhanced: "5.6.1", Text: text, Reason: reason}
}

// decode turns the voice into 8 kHz PCM16LE in an unlinked temporary file
// and counts the samples.
func (g *Gateway) decode(v *Voice) (*os.File, int64, error) {
	src, err := v.Open()
	if err != nil {
		return nil, 0, fmt.Errorf("telephony: hand-off: part %s: %w", v.Part, err)
	}
	rd, err := codec.NewReader(src, v.Format)
	if err != nil {
		return nil, 0, unplayable("audio of this message cannot be played", fmt.Sprintf("part %s: %v", v.Part, err))
	}
	f, err := os.CreateTemp(g.tempDir, "vpim-pcm-*")
	if err != nil {
		return nil, 0, fmt.Errorf("telephony: hand-off: %w", err)
	}
	_ = os.Remove(f.Name())
	n, err := io.Copy(f, rd)
	if err != nil {
		f.Close()
		if ce := (*codec.CorruptInputError)(nil); errors.As(err, &ce) {
			return nil, 0, unplayable("audio of this message cannot be played", fmt.Sprintf("part %s: %v", v.Part, err))
		}
		return nil, 0, fmt.Errorf("telephony: hand-off: decode part %s: %w", v.Part, err)
	}
	if n < 2 {
		f.Close()
		return nil, 0, unplayable("message to a telephone number has no audio to play", fmt.Sprintf("part %s: empty audio", v.Part))
	}
	return f, n / 2, nil
}

// headerValue returns the first field called name in the header block h,
// unfolded, with runs of white space made one space.
func headerValue(h []byte, name string) string {
	lines := strings.Split(string(h), "\r\n")
	for i, l := range lines {
		n, v, ok := strings.Cut(l, ":")
		if !ok || !strings.EqualFold(strings.TrimSpace(n), name) || l == "" || l[0] == ' ' || l[0] == '\t' {
			continue
		}
		for _, cont := range lines[i+1:] {
			if cont == "" || (cont[0] != ' ' && cont[0] != '\t') {
				break
			}
			v += " " + cont
		}
		return strings.Join(strings.Fields(v), " ")
	}
	return ""
}

// esmtpParam returns the value of one ESMTP parameter (RFC 3461) in args.
func esmtpParam(args, key string) string {
	for _, kv := range strings.Fields(args) {
		if k, v, ok := strings.Cut(kv, "="); ok && strings.EqualFold(k, key) {
			return v
		}
	}
	return ""
}
