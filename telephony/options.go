package telephony

import (
	"fmt"
	"net"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/vpim-milter/vpim-milter/internal/optfield"
)

// Back-end names accepted in Options.Backend (the [telephony] "backend" key);
// Backends lists them.
const (
	BackendSpool    = "spool"    // jobs wait in the spool for an external bridge; no worker runs
	BackendSIP      = "sip"      // calls placed directly over SIP (diago)
	BackendAsterisk = "asterisk" // Asterisk call files (pbx_spool)
	BackendExec     = "exec"     // an external command per job
)

// Backends lists the values of Options.Backend.
func Backends() []string { return []string{BackendSpool, BackendSIP, BackendAsterisk, BackendExec} }

// SIPCodecs lists the values of SIPOptions.Codecs.
func SIPCodecs() []string { return []string{"PCMU", "PCMA"} }

// FieldError is one invalid option, named by its field path in Options
// ("Backend", "SIP.Trunk", "OutdialAllow[1]"). Options.Validate returns
// them joined.
type FieldError = optfield.Error

// KeepForever as Options.KeepDone or Options.KeepFailed never prunes that
// directory. It is the longest time.Duration, so zero can keep meaning "the
// default" as for every other option.
const KeepForever time.Duration = 1<<63 - 1

// Options configures the telephony bridge: the gateway the milter hands
// voice-bound mail to, and the worker that places the calls. Only cmd knows
// TOML; it fills this struct and calls Validate. WithDefaults replaces zero
// values with the documented defaults (New and NewGateway apply it).
type Options struct {
	// SpoolDir is the spool root (telephony.spool_dir). Required.
	SpoolDir string
	// Backend is one of "spool" (default), "sip", "asterisk", "exec".
	Backend string
	// SIP configures the "sip" back-end.
	SIP SIPOptions
	// Asterisk configures the "asterisk" back-end.
	Asterisk AsteriskOptions
	// Exec configures the "exec" back-end.
	Exec ExecOptions
	// Retry is the delay before attempt n+1 after the n-th temporary failure;
	// the last entry repeats until Expire. Default 1m, 5m, 15m, 30m, 1h.
	Retry []time.Duration
	// Expire is how long after enqueueing a job may still be tried; after
	// that a temporary failure becomes final (Action: failed). Default 24h.
	Expire time.Duration
	// Concurrency bounds the calls in progress. Default 4.
	Concurrency int
	// Poll is how often the worker rescans the spool for due jobs. Default 1s.
	Poll time.Duration
	// AttemptTimeout bounds one delivery attempt (ring + playback). Default 10m.
	AttemptTimeout time.Duration
	// KeepDone is how long a delivered job stays in done/ after it was filed
	// there; the worker then removes it (see Spool.Prune). Zero means the
	// default, 7 days (168h); KeepForever keeps jobs forever. In the
	// configuration file (telephony.keep_done) "0s" means KeepForever.
	// Negative is invalid.
	KeepDone time.Duration
	// KeepFailed is the same for failed/ (permanent failures, expired and
	// damaged jobs). Zero means the default, 30 days (720h); KeepForever
	// keeps them forever.
	KeepFailed time.Duration
	// HomeCountry is the caller's country code with "+", e.g. "+1". Numbers
	// written without "+" are normalised with its dialling rules
	// (international and trunk prefixes, see normalizeDial) before any
	// check; numbers outside it are international and denied unless
	// allowed. Empty: every "+" number counts as international, and
	// numbers without "+" are only extensions.
	HomeCountry string
	// OutdialAllow lists number prefixes that may be dialled, matched on
	// the normalised number: "+" patterns match numbers in "+" form,
	// patterns without "+" only local numbers (extensions, short numbers).
	// Empty: any national number that is not denied.
	OutdialAllow []string
	// OutdialDeny lists number prefixes that are never dialled; deny wins.
	OutdialDeny []string
	// AllowedSenders lists envelope senders allowed to use the gateway
	// (RFC 3804 §5): "user@domain", "@domain" or "domain", or "*" for anyone.
	// On its own (no AllowedLogins, no TrustedNetworks) it decides alone,
	// and any SMTP client can forge a MAIL FROM: a weak check. With either
	// of those set it further restricts the envelope sender of the
	// authorised clients. Empty, with neither set: nobody may use the
	// gateway.
	AllowedSenders []string
	// AllowedLogins lists the SMTP AUTH logins ({auth_authen}, sent by the
	// MTA) whose clients may use the gateway: "name", "@domain" (a login
	// ending in "@domain") or "*" (any authenticated client). Case is
	// ignored. With AllowedLogins or TrustedNetworks set, AllowedSenders
	// no longer admits anyone on its own (see Policy.CheckCaller).
	AllowedLogins []string
	// TrustedNetworks lists the client networks ({client_addr}) whose
	// clients may use the gateway without a login: CIDR prefixes
	// ("192.0.2.0/24", "2001:db8::/32") or single addresses.
	TrustedNetworks []string
	// MaxCallsPerMessage caps the distinct numbers one message may call;
	// recipients beyond it are refused at RCPT with 452 4.5.3 (RFC 5321
	// 4.5.3.1.10: the client sends them in a later transaction, where the
	// rate limits apply). Spellings of a number already admitted do not
	// count. Default 5.
	MaxCallsPerMessage int
	// RateLimit limits the calls per sender and per number over time.
	RateLimit RateLimitOptions
	// DSN configures delivery status notifications.
	DSN DSNOptions
	// TempDir is where the gateway decodes a message's voice before it
	// writes the jobs ("" = os.TempDir()). cmd sets it from milter.temp_dir.
	TempDir string
	// MaxAudio is the longest voice message the gateway takes: longer
	// audio is refused at end of message (552 5.3.4) as soon as the
	// decoder passes the limit. Each job holds 16 kB of audio per second
	// (8 kHz PCM16), so it also bounds the size of a job: 4.8 MB at the
	// default of 5 minutes. Keep it shorter than AttemptTimeout minus the
	// ring time: a call that AttemptTimeout cuts while it plays a message
	// longer than AttemptTimeout fails for good (5.3.4) instead of being
	// retried.
	MaxAudio time.Duration
	// CodecMaxDuration is the codec's limit (codec.max_duration; cmd sets
	// it): the gateway refuses audio longer than the shorter of it and
	// MaxAudio. Zero: MaxAudio alone.
	CodecMaxDuration time.Duration
	// MaxSpoolBytes bounds the bytes of all jobs in the spool, in every
	// state (being written, staged, queued, in progress, done and failed
	// until pruned). A hand-off that would go past it is tempfailed (452
	// 4.3.1) so that the MTA keeps the mail until the worker has called
	// or pruned enough. Default 4 GiB.
	MaxSpoolBytes int64
	// DrainTimeout is how long the worker lets calls in progress go on
	// after its context ends (SIGTERM) before it cuts them; a cut call
	// counts as an attempt (OutcomeInterrupted) and is retried. cmd sets
	// it from milter.drain_timeout. Default 30 s.
	DrainTimeout time.Duration
	// Metrics, if not nil, counts what the worker does (see Metrics). It is
	// not a configuration key: cmd sets it when metrics.listen is on.
	Metrics *Metrics
}

