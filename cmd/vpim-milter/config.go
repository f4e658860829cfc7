package main

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/BurntSushi/toml"

	"github.com/vpim-milter/vpim-milter/codec"
	"github.com/vpim-milter/vpim-milter/internal/promtext"
	"github.com/vpim-milter/vpim-milter/milter"
	"github.com/vpim-milter/vpim-milter/profile"
	"github.com/vpim-milter/vpim-milter/telephony"
)

// Config is the TOML configuration file. Every section belongs to one
// package; only this command knows TOML. A file overrides only the keys it
// sets; the rest keep the built-in defaults, which come from the packages'
// Options.WithDefaults (defaultConfig). options turns a Config into the
// packages' Options, configFrom turns them back, and optionKeys (keys.go)
// ties each Options field to its key.
type Config struct {
	Milter    MilterConfig    `toml:"milter"`
	Log       LogConfig       `toml:"log"`
	Profile   ProfileConfig   `toml:"profile"`
	Codec     CodecConfig     `toml:"codec"`
	Telephony TelephonyConfig `toml:"telephony"`
	DSN       DSNConfig       `toml:"dsn"`
	Metrics   MetricsConfig   `toml:"metrics"`
}

// MilterConfig is the [milter] section.
type MilterConfig struct {
	Listen         string   `toml:"listen"`          // unix:/path, inet:port@host, inet6:port@host, inet:host:port
	SocketMode     string   `toml:"socket_mode"`     // octal mode of a unix socket
	SocketGroup    string   `toml:"socket_group"`    // group of a unix socket ("" keeps the process group)
	ReadTimeout    duration `toml:"read_timeout"`    // longest wait for the MTA's next milter command
	WriteTimeout   duration `toml:"write_timeout"`   // longest wait writing to the MTA
	EvalTimeout    duration `toml:"eval_timeout"`    // evaluation budget at end of message
	DrainTimeout   duration `toml:"drain_timeout"`   // SIGTERM waits this long for open sessions
	BodyMaxMemory  byteSize `toml:"body_max_memory"` // body bytes kept in memory before a temp file
	BodyMaxSize    byteSize `toml:"body_max_size"`   // larger messages get oversize_action
	MaxHeaders     int      `toml:"max_headers"`     // more header fields get oversize_action
	MaxHeaderBytes byteSize `toml:"max_header_bytes"`
	TempDir        string   `toml:"temp_dir"`        // "" = $TMPDIR or /tmp
	ErrorAction    string   `toml:"error_action"`    // one of milter.ErrorActions
	OversizeAction string   `toml:"oversize_action"` // one of milter.OversizeActions
	// Resource bounds and the listener's exposure (issue 9).
	ProgressInterval             duration `toml:"progress_interval"`              // SMFIR_PROGRESS while the end of message works
	MaxSessions                  int      `toml:"max_sessions"`                   // open MTA connections at most
	BodyMemoryTotal              byteSize `toml:"body_memory_total"`              // body bytes in memory, all sessions together
	IdleTimeout                  duration `toml:"idle_timeout"`                   // silence outside a transaction
	AllowUnauthenticatedListener bool     `toml:"allow_unauthenticated_listener"` // TCP or a world-writable socket with a calling back-end
	// Rollout and audit (issue 13): README "Report-only mode", "Result stamp",
	// "Per-condition actions".
	Mode        string            `toml:"mode"`         // one of milter.Modes
	TargetModes map[string]string `toml:"target_modes"` // target (or "bridge") → mode
	Stamp       bool              `toml:"stamp"`        // VPIM-Check on every voice message
	AuthservID  string            `toml:"authserv_id"`  // the stamps' authserv-id; "" = the host name
	On          OnConfig          `toml:"on"`
}

// OnConfig is [milter.on]: what happens when the profile refuses a message on each
// condition (milter.OnOptions), one of milter.OnActions.
type OnConfig struct {
	PrivateToNonCapable string `toml:"private_to_non_capable"`
	PrivateForwarded    string `toml:"private_forwarded"`
	UnconvertibleAudio  string `toml:"unconvertible_audio"`
}

// LogConfig is the [log] section; --log-format and --log-level override it.
type LogConfig struct {
	Format string `toml:"format"` // one of logFormats
	Level  string `toml:"level"`  // debug | info | warn | error
}

