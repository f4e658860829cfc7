package milter

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/vpim-milter/vpim-milter/codec"
	"github.com/vpim-milter/vpim-milter/profile"
	"github.com/vpim-milter/vpim-milter/profile/addr"
	"github.com/vpim-milter/vpim-milter/telephony"
)

// RefuseError makes the hand-off refuse the whole message with Reply
// instead of tempfailing it: for a message that can never be delivered to
// its telephone recipients (no audio, audio that does not decode).
type RefuseError struct {
	Reply profile.Reply
	Err   error
}

func (e *RefuseError) Error() string { return fmt.Sprintf("milter: refuse: %s: %v", e.Reply, e.Err) }
func (e *RefuseError) Unwrap() error { return e.Err }

// SpoolBridge hands voice-bound recipients to the telephony spool: it
// checks each one against the outdial policy at RCPT time, and at end of
// message decodes the primary voice to 8 kHz PCM and writes one durable job
// per recipient before the milter answers (DESIGN flow step 4).
type SpoolBridge struct {
	Spool   *telephony.Spool // nil: dry run (offline check), nothing is written
	Policy  *telephony.Policy
	TempDir string
	Limits  profile.Limits
}

// Admit applies the outdial policy (RFC 3804 5) to a bridge-bound recipient.
func (b *SpoolBridge) Admit(from, rcpt string) *profile.Reply {
	a := addr.Parse(rcpt)
	number := a.DialString()
	if !a.Valid || number == "" {
		return &profile.Reply{Code: 553, Enhanced: "5.1.3", Text: "no telephone number in this voice address"}
	}
	if b.Policy == nil {
		return nil
	}
	var rej *telephony.RejectError
	if err := b.Policy.Check(from, number); errors.As(err, &rej) {
		return &profile.Reply{Code: rej.Code, Enhanced: rej.Enhanced, Text: rej.Text}
	} else if err != nil {
		return &profile.Reply{Code: 451, Enhanced: "4.3.0", Text: "voice outdial policy unavailable, try again later"}
	}
	return nil
}

// HandOff writes one job per bridge recipient of rep. An error leaves no job
// behind for the failing recipient; the caller tempfails (or, for a
// *RefuseError, rejects) the message.
func (b *SpoolBridge) HandOff(ctx context.Context, in *profile.Input, rep *profile.Report) error {
	voice, ctype, err := profile.VoiceAudio(in, b.Limits)
	if errors.Is(err, profile.ErrNoVoice) {
		return &RefuseError{Reply: profile.Reply{Code: 554, Enhanced: "5.6.1", Text: "message to a telephone number has no audio to play"}, Err: err}
	}
	if err != nil {
		return err
	}
	pcm, samples, err := b.decode(voice, ctype)
	if err != nil {
		return err
	}
	defer pcm.Close()
	if b.Spool == nil {
		return nil
	}
	meta := telephony.JobMeta{
		QueueID:   in.Envelope.QueueID,
		Sender:    in.Envelope.From,
		MessageID: headerValue(in.Header, "Message-ID"),
		Subject:   headerValue(in.Header, "Subject"),
		EnvID:     esmtpParam(in.Envelope.FromArgs, "ENVID"),
		Header:    headerBlock(in.Header),
	}
	for _, rcpt := range rep.Bridge {
		m := meta
		m.Recipient = rcpt
		m.Number = addr.Parse(rcpt).DialString()
		for _, r := range in.Envelope.Rcpts {
			if strings.EqualFold(r.Addr, rcpt) {
				m.Notify, m.ORcpt = esmtpParam(r.Args, "NOTIFY"), esmtpParam(r.Args, "ORCPT")
			}
		}
		if _, err := pcm.Seek(0, io.SeekStart); err != nil {
			return fmt.Errorf("milter: bridge: %w", err)
		}
		if _, err := b.Spool.Enqueue(m, bufio.NewReaderSize(pcm, 64<<10), samples); err != nil {
			return fmt.Errorf("milter: bridge: %s: %w", rcpt, err)
		}
	}
	return nil
}

// decode turns the voice part into 8 kHz PCM16LE in an unlinked temporary
// file and counts the samples.
func (b *SpoolBridge) decode(voice io.Reader, ctype string) (*os.File, int64, error) {
	from := codec.Format("")
	switch ctype {
	case "audio/basic":
		from = codec.Format("basic")
	case "audio/32kadpcm":
		from = codec.ADPCM32
	}
	rd, err := codec.NewReader(voice, from)
	if err != nil {
		return nil, 0, &RefuseError{Reply: profile.Reply{Code: 554, Enhanced: "5.6.1", Text: "audio of this message cannot be played"}, Err: err}
	}
	f, err := os.CreateTemp(b.TempDir, "vpim-pcm-*")
	if err != nil {
		return nil, 0, fmt.Errorf("milter: bridge: %w", err)
	}
	_ = os.Remove(f.Name())
	n, err := io.Copy(f, rd)
	if err != nil {
		f.Close()
		var ce *codec.CorruptInputError
		if errors.As(err, &ce) {
			return nil, 0, &RefuseError{Reply: profile.Reply{Code: 554, Enhanced: "5.6.1", Text: "audio of this message cannot be played"}, Err: err}
		}
		return nil, 0, fmt.Errorf("milter: bridge: decode: %w", err)
	}
	if n < 2 {
		f.Close()
		return nil, 0, &RefuseError{Reply: profile.Reply{Code: 554, Enhanced: "5.6.1", Text: "message to a telephone number has no audio to play"}, Err: errors.New("empty audio")}
	}
	return f, n / 2, nil
}

func headerValue(h []profile.Field, name string) string {
	for _, f := range h {
		if strings.EqualFold(f.Name, name) {
			return strings.TrimSpace(strings.Join(strings.Fields(f.Value), " "))
		}
	}
	return ""
}

func headerBlock(h []profile.Field) []byte {
	var b strings.Builder
	for _, f := range h {
		b.WriteString(f.Name + ":" + strings.ReplaceAll(f.Value, "\n", "\r\n") + "\r\n")
	}
	return []byte(b.String())
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