// RateLimitOptions are the call rate limits ([telephony] rate_limit),
// counted on calls accepted into the spool; a recipient over a limit is
// refused at RCPT with 450 4.7.1 (temporary: the client retries later,
// when the window has moved on).
type RateLimitOptions struct {
	// PerSender limits the calls of one sender: its SMTP AUTH login when
	// it has one, else its client address ({client_addr}: the envelope
	// sender of a client without a login can be forged at will), else its
	// envelope sender. Default 20 per hour.
	PerSender Rate
	// PerNumber limits the calls to one normalised number, whoever asks.
	// Default 3 per hour.
	PerNumber Rate
}

// SIPOptions configures the SIP back-end ([telephony.sip]).
type SIPOptions struct {
	// Trunk is where INVITEs go; the number becomes the user part. Default
	// "sip:127.0.0.1:5080".
	Trunk string
	// Listen is our SIP address (UDP), default "127.0.0.1:5062".
	Listen string
	// Codecs lists the offered codecs in order: "PCMU", "PCMA". Default both.
	Codecs []string
	// CallerID is the user part of our From header. Default "voicemail".
	CallerID string
	// RingTimeout is how long a call may ring before it counts as no answer.
	// Default 30s.
	RingTimeout time.Duration
	// Replay enables "press 1 to replay" after the message.
	Replay bool
	// ReplayWait is how long to wait for the digit after playback. Default 5s.
	ReplayWait time.Duration
	// MaxReplays bounds replays per call. Default 3.
	MaxReplays int
	// Username and Password answer a 401 or 407 challenge to the INVITE
	// with digest authentication (RFC 3261 §22, MD5; RFC 8760 SHA-256 and
	// SHA-512-256). Username is the digest user name, which the trunk may
	// require to differ from CallerID (the From user). Without a Password
	// no credentials are offered. A challenge that still comes back, or
	// that cannot be answered, fails the call permanently (5.7.0). A
	// Password needs a Username. The password is never logged.
	Username string
	Password string
}