// ProfileConfig is the [profile] section.
type ProfileConfig struct {
	DefaultTarget  string            `toml:"default_target"`  // one of profile.BodyTargets
	Targets        map[string]string `toml:"targets"`         // recipient domain → target
	PrivacyCapable []string          `toml:"privacy_capable"` // destinations that honour Sensitivity: Private
	VoiceDomains   []string          `toml:"voice_domains"`   // our voice-mail domains (non-mail-user@ → 550 5.1.1)
	IVMAudio       string            `toml:"ivm_audio"`       // one of profile.IVMAudioForms
	DesktopAudio   string            `toml:"desktop_audio"`   // one of profile.DesktopAudioForms
	MP3Bitrate     int               `toml:"mp3_bitrate"`     // kbit/s, one of codec.MP3Bitrates
	// SensitivityCode refuses Private mail that cannot stay private:
	// "5.6.0" (RFC 3801 4.2.13) or "5.3.3"; "" = 5.6.0, 5.3.3 for v1 input.
	SensitivityCode string `toml:"sensitivity_code"`
	MessageID       string `toml:"message_id"` // fix | keep (DIGEST 2.1)
	Hostname        string `toml:"hostname"`   // right-hand side of generated Message-IDs
	Quarantine      bool   `toml:"quarantine"` // quarantine voice mail with unrepairable MUST defects
	// MaxPartHeaderLines and MaxPartHeaderBytes bound the header of each
	// MIME part and embedded message; beyond them the message passes
	// unchanged, not interpreted (P-LIMIT).
	MaxPartHeaderLines int      `toml:"max_part_header_lines"`
	MaxPartHeaderBytes byteSize `toml:"max_part_header_bytes"`
}

// CodecConfig is the [codec] section.
type CodecConfig struct {
	MaxDuration duration `toml:"max_duration"` // longest audio part transcoded; longer parts pass unchanged with a finding
}

// TelephonyConfig is the [telephony] section.
type TelephonyConfig struct {
	GatewayDomains []string       `toml:"gateway_domains"` // VOICE=/VPIM=/AMIS= local parts here go to the bridge
	Backend        string         `toml:"backend"`         // one of telephony.Backends
	SpoolDir       string         `toml:"spool_dir"`
	OutdialAllow   []string       `toml:"outdial_allow"`
	OutdialDeny    []string       `toml:"outdial_deny"`
	AllowedSenders []string       `toml:"allowed_senders"` // addresses, @domain, or "*"
	HomeCountry    string         `toml:"home_country"`    // "+1": numbers outside it count as international
	Retry          []duration     `toml:"retry"`           // waits between attempts
	Expire         duration       `toml:"expire"`          // a job fails (DSN) after this long
	Concurrency    int            `toml:"concurrency"`     // calls at once
	AttemptTimeout duration       `toml:"attempt_timeout"` // one call attempt at most
	KeepDone       duration       `toml:"keep_done"`       // delivered jobs are removed from done/ after this long; "0s" keeps them
	KeepFailed     duration       `toml:"keep_failed"`     // likewise for failed/
	MaxAudio       duration       `toml:"max_audio"`       // longest voice message handed to the bridge
	MaxSpoolBytes  byteSize       `toml:"max_spool_bytes"` // the spool in all its states at most
	SIP            SIPConfig      `toml:"sip"`
	Asterisk       AsteriskConfig `toml:"asterisk"`
	Exec           ExecConfig     `toml:"exec"`

	// Who may dial and how much (README "Security"). allowed_senders
	// above is the envelope sender: forgeable.
	AllowedLogins      []string        `toml:"allowed_logins"`        // SMTP AUTH logins, @domain, or "*"
	TrustedNetworks    []string        `toml:"trusted_networks"`      // client networks that may dial without a login
	MaxCallsPerMessage int             `toml:"max_calls_per_message"` // distinct numbers one message may call
	RateLimit          RateLimitConfig `toml:"rate_limit"`
}

// RateLimitConfig is [telephony.rate_limit] (or the inline table
// rate_limit = { per_sender = "20/1h", per_number = "3/1h" }).
type RateLimitConfig struct {
	PerSender rateText `toml:"per_sender"` // "COUNT/DURATION" or "off"
	PerNumber rateText `toml:"per_number"`
}

// rateText is a telephony.Rate as the file writes it ("20/1h", "off").
type rateText string

// UnmarshalText checks the value as it is decoded, so a bad one is
// reported with its line and key (as for duration).
func (r *rateText) UnmarshalText(b []byte) error {
	v, err := telephony.ParseRate(string(b))
	if err != nil {
		return err
	}
	*r = rateText(v.String())
	return nil
}

