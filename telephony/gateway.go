package telephony

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"syscall"
	"time"
	"unicode/utf8"

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
	// Admission is the transaction's admission, which Admit filled; nil
	// for a message whose recipients were not admitted through Admit (the
	// outdial policy then runs on them here). HandOff counts the calls it
	// places on it (rate limits) and takes the normalised numbers from it.
	Admission *Admission
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
	policy   *Policy
	spool    *Spool // nil: dry run, nothing is written
	tempDir  string
	maxCalls int
	limits   RateLimitOptions
	rates    *rateBook // the spool's; nil for a dry run
	// maxSamples bounds the audio of one message (MaxAudio and
	// CodecMaxDuration); maxAudio is that limit as a duration, for the reply.
	maxSamples int64
	maxAudio   time.Duration
	maxSpool   int64 // MaxSpoolBytes
}

// NewGateway builds the gateway for the outdial policy, the sender checks,
// the per-message and rate limits and TempDir of o (zero values take the
// defaults). With a nil spool it is a dry run for the offline commands:
// the policy applies and the voice is decoded, but no job is written and
// no rate is counted. With a spool, the rate limits count on the spool's
// book, which every Gateway of that spool shares: the first Gateway (and
// one whose windows are longer) reads the calls of the last window back
// from the spool's jobs.
func NewGateway(o Options, spool *Spool) (*Gateway, error) {
	o = o.WithDefaults()
	p, err := NewPolicy(o)
	if err != nil {
		return nil, err
	}
	g := &Gateway{policy: p, spool: spool, tempDir: o.TempDir, maxCalls: o.MaxCallsPerMessage, limits: o.RateLimit,
		maxAudio: o.MaxAudio, maxSpool: o.MaxSpoolBytes}
	if o.CodecMaxDuration > 0 && o.CodecMaxDuration < g.maxAudio {
		g.maxAudio = o.CodecMaxDuration
	}
	g.maxSamples = int64(g.maxAudio / time.Second * codec.Rate)
	if spool != nil {
		var horizon time.Duration
		for _, r := range []Rate{o.RateLimit.PerSender, o.RateLimit.PerNumber} {
			if !r.Off() && r.Per > horizon {
				horizon = r.Per
			}
		}
		g.rates = spool.rates
		if err := g.rates.load(spool, horizon); err != nil {
			return nil, fmt.Errorf("telephony: gateway: rate limits: %w", err)
		}
	}
	return g, nil
}

// Admit decides at RCPT whether rcpt, a recipient at a gateway domain, may
// be called for the transaction a (RFC 3804 5), and records it there. It
// returns nil or a *RejectError with the reply for that recipient:
//
//   - 553 5.1.3 when rcpt is not a VOICE=, VPIM= or AMIS= address with a
//     number that can be dialled (FAX=, SMS=, a number without a
//     selector, a source route, anything addr.Parse refuses), or names a
//     destination behind the number that the gateway cannot reach
//     (/POSTD=, /ISUB=, a VPIM extension or /DL=);
//   - 550 5.7.1 when the caller may not use the gateway or the outdial
//     policy refuses the number (Policy.CheckCaller, Policy.CheckNumber);
//   - 452 4.5.3 when the message already has MaxCallsPerMessage other
//     numbers (RFC 5321 4.5.3.1.10: too many recipients, try the rest in
//     another transaction);
//   - 450 4.7.1 when the sender or the number is over its rate limit
//     (RFC 5321 4.2.3: 450 is a mailbox "temporarily blocked for policy
//     reasons"; the client retries later).
//
// A number that a is already calling (another spelling of it) is admitted
// without counting again; HandOff makes one job for it.
func (g *Gateway) Admit(a *Admission, rcpt string) error {
	if err := g.policy.CheckCaller(a.Caller); err != nil {
		return err
	}
	n, err := g.number(rcpt)
	if err != nil {
		return err
	}
	if a.has(n) {
		a.add(rcpt, n, nil, nil)
		return nil
	}
	if len(a.numbers) >= g.maxCalls {
		return &RejectError{Code: 452, Enhanced: "4.5.3", Text: "too many voice recipients in this message, send the others in another message",
			Rule: RuleMaxCalls, Number: n, Reason: fmt.Sprintf("message already calls %d numbers (max_calls_per_message)", len(a.numbers))}
	}
	keys := []rateKey{
		{key: senderKey(a.Login, a.Client, a.Sender), rule: RuleRateSender, limit: g.limits.PerSender},
		{key: "number:" + n, rule: RuleRateNumber, limit: g.limits.PerNumber},
	}
	if g.rates != nil {
		if k, count := g.rates.reserve(keys); k != nil {
			return &RejectError{Code: 450, Enhanced: "4.7.1", Text: "voice outdial rate limit exceeded, try again later", Rule: k.rule, Number: n,
				Reason: fmt.Sprintf("%s has %d calls in the last %v (rate_limit %s)", strings.TrimPrefix(k.key, "sender:"), count, k.limit.Per, k.limit)}
		}
	}
	a.add(rcpt, n, keys, g.rates)
	return nil
}