// AsteriskOptions configures the Asterisk call-file back-end.
type AsteriskOptions struct {
	// OutgoingDir is Asterisk's outgoing spool, default
	// /var/spool/asterisk/outgoing.
	OutgoingDir string
	// TmpDir is where call files are written before the rename; it must be on
	// the same file system. Default: "tmp" beside OutgoingDir.
	TmpDir string
	// DoneDir is outgoing_done, where Asterisk archives finished call files.
	// Default: "outgoing_done" beside OutgoingDir.
	DoneDir string
	// Channel is the dial string template; "{number}" is replaced by the
	// sanitised number. Default "PJSIP/{number}@trunk".
	Channel string
	// Context, if set, runs the call in this dialplan context (extension s,
	// priority 1) with VPIM_FILE set; otherwise Application Playback is used.
	Context string
	// CallerID for the call file, default "Voice Mail <voicemail>".
	CallerID string
	// WaitTime is the ring time. Default 45s.
	WaitTime time.Duration
	// ResultTimeout is how long to wait for the archived result. Default 10m.
	ResultTimeout time.Duration
}

// ExecOptions configures the exec back-end.
type ExecOptions struct {
	// Command is the program (absolute path); it is run without a shell with
	// Args followed by the job directory.
	Command string
	// Args are fixed arguments placed before the job directory.
	Args []string
}

// DSNOptions configures how delivery status notifications are submitted.
type DSNOptions struct {
	// SMTPAddr is the local MTA, default "127.0.0.1:25".
	SMTPAddr string
	// ReportingMTA is our host name in Reporting-MTA and HELO. Default
	// "localhost".
	ReportingMTA string
	// From is the From: address of DSNs; "" is "MAILER-DAEMON@<ReportingMTA>".
	From string
	// Timeout bounds one SMTP submission. Default 30s.
	Timeout time.Duration
	// Disable turns DSNs off (they are still recorded in the job).
	Disable bool
	// DelayAfter is how long after enqueueing a job that is still being
	// retried its one "delayed" DSN (RFC 3464 §2.3.3) goes out, as an MTA's
	// delay warning (Postfix delay_warning_time): it is sent with the first
	// temporary failure at or after Created+DelayAfter that will be retried,
	// when NOTIFY contains DELAY or is absent (RFC 3461 §5.2.5). Zero means
	// the default, 4h; DelayNever sends none. In the configuration file
	// (dsn.delay_after) "0s" means DelayNever. Negative is invalid.
	DelayAfter time.Duration
}

// DelayNever as DSNOptions.DelayAfter sends no "delayed" DSNs. It is the
// longest time.Duration, so zero can keep meaning "the default" as for
// every other option (compare KeepForever).
const DelayNever time.Duration = 1<<63 - 1