// rate is the value as telephony.Rate; the zero Rate, which Validate
// refuses, if it does not parse (it always does after UnmarshalText).
func (r rateText) rate() telephony.Rate {
	v, _ := telephony.ParseRate(string(r))
	return v
}

// SIPConfig is the [telephony.sip] section.
type SIPConfig struct {
	Trunk       string   `toml:"trunk"`
	Listen      string   `toml:"listen"`
	Codecs      []string `toml:"codecs"`
	CallerID    string   `toml:"caller_id"`
	RingTimeout duration `toml:"ring_timeout"`
	Replay      bool     `toml:"replay"` // DTMF 1 replays the message
	ReplayWait  duration `toml:"replay_wait"`
	MaxReplays  int      `toml:"max_replays"`
	// Username is the digest user name for a trunk that challenges
	// INVITEs; the password is in PasswordFile, never in this file.
	Username     string `toml:"username"`
	PasswordFile string `toml:"password_file"` // absolute path; content minus trailing newlines
	// password is PasswordFile's content, read by loadConfig (at start
	// and on SIGHUP). Unexported: `vpim-milter config` never prints it.
	password string
}

// AsteriskConfig is the [telephony.asterisk] section.
type AsteriskConfig struct {
	OutgoingDir   string   `toml:"outgoing_dir"`
	TmpDir        string   `toml:"tmp_dir"`
	DoneDir       string   `toml:"done_dir"`
	Channel       string   `toml:"channel"`
	Context       string   `toml:"context"`
	CallerID      string   `toml:"caller_id"`
	WaitTime      duration `toml:"wait_time"`
	ResultTimeout duration `toml:"result_timeout"`
}

// ExecConfig is the [telephony.exec] section.
type ExecConfig struct {
	Command string   `toml:"command"`
	Args    []string `toml:"args"`
}

// DSNConfig is the [dsn] section.
type DSNConfig struct {
	SMTP         string   `toml:"smtp"`          // where DSNs are submitted, host:port
	ReportingMTA string   `toml:"reporting_mta"` // Reporting-MTA of the DSNs
	From         string   `toml:"from"`          // header From of the DSNs
	Timeout      duration `toml:"timeout"`
	Disable      bool     `toml:"disable"`
	DelayAfter   duration `toml:"delay_after"` // one "delayed" DSN after this long still retrying; "0s" sends none
}

// MetricsConfig is the [metrics] section.
type MetricsConfig struct {
	Listen string `toml:"listen"` // host:port for Prometheus; "" disables
}

// stateDir is $STATE_DIRECTORY (systemd) or ./vpim-state.
func stateDir() string {
	if d := os.Getenv("STATE_DIRECTORY"); d != "" {
		// systemd may pass several, colon-separated; the first is ours.
		d, _, _ = strings.Cut(d, ":")
		return d
	}
	return "vpim-state"
}

// logFormats lists the values of log.format.
func logFormats() []string { return []string{"text", "json"} }

// options is one configuration in the packages' terms: what the daemon and
// the offline commands are built from.
type options struct {
	milter    milter.Options
	profile   profile.Options
	codec     codec.Options
	telephony telephony.Options
	metrics   promtext.Options
}

// defaultOptions are the packages' defaults (WithDefaults) completed with
// what only the command knows: the machine's host name and the state
// directory.
func defaultOptions() options {
	host := hostname()
	spool, err := filepath.Abs(filepath.Join(stateDir(), "spool"))
	if err != nil {
		spool = filepath.Join(stateDir(), "spool")
	}
	return options{
		milter:    milter.Options{}.WithDefaults(),
		profile:   profile.Options{Hostname: host}.WithDefaults(),
		codec:     codec.Options{}.WithDefaults(),
		telephony: telephony.Options{SpoolDir: spool, DSN: telephony.DSNOptions{ReportingMTA: host}}.WithDefaults(),
		metrics:   promtext.Options{}.WithDefaults(),
	}
}

// defaultConfig is the built-in configuration (DESIGN.md).
func defaultConfig() Config { return configFrom(defaultOptions()) }