// number checks that rcpt is a voice address with an explicit VOICE=,
// VPIM= or AMIS= selector (RFC 3804 4.2) and returns its number after
// Policy.CheckNumber.
func (g *Gateway) number(rcpt string) (string, error) {
	a := addr.Parse(rcpt)
	bad := func(why string) error {
		return &RejectError{Code: 553, Enhanced: "5.1.3", Text: "no telephone number in this voice address", Rule: RuleAddress, Reason: fmt.Sprintf("%q: %s", rcpt, why)}
	}
	switch {
	case !a.Valid:
		return "", bad(a.Error)
	case a.Kind != addr.KindPSTN || !a.IsVoice():
		return "", bad("not a VOICE=, VPIM= or AMIS= address")
	case !hasSelector(a.Local, a.Service):
		return "", bad("the number has no VOICE=, VPIM= or AMIS= selector")
	case a.PostDial != "" || a.ISub != "" || a.DL != "" || a.Service == "VPIM" && a.Extension != "":
		// The job dials the number alone: the message would be played to
		// whoever answers it (a switchboard, an IVR), and dialling the
		// post-dial digits would let mail drive an IVR's menu.
		return "", bad("a post-dial sequence, ISDN subaddress, extension or distribution list cannot be dialled by the gateway")
	case a.SysNum != "":
		// An AMIS mailbox behind the voice-mail system /SYSNUM= names
		// (RFC 3804 4.2.3): the job would dial the system's number and play
		// the message to whoever answers it; reaching the mailbox takes
		// AMIS's own protocol (redteam R14b).
		return "", bad("an AMIS mailbox behind a /SYSNUM= system cannot be reached by the gateway")
	}
	d := a.DialString()
	if d == "" {
		return "", bad("no dialable number")
	}
	return g.policy.CheckNumber(d)
}

// hasSelector reports whether the local part starts with service and "="
// (after the optional slash of RFC 3191 4).
func hasSelector(local, service string) bool {
	l := strings.TrimLeft(local, "/")
	return len(l) > len(service) && strings.EqualFold(l[:len(service)], service) && l[len(service)] == '='
}

// HandOff is Stage followed by Commit: when it returns nil every job is
// in new/ and the recipients may leave MTA delivery. The milter uses
// Stage and commits only once it has decided to accept the message.
func (g *Gateway) HandOff(ctx context.Context, m *Message) error {
	st, err := g.Stage(ctx, m)
	if err != nil {
		return err
	}
	if err := st.Commit(); err != nil {
		st.Discard()
		return err
	}
	return nil
}