// WithDefaults returns a copy of o with zero values replaced by defaults.
func (o Options) WithDefaults() Options {
	if o.Backend == "" {
		o.Backend = BackendSpool
	}
	if len(o.Retry) == 0 {
		o.Retry = []time.Duration{time.Minute, 5 * time.Minute, 15 * time.Minute, 30 * time.Minute, time.Hour}
	}
	if o.Expire == 0 {
		o.Expire = 24 * time.Hour
	}
	if o.Concurrency == 0 {
		o.Concurrency = 4
	}
	if o.Poll == 0 {
		o.Poll = time.Second
	}
	if o.AttemptTimeout == 0 {
		o.AttemptTimeout = 10 * time.Minute
	}
	if o.KeepDone == 0 {
		o.KeepDone = 7 * 24 * time.Hour
	}
	if o.KeepFailed == 0 {
		o.KeepFailed = 30 * 24 * time.Hour
	}
	if o.MaxCallsPerMessage == 0 {
		o.MaxCallsPerMessage = 5
	}
	if o.RateLimit.PerSender == (Rate{}) {
		o.RateLimit.PerSender = Rate{Count: 20, Per: time.Hour}
	}
	if o.RateLimit.PerNumber == (Rate{}) {
		o.RateLimit.PerNumber = Rate{Count: 3, Per: time.Hour}
	}
	if o.MaxAudio == 0 {
		o.MaxAudio = 5 * time.Minute
	}
	if o.MaxSpoolBytes == 0 {
		o.MaxSpoolBytes = 4 << 30
	}
	if o.DrainTimeout == 0 {
		o.DrainTimeout = 30 * time.Second
	}
	s := &o.SIP
	if s.Trunk == "" {
		s.Trunk = "sip:127.0.0.1:5080"
	}
	if s.Listen == "" {
		s.Listen = "127.0.0.1:5062"
	}
	if len(s.Codecs) == 0 {
		s.Codecs = []string{"PCMU", "PCMA"}
	}
	if s.CallerID == "" {
		s.CallerID = "voicemail"
	}
	if s.RingTimeout == 0 {
		s.RingTimeout = 30 * time.Second
	}
	if s.ReplayWait == 0 {
		s.ReplayWait = 5 * time.Second
	}
	if s.MaxReplays == 0 {
		s.MaxReplays = 3
	}
	a := &o.Asterisk
	if a.OutgoingDir == "" {
		a.OutgoingDir = "/var/spool/asterisk/outgoing"
	}
	if a.TmpDir == "" {
		a.TmpDir = filepath.Join(filepath.Dir(filepath.Clean(a.OutgoingDir)), "tmp")
	}
	if a.DoneDir == "" {
		a.DoneDir = filepath.Join(filepath.Dir(filepath.Clean(a.OutgoingDir)), "outgoing_done")
	}
	if a.Channel == "" {
		a.Channel = "PJSIP/{number}@trunk"
	}
	if a.CallerID == "" {
		a.CallerID = "Voice Mail <voicemail>"
	}
	if a.WaitTime == 0 {
		a.WaitTime = 45 * time.Second
	}
	if a.ResultTimeout == 0 {
		a.ResultTimeout = 10 * time.Minute
	}
	d := &o.DSN
	if d.SMTPAddr == "" {
		d.SMTPAddr = "127.0.0.1:25"
	}
	if d.ReportingMTA == "" {
		d.ReportingMTA = "localhost"
	}
	if d.Timeout == 0 {
		d.Timeout = 30 * time.Second
	}
	if d.DelayAfter == 0 {
		d.DelayAfter = 4 * time.Hour
	}
	return o
}