// configFrom renders o as a configuration file, the inverse of options.
func configFrom(o options) Config {
	m, p, t := o.milter, o.profile, o.telephony
	targets := make(map[string]string, len(p.Targets))
	for d, tg := range p.Targets {
		targets[d] = string(tg)
	}
	retry := make([]duration, len(t.Retry))
	for i, d := range t.Retry {
		retry[i] = duration(d)
	}
	targetModes := make(map[string]string, len(m.TargetModes))
	for tg, md := range m.TargetModes {
		targetModes[string(tg)] = string(md)
	}
	return Config{
		Milter: MilterConfig{Listen: m.Listen.Spec(), SocketMode: fmt.Sprintf("%04o", uint32(m.Socket.Mode)), SocketGroup: m.Socket.Group,
			ReadTimeout: duration(m.ReadTimeout), WriteTimeout: duration(m.WriteTimeout), EvalTimeout: duration(m.EvalTimeout),
			DrainTimeout: duration(m.DrainTimeout), BodyMaxMemory: byteSize(m.BodyMaxMemory), BodyMaxSize: byteSize(m.BodyMaxSize),
			MaxHeaders: m.MaxHeaders, MaxHeaderBytes: byteSize(m.MaxHeaderBytes), TempDir: m.TempDir,
			ErrorAction: string(m.ErrorAction), OversizeAction: string(m.OversizeAction),
			ProgressInterval: duration(m.ProgressInterval), MaxSessions: m.MaxSessions, BodyMemoryTotal: byteSize(m.BodyMemoryTotal),
			IdleTimeout: duration(m.IdleTimeout), AllowUnauthenticatedListener: m.AllowUnauthenticatedListener,
			Mode: string(m.Mode), TargetModes: targetModes, Stamp: !m.NoStamp, AuthservID: m.AuthservID,
			On: OnConfig{PrivateToNonCapable: string(m.On.PrivateToNonCapable), PrivateForwarded: string(m.On.PrivateForwarded),
				UnconvertibleAudio: string(m.On.UnconvertibleAudio)}},
		Log: LogConfig{Format: "text", Level: "info"},
		Profile: ProfileConfig{DefaultTarget: string(p.DefaultTarget), Targets: targets, PrivacyCapable: p.PrivacyCapable,
			VoiceDomains: p.VoiceDomains, IVMAudio: p.IVMAudio, DesktopAudio: p.DesktopAudio, MP3Bitrate: p.MP3Bitrate,
			SensitivityCode: p.SensitivityCode, MessageID: p.MessageIDPolicy,
			Hostname: p.Hostname, Quarantine: p.Quarantine,
			MaxPartHeaderLines: p.Limits.MaxPartHeaderLines, MaxPartHeaderBytes: byteSize(p.Limits.MaxPartHeaderBytes)},
		Codec: CodecConfig{MaxDuration: duration(o.codec.MaxDuration)},
		Telephony: TelephonyConfig{GatewayDomains: p.GatewayDomains, Backend: t.Backend, SpoolDir: t.SpoolDir,
			OutdialAllow: t.OutdialAllow, OutdialDeny: t.OutdialDeny, AllowedSenders: t.AllowedSenders, HomeCountry: t.HomeCountry,
			Retry: retry, Expire: duration(t.Expire), Concurrency: t.Concurrency, AttemptTimeout: duration(t.AttemptTimeout),
			KeepDone: zeroIf(t.KeepDone, telephony.KeepForever), KeepFailed: zeroIf(t.KeepFailed, telephony.KeepForever),
			MaxAudio: duration(t.MaxAudio), MaxSpoolBytes: byteSize(t.MaxSpoolBytes),
			SIP: SIPConfig{Trunk: t.SIP.Trunk, Listen: t.SIP.Listen, Codecs: t.SIP.Codecs, CallerID: t.SIP.CallerID,
				RingTimeout: duration(t.SIP.RingTimeout), Replay: t.SIP.Replay, ReplayWait: duration(t.SIP.ReplayWait),
				MaxReplays: t.SIP.MaxReplays, Username: t.SIP.Username},
			Asterisk: AsteriskConfig{OutgoingDir: t.Asterisk.OutgoingDir, TmpDir: t.Asterisk.TmpDir, DoneDir: t.Asterisk.DoneDir,
				Channel: t.Asterisk.Channel, Context: t.Asterisk.Context, CallerID: t.Asterisk.CallerID,
				WaitTime: duration(t.Asterisk.WaitTime), ResultTimeout: duration(t.Asterisk.ResultTimeout)},
			Exec:          ExecConfig{Command: t.Exec.Command, Args: t.Exec.Args},
			AllowedLogins: t.AllowedLogins, TrustedNetworks: t.TrustedNetworks, MaxCallsPerMessage: t.MaxCallsPerMessage,
			RateLimit: RateLimitConfig{PerSender: rateText(t.RateLimit.PerSender.String()), PerNumber: rateText(t.RateLimit.PerNumber.String())}},
		DSN: DSNConfig{SMTP: t.DSN.SMTPAddr, ReportingMTA: t.DSN.ReportingMTA, From: t.DSN.From, Timeout: duration(t.DSN.Timeout),
			Disable: t.DSN.Disable, DelayAfter: zeroIf(t.DSN.DelayAfter, telephony.DelayNever)},
		Metrics: MetricsConfig{Listen: o.metrics.Listen},
	}
}