// Stage decodes m.Voice to 8 kHz PCM once (in an unlinked temporary file
// under TempDir) and writes one job per distinct normalised number (the
// first recipient with that number gives the job its address, NOTIFY and
// ORCPT; the other spellings get no job and no DSN of their own) into the
// spool's staging/ directory, durably, where the worker never looks:
// Staged.Commit publishes them and counts the calls for the rate limits,
// Staged.Discard (or a restart) removes them. So a transaction that ends
// in a tempfail or a reject, or that the MTA abandons, leaves no job, and
// an MTA retry does not call twice.
//
// Refusals come back as a *RejectError: 554 5.6.1 when the message can
// never be played (no audio, audio that does not decode, none at all after
// decoding), 552 5.3.4 when its audio is longer than MaxAudio (or
// CodecMaxDuration), found as soon as the decoder passes the limit, and
// 452 4.3.1 when the spool has no room for the jobs under MaxSpoolBytes
// (or the file system is full), so that the MTA keeps the mail; a
// recipient the outdial policy refuses here (one Admit did not see)
// refuses the message as Admit would. When ctx ends the decoding stops
// within 8 s of audio and Stage returns ctx's error. Any other error is
// temporary. On any error no staged job is left. A dry-run gateway (nil
// spool) decodes and checks but stages nothing.
func (g *Gateway) Stage(ctx context.Context, m *Message) (*Staged, error) {
	if m.Voice == nil {
		return nil, unplayable("message to a telephone number has no audio to play", "no audio part")
	}
	calls, err := g.calls(m)
	if err != nil {
		return nil, err
	}
	pcm, samples, err := g.decode(ctx, m.Voice)
	if err != nil {
		return nil, err
	}
	defer pcm.Close()
	st := &Staged{spool: g.spool, adm: m.Admission}
	if g.spool == nil {
		return st, nil
	}
	need := int64(len(calls)) * jobBytes(samples, len(m.Header))
	ok, used, err := g.spool.reserve(need, g.maxSpool)
	if err != nil {
		return nil, fmt.Errorf("telephony: hand-off: %w", err)
	}
	if !ok {
		return nil, &RejectError{Code: 452, Enhanced: "4.3.1", Text: "voice spool full, try again later",
			Reason: fmt.Sprintf("the spool holds %d bytes, %d more would pass max_spool_bytes (%d)", used, need, g.maxSpool)}
	}
	meta := JobMeta{
		QueueID:   m.QueueID,
		Sender:    m.Sender,
		MessageID: cleanField(headerValue(m.Header, "Message-ID")),
		Subject:   headerValue(m.Header, "Subject"),
		EnvID:     esmtpParam(m.SenderArgs, "ENVID"),
		Header:    m.Header,
	}
	if a := m.Admission; a != nil {
		meta.Login, meta.Client = cleanField(a.Login), cleanField(a.Client)
	}
	for _, c := range calls {
		if err := ctx.Err(); err != nil {
			st.Discard()
			return nil, fmt.Errorf("telephony: hand-off: %w", err)
		}
		r := c.rcpt
		jm := meta
		jm.Recipient = r.Addr
		jm.Number = c.number
		jm.Notify, jm.ORcpt = esmtpParam(r.Args, "NOTIFY"), esmtpParam(r.Args, "ORCPT")
		if _, err := pcm.Seek(0, io.SeekStart); err != nil {
			st.Discard()
			return nil, fmt.Errorf("telephony: hand-off: %w", err)
		}
		id, err := g.spool.stage(jm, bufio.NewReaderSize(pcm, 64<<10), samples)
		if err != nil {
			st.Discard()
			if errors.Is(err, syscall.ENOSPC) || errors.Is(err, syscall.EDQUOT) {
				return nil, &RejectError{Code: 452, Enhanced: "4.3.1", Text: "voice spool full, try again later", Reason: err.Error()}
			}
			return nil, fmt.Errorf("telephony: hand-off: %s: %w", r.Addr, err)
		}
		st.ids = append(st.ids, id)
		st.numbers = append(st.numbers, c.number)
	}
	return st, nil
}

// Staged is the jobs Gateway.Stage wrote for one message, durable but not
// yet visible to the worker. Commit or Discard them; after Commit, Discard
// does nothing, so a deferred Discard is safe. Not safe for concurrent use.
type Staged struct {
	spool   *Spool // nil: dry run
	adm     *Admission
	ids     []string
	numbers []string // the number of each job, for the rate limits
	done    bool
}

// Jobs returns the ids of the staged jobs (none for a nil *Staged).
func (s *Staged) Jobs() []string {
	if s == nil {
		return nil
	}
	return s.ids
}

// Commit publishes the jobs into new/ (renames, then an fsync of new/)
// and counts their calls for the rate limits (the Admission's): when it
// returns nil they are queued for the worker. On an error none of them is
// queued (see Spool.commit) and the caller must tempfail the message; the
// jobs stay staged until Discard.
func (s *Staged) Commit() error {
	if s == nil || s.done || s.spool == nil || len(s.ids) == 0 {
		return nil
	}
	if err := s.spool.commit(s.ids); err != nil {
		return fmt.Errorf("telephony: hand-off: %w", err)
	}
	s.done = true
	if s.adm != nil {
		s.adm.commit(s.numbers)
	}
	return nil
}

// Discard removes the jobs unless they were committed. The Admission's
// rate-limit counts for them go back when the milter closes it.
func (s *Staged) Discard() error {
	if s == nil || s.done || s.spool == nil || len(s.ids) == 0 {
		return nil
	}
	s.done = true
	return s.spool.discard(s.ids)
}

// call is one job Stage writes: a distinct number and the first
// recipient that asked for it.
type call struct {
	number string
	rcpt   Recipient
}