// Validate reports every invalid option at once as *FieldError values
// joined with errors.Join, each with its field path and a hint. It checks o
// as the bridge uses it: call it on WithDefaults() for zero values to mean
// the defaults (New does). The back-end's own section is checked only for
// the back-end in use.
func (o Options) Validate() error {
	var errs optfield.List
	if o.SpoolDir == "" {
		errs.Add("SpoolDir", "required (hint: /var/lib/vpim-milter/spool)")
	} else if !filepath.IsAbs(o.SpoolDir) {
		errs.Add("SpoolDir", "%q must be an absolute path", o.SpoolDir)
	}
	switch o.Backend {
	case BackendSpool:
	case BackendSIP:
		o.SIP.validate(&errs)
	case BackendAsterisk:
		for _, d := range []struct{ field, dir string }{{"OutgoingDir", o.Asterisk.OutgoingDir}, {"TmpDir", o.Asterisk.TmpDir}, {"DoneDir", o.Asterisk.DoneDir}} {
			if !filepath.IsAbs(d.dir) {
				errs.Add("Asterisk."+d.field, "%q must be an absolute path", d.dir)
			}
		}
		if !strings.Contains(o.Asterisk.Channel, "{number}") {
			errs.Add("Asterisk.Channel", "%q lacks {number} (hint: \"PJSIP/{number}@trunk\")", o.Asterisk.Channel)
		}
		if ch := strings.ReplaceAll(o.Asterisk.Channel, "{number}", "N"); sanitizeCallFileValue(ch) != ch {
			errs.Add("Asterisk.Channel", "contains characters not allowed in a call file")
		}
		if o.Asterisk.Context != "" && !isToken(o.Asterisk.Context) {
			errs.Add("Asterisk.Context", "%q must be a plain token", o.Asterisk.Context)
		}
		optfield.Positive(&errs, "Asterisk.WaitTime", o.Asterisk.WaitTime, `"45s"`)
		optfield.Positive(&errs, "Asterisk.ResultTimeout", o.Asterisk.ResultTimeout, `"10m"`)
	case BackendExec:
		if o.Exec.Command == "" {
			errs.Add("Exec.Command", "required for the exec back-end")
		} else if !filepath.IsAbs(o.Exec.Command) {
			errs.Add("Exec.Command", "%q must be an absolute path (no shell, no PATH lookup)", o.Exec.Command)
		} else if _, err := exec.LookPath(o.Exec.Command); err != nil {
			errs.Add("Exec.Command", "%v", err)
		}
	default:
		errs.Add("Backend", "unknown back-end %q (hint: %s)", o.Backend, strings.Join(Backends(), ", "))
	}
	if len(o.Retry) == 0 {
		errs.Add("Retry", "needs at least one wait (hint: [\"1m\", \"5m\"])")
	}
	for i, d := range o.Retry {
		if d <= 0 {
			errs.Add(fmt.Sprintf("Retry[%d]", i), "must be positive, got %v", d)
		}
	}
	optfield.Positive(&errs, "Expire", o.Expire, `"24h"`)
	optfield.Positive(&errs, "Concurrency", o.Concurrency, "4")
	optfield.Positive(&errs, "Poll", o.Poll, `"1s"`)
	optfield.Positive(&errs, "AttemptTimeout", o.AttemptTimeout, `"10m"`)
	optfield.Positive(&errs, "MaxAudio", o.MaxAudio, `"5m"`)
	if o.CodecMaxDuration < 0 {
		errs.Add("CodecMaxDuration", "must not be negative, got %v", o.CodecMaxDuration)
	}
	optfield.Positive(&errs, "MaxSpoolBytes", o.MaxSpoolBytes, `"4GiB"`)
	optfield.Positive(&errs, "DrainTimeout", o.DrainTimeout, `"30s"`)
	notNegative(&errs, "KeepDone", o.KeepDone, `"168h" is a week`)
	notNegative(&errs, "KeepFailed", o.KeepFailed, `"720h" is 30 days`)
	if o.HomeCountry != "" {
		if n := normalizeNumber(o.HomeCountry); !strings.HasPrefix(n, "+") || len(n) < 2 || len(n) > 4 || !isDialable(n) {
			errs.Add("HomeCountry", "%q must be \"+\" and 1-3 digits", o.HomeCountry)
		}
	}
	for i, p := range o.OutdialAllow {
		if !validPattern(p) {
			errs.Add(fmt.Sprintf("OutdialAllow[%d]", i), "%q is not a number prefix (hint: \"+1613\")", p)
		}
	}
	for i, p := range o.OutdialDeny {
		if !validPattern(p) {
			errs.Add(fmt.Sprintf("OutdialDeny[%d]", i), "%q is not a number prefix (hint: \"+1900\")", p)
		}
	}
	for i, s := range o.AllowedSenders {
		if s == "" || strings.ContainsAny(s, " \t\r\n<>") {
			errs.Add(fmt.Sprintf("AllowedSenders[%d]", i), "%q is not an address, @domain or \"*\"", s)
		}
	}
	for i, s := range o.AllowedLogins {
		if strings.TrimSpace(s) == "" || strings.IndexFunc(s, func(r rune) bool { return r <= ' ' || r == 0x7f }) >= 0 {
			errs.Add(fmt.Sprintf("AllowedLogins[%d]", i), "%q is not a login name, @domain or \"*\"", s)
		}
	}
	for i, s := range o.TrustedNetworks {
		if _, err := parseNetwork(s); err != nil {
			errs.Add(fmt.Sprintf("TrustedNetworks[%d]", i), "%v", err)
		}
	}
	optfield.Positive(&errs, "MaxCallsPerMessage", o.MaxCallsPerMessage, "5")
	for _, r := range []struct {
		field string
		rate  Rate
	}{{"RateLimit.PerSender", o.RateLimit.PerSender}, {"RateLimit.PerNumber", o.RateLimit.PerNumber}} {
		if !r.rate.Off() && (r.rate.Count < 1 || r.rate.Per < time.Second) {
			errs.Add(r.field, "%d calls per %v is not a rate (hint: \"20/1h\", or \"off\")", r.rate.Count, r.rate.Per)
		}
	}
	if _, _, err := net.SplitHostPort(o.DSN.SMTPAddr); err != nil {
		errs.Add("DSN.SMTPAddr", "%v (hint: \"127.0.0.1:25\")", err)
	}
	if !isToken(strings.ReplaceAll(o.DSN.ReportingMTA, ".", "")) {
		errs.Add("DSN.ReportingMTA", "%q is not a host name", o.DSN.ReportingMTA)
	}
	if strings.ContainsAny(o.DSN.From, "\r\n<>") {
		errs.Add("DSN.From", "%q must be a bare address", o.DSN.From)
	}
	optfield.Positive(&errs, "DSN.Timeout", o.DSN.Timeout, `"30s"`)
	notNegative(&errs, "DSN.DelayAfter", o.DSN.DelayAfter, `"4h"`)
	return errs.Err()
}