// options maps the configuration to the packages' Options. The file has
// the defaults filled in, so nothing is left to WithDefaults: a zero in the
// file stays zero and Validate refuses it where it means nothing. Fields
// without a key keep their defaults. A listen address or socket mode that
// does not parse comes back as milter *FieldError values.
func (c *Config) options() (options, error) {
	def := defaultOptions()
	var conv []error
	listen, err := milter.ParseAddress(c.Milter.Listen)
	if err != nil {
		conv = append(conv, &milter.FieldError{Field: "Listen", Msg: err.Error()})
		listen = def.milter.Listen // reported once, not again by Validate
	}
	mode, err := strconv.ParseUint(c.Milter.SocketMode, 8, 32)
	if err != nil {
		conv = append(conv, &milter.FieldError{Field: "Socket.Mode", Msg: fmt.Sprintf("%q is not an octal mode such as \"0660\"", c.Milter.SocketMode)})
	}
	m, p, t := c.Milter, c.Profile, c.Telephony
	targets := make(map[string]profile.Target, len(p.Targets))
	for d, tg := range p.Targets {
		targets[d] = profile.Target(tg)
	}
	retry := make([]time.Duration, len(t.Retry))
	for i, d := range t.Retry {
		retry[i] = time.Duration(d)
	}
	authserv := m.AuthservID
	if authserv == "" {
		authserv = def.milter.AuthservID // "" documents the host name
	}
	var targetModes map[profile.Target]milter.Mode
	if len(m.TargetModes) > 0 {
		targetModes = make(map[profile.Target]milter.Mode, len(m.TargetModes))
		for tg, md := range m.TargetModes {
			targetModes[profile.Target(tg)] = milter.Mode(md)
		}
	}
	return options{
		milter: milter.Options{Listen: listen, Socket: milter.SocketOptions{Mode: os.FileMode(mode), Group: m.SocketGroup},
			ReadTimeout: time.Duration(m.ReadTimeout), WriteTimeout: time.Duration(m.WriteTimeout), EvalTimeout: time.Duration(m.EvalTimeout),
			DrainTimeout: time.Duration(m.DrainTimeout), BodyMaxMemory: int64(m.BodyMaxMemory), BodyMaxSize: int64(m.BodyMaxSize),
			MaxHeaders: m.MaxHeaders, MaxHeaderBytes: int64(m.MaxHeaderBytes), TempDir: m.TempDir,
			ErrorAction: milter.Action(m.ErrorAction), OversizeAction: milter.Action(m.OversizeAction),
			ProgressInterval: time.Duration(m.ProgressInterval), MaxSessions: m.MaxSessions, BodyMemoryTotal: int64(m.BodyMemoryTotal),
			IdleTimeout: time.Duration(m.IdleTimeout), AllowUnauthenticatedListener: m.AllowUnauthenticatedListener,
			Mode: milter.Mode(m.Mode), TargetModes: targetModes, NoStamp: !m.Stamp, AuthservID: authserv,
			On: milter.OnOptions{PrivateToNonCapable: milter.OnAction(m.On.PrivateToNonCapable),
				PrivateForwarded: milter.OnAction(m.On.PrivateForwarded), UnconvertibleAudio: milter.OnAction(m.On.UnconvertibleAudio)}},
		profile: profile.Options{DefaultTarget: profile.Target(p.DefaultTarget), Targets: targets, PrivacyCapable: p.PrivacyCapable,
			VoiceDomains: p.VoiceDomains, GatewayDomains: t.GatewayDomains, SensitivityCode: p.SensitivityCode,
			MessageIDPolicy: p.MessageID, Hostname: p.Hostname, Quarantine: p.Quarantine,
			IVMAudio: p.IVMAudio, DesktopAudio: p.DesktopAudio, MP3Bitrate: p.MP3Bitrate, TempDir: m.TempDir,
			// max_audio is telephony's to validate: a negative one is reported once, as telephony.MaxAudio.
			BridgeMaxAudio: max(time.Duration(t.MaxAudio), 0), Limits: partLimits(def.profile.Limits, p.MaxPartHeaderLines, int64(p.MaxPartHeaderBytes))},
		codec: codec.Options{MaxDuration: time.Duration(c.Codec.MaxDuration), TempDir: m.TempDir},
		telephony: telephony.Options{SpoolDir: t.SpoolDir, Backend: t.Backend,
			SIP: telephony.SIPOptions{Trunk: t.SIP.Trunk, Listen: t.SIP.Listen, Codecs: t.SIP.Codecs, CallerID: t.SIP.CallerID,
				RingTimeout: time.Duration(t.SIP.RingTimeout), Replay: t.SIP.Replay, ReplayWait: time.Duration(t.SIP.ReplayWait),
				MaxReplays: t.SIP.MaxReplays, Username: t.SIP.Username, Password: t.SIP.password},
			Asterisk: telephony.AsteriskOptions{OutgoingDir: t.Asterisk.OutgoingDir, TmpDir: t.Asterisk.TmpDir, DoneDir: t.Asterisk.DoneDir,
				Channel: t.Asterisk.Channel, Context: t.Asterisk.Context, CallerID: t.Asterisk.CallerID,
				WaitTime: time.Duration(t.Asterisk.WaitTime), ResultTimeout: time.Duration(t.Asterisk.ResultTimeout)},
			Exec:  telephony.ExecOptions{Command: t.Exec.Command, Args: t.Exec.Args},
			Retry: retry, Expire: time.Duration(t.Expire), Concurrency: t.Concurrency, Poll: def.telephony.Poll,
			AttemptTimeout: time.Duration(t.AttemptTimeout),
			// "0s" keeps finished jobs forever and sends no delay DSNs: zero
			// in telephony.Options would mean the default.
			KeepDone: ifZero(t.KeepDone, telephony.KeepForever), KeepFailed: ifZero(t.KeepFailed, telephony.KeepForever),
			HomeCountry: t.HomeCountry, OutdialAllow: t.OutdialAllow, OutdialDeny: t.OutdialDeny, AllowedSenders: t.AllowedSenders,
			DSN: telephony.DSNOptions{SMTPAddr: c.DSN.SMTP, ReportingMTA: c.DSN.ReportingMTA, From: c.DSN.From,
				Timeout: time.Duration(c.DSN.Timeout), Disable: c.DSN.Disable, DelayAfter: ifZero(c.DSN.DelayAfter, telephony.DelayNever)},
			TempDir:       m.TempDir,
			AllowedLogins: t.AllowedLogins, TrustedNetworks: t.TrustedNetworks, MaxCallsPerMessage: t.MaxCallsPerMessage,
			RateLimit: telephony.RateLimitOptions{PerSender: t.RateLimit.PerSender.rate(), PerNumber: t.RateLimit.PerNumber.rate()},
			MaxAudio:  time.Duration(t.MaxAudio), MaxSpoolBytes: int64(t.MaxSpoolBytes),
			CodecMaxDuration: time.Duration(c.Codec.MaxDuration), DrainTimeout: time.Duration(m.DrainTimeout)},
		metrics: promtext.Options{Listen: c.Metrics.Listen},
	}, errors.Join(conv...)
}

