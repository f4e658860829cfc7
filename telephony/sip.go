package telephony

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/emiago/diago"
	"github.com/emiago/diago/media"
	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"
	"github.com/icholy/digest"

	"github.com/vpim-milter/vpim-milter/codec"
)

// Lead-in and tail of silence around the message: the far end's jitter
// buffer swallows the first and last frames (NOTES §4).
const (
	sipLeadIn = 200 * time.Millisecond
	sipTail   = 500 * time.Millisecond
)

// SIPBackend places calls directly over SIP with diago: INVITE to the trunk
// with the number as user part, PCMU/PCMA (+ telephone-event for DTMF),
// playback of the message with 200 ms lead-in and 500 ms tail, optional
// "press 1 to replay", then BYE. It listens on SIPOptions.Listen (UDP) to
// receive BYE and rejects inbound calls with 403. With SIPOptions.Username
// and Password it answers a 401/407 challenge to the INVITE (digest).
type SIPBackend struct {
	log *slog.Logger

	mu     sync.Mutex
	opts   SIPOptions // Reconfigure replaces them; a call takes a copy
	trunk  sip.Uri
	dg     *diago.Diago
	ua     *sipgo.UserAgent
	cancel context.CancelFunc
}

// NewSIPBackend checks opts (defaults applied) and returns the back-end; the
// SIP stack starts with the first call.
func NewSIPBackend(opts SIPOptions, log *slog.Logger) (*SIPBackend, error) {
	opts = Options{SIP: opts}.WithDefaults().SIP
	trunk, err := parseTrunk(opts.Trunk)
	if err != nil {
		return nil, err
	}
	if err := checkSIPCredentials(opts.Username, opts.Password); err != nil {
		return nil, fmt.Errorf("telephony: sip: username: %w", err)
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &SIPBackend{opts: opts, log: log, trunk: trunk}, nil
}

// checkSIPCredentials checks a digest user name and password: a password
// needs a user name, and the user name goes into the quoted-string
// username="..." of Authorization (RFC 3261 §22.4, §25.1), which the digest
// library writes without escaping.
func checkSIPCredentials(username, password string) error {
	if password != "" && username == "" {
		return errors.New("required when a password is set (hint: the digest user name the trunk has for us)")
	}
	if strings.ContainsFunc(username, func(r rune) bool { return r < 0x20 || r == 0x7f || r == '"' || r == '\\' }) {
		return fmt.Errorf("%q contains a quote, backslash or control character", username)
	}
	return nil
}

// Reconfigure replaces the settings calls use from now on (a
// configuration reload): trunk, caller ID, ring timeout, replays and the
// digest credentials (the password file is read again on reload). Calls in
// progress keep the old ones. The SIP stack's address and codecs cannot
// change while it runs: a change there is an error, and so are invalid
// settings; either way nothing changes.
func (s *SIPBackend) Reconfigure(opts SIPOptions) error {
	opts = Options{SIP: opts}.WithDefaults().SIP
	trunk, err := parseTrunk(opts.Trunk)
	if err != nil {
		return err
	}
	if err := checkSIPCredentials(opts.Username, opts.Password); err != nil {
		return fmt.Errorf("telephony: sip: username: %w", err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if opts.Listen != s.opts.Listen || strings.Join(opts.Codecs, ",") != strings.Join(s.opts.Codecs, ",") {
		return errors.New("telephony: sip: listen address and codecs cannot change while the SIP stack runs")
	}
	s.opts, s.trunk = opts, trunk
	return nil
}

// settings returns a copy of the settings for one call.
func (s *SIPBackend) settings() (SIPOptions, sip.Uri) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.opts, s.trunk
}

// parseTrunk parses "sip:host[:port]" (a user part, if any, is replaced).
func parseTrunk(s string) (sip.Uri, error) {
	if s == "" {
		return sip.Uri{}, errNoTrunk
	}
	var u sip.Uri
	if err := sip.ParseUri(s, &u); err != nil {
		return sip.Uri{}, fmt.Errorf("telephony: sip: trunk %q: %w", s, err)
	}
	if u.Host == "" {
		return sip.Uri{}, fmt.Errorf("telephony: sip: trunk %q has no host", s)
	}
	return u, nil
}

func (s *SIPBackend) start() (*diago.Diago, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.dg != nil {
		return s.dg, nil
	}
	host, portStr, err := net.SplitHostPort(s.opts.Listen)
	if err != nil {
		return nil, fmt.Errorf("telephony: sip: listen: %w", err)
	}
	port, err := strconv.Atoi(portStr)
	if err != nil {
		return nil, fmt.Errorf("telephony: sip: listen port: %w", err)
	}
	var codecs []media.Codec
	for _, c := range s.opts.Codecs {
		switch c {
		case "PCMU":
			codecs = append(codecs, media.CodecAudioUlaw)
		case "PCMA":
			codecs = append(codecs, media.CodecAudioAlaw)
		}
	}
	codecs = append(codecs, media.CodecTelephoneEvent8000)
	ua, err := sipgo.NewUA(sipgo.WithUserAgent("vpim-milter"))
	if err != nil {
		return nil, fmt.Errorf("telephony: sip: %w", err)
	}
	dg := diago.NewDiago(ua,
		diago.WithTransport(diago.Transport{Transport: "udp", BindHost: host, BindPort: port}),
		diago.WithMediaConfig(diago.MediaConfig{Codecs: codecs}),
		diago.WithLogger(s.log.With("component", "diago")),
	)
	ctx, cancel := context.WithCancel(context.Background())
	err = dg.ServeBackground(ctx, func(d *diago.DialogServerSession) {
		_ = d.Respond(sip.StatusForbidden, "Forbidden", nil) // no inbound calls
	})
	if err != nil {
		cancel()
		ua.Close()
		return nil, fmt.Errorf("telephony: sip: serve: %w", err)
	}
	// sipgo signals "ready" before the UDP conn is in its pool; an INVITE
	// sent at once can fail (NOTES §4).
	time.Sleep(100 * time.Millisecond)
	s.dg, s.ua, s.cancel = dg, ua, cancel
	return dg, nil
}

// Close stops the SIP stack.
func (s *SIPBackend) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.dg == nil {
		return nil
	}
	s.cancel()
	err := s.ua.Close()
	s.dg, s.ua = nil, nil
	return err
}

var errRingTimeout = errors.New("telephony: sip: ring timeout")

// Deliver places the call for job.
func (s *SIPBackend) Deliver(ctx context.Context, job *Job) error {
	number := normalizeNumber(job.Meta.Number)
	if !isDialable(number) {
		return &DeliveryError{Outcome: OutcomePermFailure, Status: "5.1.3", Diagnostic: "number not dialable"}
	}
	// Check the audio before dialling: diago cannot resample (NOTES §4).
	if f, _, err := job.OpenAudio(); err != nil {
		return err
	} else {
		f.Close()
	}
	dg, err := s.start()
	if err != nil {
		return err
	}
	o, trunk := s.settings()
	uri := trunk
	uri.User = number
	uri.UriParams = nil
	uri.Headers = nil
	d, err := dg.NewDialog(uri, diago.NewDialogOptions{})
	if err != nil {
		return fmt.Errorf("telephony: sip: %w", err)
	}
	defer d.Close()

	// Ring timeout and shutdown: a normal cancel sends CANCEL, which needs a
	// provisional response; without one, force the exit so we do not wait
	// for Timer B (NOTES §4).
	var provisional atomic.Bool
	ringCtx, cancel := context.WithCancelCause(context.Background())
	defer cancel(nil)
	stopCancel := func(cause error) {
		if provisional.Load() {
			cancel(cause)
		} else {
			cancel(sipgo.WaitAnswerForceCancelErr)
		}
	}
	timer := time.AfterFunc(o.RingTimeout, func() { stopCancel(errRingTimeout) })
	stopAfter := context.AfterFunc(ctx, func() { stopCancel(context.Cause(ctx)) })
	username, password := o.Username, o.Password
	var challenge *sip.Response // the last 401/407; OnResponse runs in d.Invite
	opts := diago.InviteClientOptions{
		OnResponse: func(r *sip.Response) error {
			switch {
			case r.IsProvisional():
				provisional.Store(true)
			case isChallenge(r.StatusCode):
				// sipgo answers with a new INVITE transaction; CANCEL must
				// again wait for a provisional response to it.
				provisional.Store(false)
				challenge = r
				if password != "" {
					return answerable(r)
				}
			}
			return nil
		},
		Username: username,
		Password: password,
	}
	opts.WithCaller("Voice Mail", o.CallerID, trunk.Host)
	err = d.Invite(ringCtx, opts)
	timer.Stop()
	stopAfter()
	if err != nil {
		var er *sipgo.ErrDialogResponse
		switch {
		case errors.Is(err, errUnanswerableChallenge):
			return s.authFailure(job, challenge, "unsupported digest challenge", username, err)
		case errors.As(err, &er) && isChallenge(er.Res.StatusCode):
			if password == "" {
				return s.authFailure(job, er.Res, "no credentials configured", username, err)
			}
			return s.authFailure(job, er.Res, "credentials rejected", username, err)
		case errors.As(err, &er):
			return SIPStatusError(er.Res.StatusCode, er.Res.Reason)
		case ctx.Err() != nil:
			return ctx.Err()
		case ringCtx.Err() != nil:
			return &DeliveryError{Outcome: OutcomeNoAnswer, Status: "4.4.1", Diagnostic: "no answer (ring timeout)"}
		default:
			return &DeliveryError{Outcome: OutcomeTempFailure, Status: "4.4.2", Diagnostic: "no response from trunk", Err: err}
		}
	}
	if err := d.Ack(ctx); err != nil {
		return &DeliveryError{Outcome: OutcomeTempFailure, Status: "4.4.2", Diagnostic: "ack failed", Err: err}
	}
	defer func() {
		hctx, hcancel := context.WithTimeout(context.Background(), 3*time.Second)
		defer hcancel()
		_ = d.Hangup(hctx)
	}()
	return s.play(ctx, o, d, job)
}

// errUnanswerableChallenge: a 401/407 that sipgo cannot answer.
var errUnanswerableChallenge = errors.New("telephony: sip: unanswerable digest challenge")

// isChallenge reports whether code asks for authentication (RFC 3261 §22.2:
// 401 from the UAS, §22.3: 407 from a proxy).
func isChallenge(code int) bool {
	return code == sip.StatusUnauthorized || code == sip.StatusProxyAuthRequired
}

// answerable checks a challenge the way sipgo answers it (digest library
// github.com/icholy/digest: MD5, SHA-256, SHA-512-256 per RFC 8760, qop
// absent or "auth"; sipgo gives it no body, so "auth-int" alone would be
// answered wrongly). Otherwise sipgo fails with an error that looks like a
// transport problem and the job would be retried until it expires.
func answerable(r *sip.Response) error {
	name := "WWW-Authenticate"
	if r.StatusCode == sip.StatusProxyAuthRequired {
		name = "Proxy-Authenticate"
	}
	h := r.GetHeader(name)
	if h == nil {
		return fmt.Errorf("%w: no %s", errUnanswerableChallenge, name)
	}
	chal, err := digest.ParseChallenge(h.Value())
	if err != nil {
		return fmt.Errorf("%w: %w", errUnanswerableChallenge, err)
	}
	if !digest.CanDigest(chal) || len(chal.QOP) > 0 && !chal.SupportsQOP("auth") {
		return fmt.Errorf("%w: algorithm %q, qop %q", errUnanswerableChallenge, chal.Algorithm, strings.Join(chal.QOP, ","))
	}
	return nil
}

// authFailure is the permanent failure for a challenge left unanswered
// (SIPStatusError: 5.7.0). The Diagnostic keeps the trunk's status line and
// adds why, in words fit for the sender's DSN; the operator's log line
// names the user name, never the password.
func (s *SIPBackend) authFailure(job *Job, r *sip.Response, why, username string, err error) *DeliveryError {
	de := SIPStatusError(r.StatusCode, r.Reason)
	de.Diagnostic = sanitizeDiagnostic(fmt.Sprintf("%s (%s)", de.Diagnostic, why))
	de.Err = err
	s.log.Warn("sip: trunk authentication failed", "job", job.ID, "code", r.StatusCode, "why", why, "username", username, "error", err)
	return de
}

// play streams the message (and replays it on DTMF 1).
func (s *SIPBackend) play(ctx context.Context, o SIPOptions, d *diago.DialogClientSession, job *Job) error {
	pb, err := d.PlaybackCreate()
	if err != nil {
		return &DeliveryError{Outcome: OutcomeTempFailure, Status: "4.4.2", Diagnostic: "no media", Err: err}
	}
	replay := make(chan struct{}, 1)
	if o.Replay {
		if r, err := d.AudioReaderDTMF(); err == nil {
			go func() {
				_ = r.Listen(func(dtmf rune) error {
					if dtmf == '1' {
						select {
						case replay <- struct{}{}:
						default:
						}
					}
					return nil
				}, 0)
			}()
		}
	}
	for plays := 1; ; plays++ {
		f, samples, err := job.OpenAudio()
		if err != nil {
			return err
		}
		// Playback reads 20 ms at a time: when ctx ends (attempt_timeout,
		// shutdown) the next read fails and the call is hung up at once,
		// however long the message is.
		r := ctxReader{ctx: ctx, r: io.MultiReader(
			io.LimitReader(zeroReader{}, int64(sipLeadIn/time.Millisecond)*codec.Rate/1000*2),
			io.LimitReader(f, samples*2),
			io.LimitReader(zeroReader{}, int64(sipTail/time.Millisecond)*codec.Rate/1000*2),
		)}
		_, err = pb.Play(r, "audio/pcm")
		f.Close()
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			// Remote hang-up during playback: not delivered in full.
			return &DeliveryError{Outcome: OutcomeTempFailure, Status: "4.4.2", Diagnostic: "call ended during playback", Err: err}
		}
		if !o.Replay || plays > o.MaxReplays {
			return nil
		}
		select {
		case <-replay:
			s.log.Debug("replay requested", "job", job.ID)
		case <-time.After(o.ReplayWait):
			return nil
		case <-d.Context().Done():
			return nil // played in full, then the callee hung up
		case <-ctx.Done():
			return nil
		}
	}
}

// ctxReader fails its reads with ctx's error once ctx has ended.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}

// zeroReader yields silence (PCM16 zeros).
type zeroReader struct{}

func (zeroReader) Read(p []byte) (int, error) {
	clear(p)
	return len(p), nil
}