// notNegative checks a duration whose longest value means never
// (KeepForever, DelayNever): the file's "0s" becomes that, so what is left
// to report is a negative one (and zero from a caller that skipped
// WithDefaults).
func notNegative(errs *optfield.List, field string, d time.Duration, hint string) {
	switch {
	case d < 0:
		errs.Add(field, "must not be negative, got %v (hint: %s)", d, hint)
	case d == 0:
		errs.Add(field, "must be positive (hint: %s)", hint)
	}
}

// validate checks the SIP back-end's options.
func (s SIPOptions) validate(errs *optfield.List) {
	if _, err := parseTrunk(s.Trunk); err != nil {
		errs.Add("SIP.Trunk", "%v", err)
	}
	if _, _, err := net.SplitHostPort(s.Listen); err != nil {
		errs.Add("SIP.Listen", "%v (hint: \"127.0.0.1:5062\")", err)
	}
	if len(s.Codecs) == 0 {
		errs.Add("SIP.Codecs", "needs at least one codec (hint: %s)", strings.Join(SIPCodecs(), ", "))
	}
	for _, c := range s.Codecs {
		if c != "PCMU" && c != "PCMA" {
			errs.Add("SIP.Codecs", "unknown codec %q (hint: %s)", c, strings.Join(SIPCodecs(), ", "))
		}
	}
	if !isDialable(s.CallerID) && !isToken(s.CallerID) {
		errs.Add("SIP.CallerID", "%q must be digits or a plain token", s.CallerID)
	}
	optfield.Positive(errs, "SIP.RingTimeout", s.RingTimeout, `"30s"`)
	optfield.Positive(errs, "SIP.ReplayWait", s.ReplayWait, `"5s"`)
	optfield.Positive(errs, "SIP.MaxReplays", s.MaxReplays, "3; replay = false turns replays off")
	if err := checkSIPCredentials(s.Username, s.Password); err != nil {
		errs.Add("SIP.Username", "%v", err)
	}
}

// RestartRequired lists the fields in which o differs from the options a
// bridge runs with that Bridge.Reload cannot apply: the back-end and the
// spool; with a worker (any back-end but spool) its number of call slots;
// with the SIP back-end the SIP stack's address and codecs.
func (o Options) RestartRequired(running Options) []string {
	var out []string
	worker, sip := running.Backend != BackendSpool, running.Backend == BackendSIP
	for _, f := range []struct {
		field string
		same  bool
	}{
		{"Backend", o.Backend == running.Backend},
		{"SpoolDir", o.SpoolDir == running.SpoolDir},
		{"Concurrency", !worker || o.Concurrency == running.Concurrency},
		{"SIP.Listen", !sip || o.SIP.Listen == running.SIP.Listen},
		{"SIP.Codecs", !sip || strings.Join(o.SIP.Codecs, ",") == strings.Join(running.SIP.Codecs, ",")},
	} {
		if !f.same {
			out = append(out, f.field)
		}
	}
	return out
}

// isToken reports whether s is a non-empty run of letters, digits, '-', '_'.
func isToken(s string) bool {
	if s == "" {
		return false
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_') {
			return false
		}
	}
	return true
}