// ifZero maps a duration of the file to Options: "0s" becomes never (the
// longest duration), since zero in the Options means the default.
// Negative values pass through for Validate to report.
func ifZero(d duration, never time.Duration) time.Duration {
	if d == 0 {
		return never
	}
	return time.Duration(d)
}

// zeroIf is the inverse of ifZero, for printing.
func zeroIf(d, never time.Duration) duration {
	if d == never {
		return 0
	}
	return duration(d)
}

// loadConfig reads path over the defaults ("" gives the defaults) and
// validates it. All problems come back at once, each with its key path.
func loadConfig(path string) (Config, error) {
	cfg := defaultConfig()
	if path == "" {
		return cfg, nil
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return cfg, fmt.Errorf("config: %w", err)
	}
	md, err := toml.Decode(string(data), &cfg)
	if err != nil {
		var perr toml.ParseError
		if errors.As(err, &perr) {
			return cfg, fmt.Errorf("config: %s: %s", path, perr.ErrorWithPosition())
		}
		return cfg, fmt.Errorf("config: %s: %w", path, err)
	}
	var errs []string
	undecoded := md.Undecoded()
	for i, k := range undecoded {
		// An unknown table is reported once, not again for each key in it.
		if i+1 < len(undecoded) && strings.HasPrefix(undecoded[i+1].String(), k.String()+".") {
			continue
		}
		errs = append(errs, fmt.Sprintf("%s: unknown key (see contrib/vpim-milter.toml for the keys there are)", k))
	}
	errs = append(errs, cfg.readSIPPassword()...)
	errs = append(errs, cfg.validate()...)
	if len(errs) > 0 {
		slices.Sort(errs)
		errs = slices.Compact(errs) // milter.temp_dir is checked by three packages
		return cfg, fmt.Errorf("config: %s: %d problem(s):\n  %s", path, len(errs), strings.Join(errs, "\n  "))
	}
	return cfg, nil
}