// calls dedupes m's recipients by normalised number. Recipients that Admit
// did not see (no Admission, or not in it) go through the outdial policy
// here; a refusal refuses the message. More distinct numbers than
// MaxCallsPerMessage refuse it too: Admit keeps a transaction below that.
func (g *Gateway) calls(m *Message) ([]call, error) {
	var out []call
	seen := map[string]bool{}
	for _, r := range m.Recipients {
		n, ok := "", false
		if m.Admission != nil {
			n, ok = m.Admission.admitted(r.Addr)
		}
		if !ok {
			var err error
			if n, err = g.number(r.Addr); err != nil {
				return nil, err
			}
		}
		if !seen[n] {
			seen[n] = true
			out = append(out, call{number: n, rcpt: r})
		}
	}
	if len(out) > g.maxCalls {
		return nil, &RejectError{Code: 550, Enhanced: "5.5.3", Text: "too many voice recipients in this message", Rule: RuleMessageLimits,
			Reason: fmt.Sprintf("%d distinct numbers, max_calls_per_message is %d", len(out), g.maxCalls)}
	}
	return out, nil
}

// cleanField makes mail text fit a one-line job field (JobMeta, checked by
// Spool.Enqueue): control characters (a tab becomes a blank) and invalid
// UTF-8 are dropped, and it is cut to 998 bytes (RFC 5322 2.1.1) at a
// character boundary. A message whose Message-ID holds control characters
// or is longer than that is called like any other (issue 12: it used to
// fail Enqueue on every retry).
func cleanField(s string) string {
	var b strings.Builder
	for _, r := range s {
		switch {
		case r == '\t':
			r = ' '
		case r < 0x20 || r == 0x7f || r == utf8.RuneError:
			continue
		}
		if b.Len()+utf8.RuneLen(r) > 998 {
			break
		}
		b.WriteRune(r)
	}
	return b.String()
}

// unplayable is the refusal of a message whose audio cannot be played.
func unplayable(text, reason string) *RejectError {
	return &RejectError{Code: 554, Enhanced: "5.6.1", Text: text, Reason: reason}
}

// decode turns the voice into 8 kHz PCM16LE in an unlinked temporary file
// and counts the samples. It stops as soon as the audio passes
// g.maxSamples (a 552 5.3.4 refusal) or ctx ends (ctx's error), checking
// both every copy buffer, so neither the time nor the temporary file
// grows with what the message claims.
func (g *Gateway) decode(ctx context.Context, v *Voice) (*os.File, int64, error) {
	src, err := v.Open()
	if err != nil {
		return nil, 0, fmt.Errorf("telephony: hand-off: part %s: %w", v.Part, err)
	}
	rd, err := codec.NewReader(src, v.Format)
	if err != nil && ctx.Err() != nil {
		return nil, 0, fmt.Errorf("telephony: hand-off: part %s: %w", v.Part, ctx.Err())
	}
	if err != nil {
		return nil, 0, unplayable("audio of this message cannot be played", fmt.Sprintf("part %s: %v", v.Part, err))
	}
	f, err := os.CreateTemp(g.tempDir, "vpim-pcm-*")
	if err != nil {
		return nil, 0, fmt.Errorf("telephony: hand-off: %w", err)
	}
	_ = os.Remove(f.Name())
	n, err := copyAudio(ctx, f, rd, 2*g.maxSamples)
	if err != nil {
		f.Close()
		if errors.Is(err, errAudioTooLong) {
			return nil, 0, &RejectError{Code: 552, Enhanced: "5.3.4", Text: fmt.Sprintf("voice message too long to play by telephone (the limit is %v)", g.maxAudio),
				Reason: fmt.Sprintf("part %s: more than %v of audio", v.Part, g.maxAudio)}
		}
		if ctx.Err() != nil {
			return nil, 0, fmt.Errorf("telephony: hand-off: decode part %s: %w", v.Part, ctx.Err())
		}
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

// errAudioTooLong ends copyAudio at its limit.
var errAudioTooLong = errors.New("telephony: audio longer than the limit")

// copyAudio copies decoded PCM from r to w, up to max bytes: one byte more
// is errAudioTooLong. It checks ctx before every read of at most 128 KiB
// (8 s of audio).
func copyAudio(ctx context.Context, w io.Writer, r io.Reader, max int64) (int64, error) {
	buf := make([]byte, 128<<10)
	var total int64
	for {
		if err := ctx.Err(); err != nil {
			return total, err
		}
		n, err := r.Read(buf)
		if total+int64(n) > max {
			return total, errAudioTooLong
		}
		if n > 0 {
			if _, werr := w.Write(buf[:n]); werr != nil {
				return total, werr
			}
			total += int64(n)
		}
		if err == io.EOF {
			return total, nil
		}
		if err != nil {
			return total, err
		}
	}
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