// readSIPPassword reads telephony.sip.password_file (backend "sip" only)
// into the unexported password; loadConfig runs it at start and on SIGHUP.
// The file holds the password alone: trailing CR and LF are dropped,
// everything else counts. Problems come back with their key path, never
// with the secret. A password without telephony.sip.username is reported
// by telephony.Options.Validate.
func (c *Config) readSIPPassword() []string {
	const key = "telephony.sip.password_file"
	s := &c.Telephony.SIP
	s.password = ""
	if c.Telephony.Backend != telephony.BackendSIP {
		return nil
	}
	switch {
	case s.PasswordFile == "" && s.Username != "":
		return []string{key + ": required with telephony.sip.username (hint: a file only the daemon can read, such as /etc/vpim-milter/sip-password)"}
	case s.PasswordFile == "":
		return nil
	case !filepath.IsAbs(s.PasswordFile):
		return []string{fmt.Sprintf("%s: %q must be an absolute path", key, s.PasswordFile)}
	}
	if st, err := os.Stat(s.PasswordFile); err == nil && st.Mode().IsRegular() && st.Mode().Perm()&0o007 != 0 {
		// A secret every local user may read (or replace) is refused, as
		// ssh refuses a private key others can read.
		return []string{fmt.Sprintf("%s: %q has mode %04o: every local user can read or change the password (hint: chmod 0640, owner root, group of the daemon)",
			key, s.PasswordFile, uint32(st.Mode().Perm()))}
	}
	b, err := os.ReadFile(s.PasswordFile)
	if err != nil {
		return []string{fmt.Sprintf("%s: %v", key, err)}
	}
	pw := strings.TrimRight(string(b), "\r\n")
	switch {
	case pw == "":
		return []string{fmt.Sprintf("%s: %q is empty (hint: the password on one line)", key, s.PasswordFile)}
	case strings.ContainsAny(pw, "\r\n"):
		return []string{fmt.Sprintf("%s: %q has more than one line (hint: the password on one line)", key, s.PasswordFile)}
	}
	s.password = pw
	return nil
}

// validate lists every invalid value with its key path and a hint: the
// packages' Options.Validate, their field paths turned into keys, and the
// command's own [log] section.
func (c *Config) validate() []string {
	o, err := c.options()
	errs := keyed("milter", err)
	for _, v := range []struct {
		pkg string
		err error
	}{{"milter", o.milter.Validate()}, {"profile", o.profile.Validate()}, {"codec", o.codec.Validate()},
		{"telephony", o.telephony.Validate()}, {"promtext", o.metrics.Validate()}} {
		errs = append(errs, keyed(v.pkg, v.err)...)
	}
	errs = append(errs, exposedListener(o)...)
	return append(errs, c.Log.validate("log.format", "log.level")...)
}

// exposedListener refuses a milter listener every local user can reach
// (TCP, or a unix socket others may write) while the milter hands mail to
// a gateway (telephony.gateway_domains): the milter protocol has no
// authentication, so anyone on the host could open a session, forge the
// macros ({auth_authen}) and make the gateway dial. That holds for every
// back-end: the spool back-end's jobs are there for an external bridge to
// call (redteam R2). The operator may accept the risk with
// milter.allow_unauthenticated_listener. The built-in defaults (no gateway)
// serve on TCP as before.
func exposedListener(o options) []string {
	if len(o.profile.GatewayDomains) == 0 || o.milter.AllowUnauthenticatedListener {
		return nil
	}
	open, why := o.milter.WithDefaults().ReachableByAll()
	if !open {
		return nil
	}
	return []string{fmt.Sprintf("milter.listen: %s, and telephony.gateway_domains makes calls (backend %q%s): anyone on this host could make the gateway dial "+
		"(hint: listen = \"unix:/run/vpim-milter/milter.sock\" with socket_group = \"postfix\" and socket_mode = \"0660\"; "+
		"or set milter.allow_unauthenticated_listener = true to accept the risk)", why, o.telephony.Backend, backendCalls(o.telephony.Backend))}
}

// backendCalls says who places the calls of backend, for exposedListener.
func backendCalls(backend string) string {
	if backend == telephony.BackendSpool {
		return ": an external bridge calls its jobs"
	}
	return ""
}

// validate checks the [log] section; format and level name the keys (or
// flags) the values came from.
func (l LogConfig) validate(format, level string) []string {
	var errs []string
	if !slices.Contains(logFormats(), l.Format) {
		errs = append(errs, fmt.Sprintf("%s: %q: want %s", format, l.Format, strings.Join(logFormats(), " or ")))
	}
	if _, err := parseLevel(l.Level); err != nil {
		errs = append(errs, fmt.Sprintf("%s: %v", level, err))
	}
	return errs
}

// hostname is the machine's name when it is a valid domain, else "localhost".
func hostname() string {
	h, err := os.Hostname()
	if err != nil || !profile.ValidDomain(h) {
		return "localhost"
	}
	return h
}

// encode prints the effective configuration as TOML.
func (c *Config) encode() (string, error) {
	var b bytes.Buffer
	if err := toml.NewEncoder(&b).Encode(c); err != nil {
		return "", fmt.Errorf("config: encode: %w", err)
	}
	return b.String(), nil
}

// duration is a time.Duration written as "30s" in TOML.
type duration time.Duration

func (d *duration) UnmarshalText(b []byte) error {
	v, err := time.ParseDuration(string(b))
	if err != nil {
		return fmt.Errorf("%q is not a duration such as \"30s\" or \"2m\"", string(b))
	}
	*d = duration(v)
	return nil
}

func (d duration) MarshalText() ([]byte, error) { return []byte(time.Duration(d).String()), nil }

// partLimits is l with the per-part header caps of the configuration.
func partLimits(l profile.Limits, lines int, bytes int64) profile.Limits {
	l.MaxPartHeaderLines, l.MaxPartHeaderBytes = lines, bytes
	return l
}

// byteSize is a size in bytes, written as an integer or as "64MiB", "512KiB", "10MB".
type byteSize int64

func (s *byteSize) UnmarshalTOML(v any) error {
	switch x := v.(type) {
	case int64:
		*s = byteSize(x)
		return nil
	case string:
		n, err := parseSize(x)
		if err != nil {
			return err
		}
		*s = byteSize(n)
		return nil
	}
	return fmt.Errorf("want a size such as 1048576 or \"1MiB\", not %T", v)
}

func (s byteSize) MarshalText() ([]byte, error) {
	n := int64(s)
	for _, u := range []struct {
		suffix string
		mult   int64
	}{{"GiB", 1 << 30}, {"MiB", 1 << 20}, {"KiB", 1 << 10}} {
		if n >= u.mult && n%u.mult == 0 {
			return []byte(strconv.FormatInt(n/u.mult, 10) + u.suffix), nil
		}
	}
	return []byte(strconv.FormatInt(n, 10)), nil
}

func parseSize(s string) (int64, error) {
	t := strings.TrimSpace(s)
	mult := int64(1)
	for _, u := range []struct {
		suffix string
		mult   int64
	}{{"GiB", 1 << 30}, {"MiB", 1 << 20}, {"KiB", 1 << 10}, {"GB", 1e9}, {"MB", 1e6}, {"KB", 1e3}, {"kB", 1e3}, {"B", 1}} {
		if strings.HasSuffix(t, u.suffix) {
			t, mult = strings.TrimSpace(strings.TrimSuffix(t, u.suffix)), u.mult
			break
		}
	}
	n, err := strconv.ParseInt(t, 10, 64)
	if err != nil || n < 0 || n > (1<<62)/mult {
		return 0, fmt.Errorf("%q is not a size such as 1048576, \"512KiB\" or \"64MiB\"", s)
	}
	return n * mult, nil
}
