package main

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/BurntSushi/toml"

	"github.com/vpim-milter/vpim-milter/milter"
	"github.com/vpim-milter/vpim-milter/profile"
	"github.com/vpim-milter/vpim-milter/telephony"
)

// Config is the TOML configuration file. Every section belongs to one
// package; only this command knows TOML. A file overrides only the keys it
// sets; the rest keep the built-in defaults of defaultConfig.
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
	ErrorAction    string   `toml:"error_action"`    // tempfail | accept
	OversizeAction string   `toml:"oversize_action"` // reject | tempfail | accept
}

// LogConfig is the [log] section; --log-format and --log-level override it.
type LogConfig struct {
	Format string `toml:"format"` // text | json
	Level  string `toml:"level"`  // debug | info | warn | error
}

// ProfileConfig is the [profile] section.
type ProfileConfig struct {
	DefaultTarget  string            `toml:"default_target"`  // vpim2 | vpim1 | ivm | passthrough
	Targets        map[string]string `toml:"targets"`         // recipient domain → target
	PrivacyCapable []string          `toml:"privacy_capable"` // destinations that honour Sensitivity: Private
	VoiceDomains   []string          `toml:"voice_domains"`   // our voice-mail domains (non-mail-user@ → 550 5.1.1)
	IVMAudio       string            `toml:"ivm_audio"`       // raw | au | wav
	// SensitivityCode refuses Private mail that cannot stay private:
	// "5.6.0" (RFC 3801 4.2.13) or "5.3.3"; "" = 5.6.0, 5.3.3 for v1 input.
	SensitivityCode string `toml:"sensitivity_code"`
	MessageID       string `toml:"message_id"` // fix | keep (DIGEST 2.1)
	Hostname        string `toml:"hostname"`   // right-hand side of generated Message-IDs
	Loopback        bool   `toml:"loopback"`   // RFC 1911 loopback@ reflection (off: 550 5.1.1)
	Quarantine      bool   `toml:"quarantine"` // quarantine voice mail with unrepairable MUST defects
}

// CodecConfig is the [codec] section.
type CodecConfig struct {
	MaxDuration duration `toml:"max_duration"` // longest audio part transcoded; longer parts pass unchanged with a finding
}

// TelephonyConfig is the [telephony] section.
type TelephonyConfig struct {
	GatewayDomains []string       `toml:"gateway_domains"` // VOICE=/VPIM=/AMIS= local parts here go to the bridge
	Backend        string         `toml:"backend"`         // spool | sip | asterisk | exec
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
	SIP            SIPConfig      `toml:"sip"`
	Asterisk       AsteriskConfig `toml:"asterisk"`
	Exec           ExecConfig     `toml:"exec"`
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

// defaultConfig is the built-in configuration (DESIGN.md).
func defaultConfig() Config {
	t := telephony.Options{}.WithDefaults()
	spool, err := filepath.Abs(filepath.Join(stateDir(), "spool"))
	if err != nil {
		spool = filepath.Join(stateDir(), "spool")
	}
	return Config{
		Milter: MilterConfig{
			Listen:         "inet:8895@127.0.0.1",
			SocketMode:     "0660",
			ReadTimeout:    duration(10 * time.Minute),
			WriteTimeout:   duration(30 * time.Second),
			EvalTimeout:    duration(2 * time.Minute),
			DrainTimeout:   duration(30 * time.Second),
			BodyMaxMemory:  1 << 20,
			BodyMaxSize:    64 << 20,
			MaxHeaders:     2000,
			MaxHeaderBytes: 1 << 20,
			ErrorAction:    "tempfail",
			OversizeAction: "reject",
		},
		Log:     LogConfig{Format: "text", Level: "info"},
		Profile: ProfileConfig{DefaultTarget: "ivm", Targets: map[string]string{}, IVMAudio: "raw", MessageID: "fix", Hostname: hostname()},
		Codec:   CodecConfig{MaxDuration: duration(time.Hour)},
		Telephony: TelephonyConfig{
			Backend:        t.Backend,
			SpoolDir:       spool,
			Retry:          durations(t.Retry),
			Expire:         duration(t.Expire),
			Concurrency:    t.Concurrency,
			AttemptTimeout: duration(t.AttemptTimeout),
			KeepDone:       duration(t.KeepDone),
			KeepFailed:     duration(t.KeepFailed),
			SIP: SIPConfig{Trunk: "sip:127.0.0.1:5080", Listen: t.SIP.Listen, Codecs: t.SIP.Codecs, CallerID: t.SIP.CallerID,
				RingTimeout: duration(t.SIP.RingTimeout), ReplayWait: duration(t.SIP.ReplayWait), MaxReplays: t.SIP.MaxReplays},
			Asterisk: AsteriskConfig{OutgoingDir: t.Asterisk.OutgoingDir, TmpDir: t.Asterisk.TmpDir, DoneDir: t.Asterisk.DoneDir,
				Channel: t.Asterisk.Channel, Context: t.Asterisk.Context, CallerID: t.Asterisk.CallerID,
				WaitTime: duration(t.Asterisk.WaitTime), ResultTimeout: duration(t.Asterisk.ResultTimeout)},
		},
		DSN: DSNConfig{SMTP: t.DSN.SMTPAddr, ReportingMTA: hostname(), Timeout: duration(t.DSN.Timeout), DelayAfter: duration(t.DSN.DelayAfter)},
	}
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
		sort.Strings(errs)
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

// validate lists every invalid value with its key path and a hint.
func (c *Config) validate() []string {
	var errs []string
	bad := func(key, format string, args ...any) {
		errs = append(errs, key+": "+fmt.Sprintf(format, args...))
	}
	if _, err := milter.ParseAddress(c.Milter.Listen); err != nil {
		bad("milter.listen", "%v", err)
	}
	if _, err := strconv.ParseUint(c.Milter.SocketMode, 8, 32); err != nil {
		bad("milter.socket_mode", "%q is not an octal mode such as \"0660\"", c.Milter.SocketMode)
	}
	for key, d := range map[string]duration{"milter.read_timeout": c.Milter.ReadTimeout, "milter.write_timeout": c.Milter.WriteTimeout,
		"milter.eval_timeout": c.Milter.EvalTimeout, "milter.drain_timeout": c.Milter.DrainTimeout, "codec.max_duration": c.Codec.MaxDuration} {
		if d <= 0 {
			bad(key, "must be a positive duration such as \"30s\"")
		}
	}
	if c.Milter.BodyMaxMemory <= 0 {
		bad("milter.body_max_memory", "must be positive, e.g. \"1MiB\"")
	}
	if c.Milter.BodyMaxSize <= 0 {
		bad("milter.body_max_size", "must be positive, e.g. \"64MiB\"")
	}
	if c.Milter.MaxHeaders <= 0 {
		bad("milter.max_headers", "must be positive")
	}
	if c.Milter.MaxHeaderBytes <= 0 {
		bad("milter.max_header_bytes", "must be positive")
	}
	if !oneOf(c.Milter.ErrorAction, "tempfail", "accept") {
		bad("milter.error_action", "%q: want tempfail or accept", c.Milter.ErrorAction)
	}
	if !oneOf(c.Milter.OversizeAction, "reject", "tempfail", "accept") {
		bad("milter.oversize_action", "%q: want reject, tempfail or accept", c.Milter.OversizeAction)
	}
	if c.Milter.TempDir != "" {
		if st, err := os.Stat(c.Milter.TempDir); err != nil || !st.IsDir() {
			bad("milter.temp_dir", "%q is not a directory", c.Milter.TempDir)
		}
	}
	if !oneOf(c.Log.Format, "text", "json") {
		bad("log.format", "%q: want text or json", c.Log.Format)
	}
	if _, err := parseLevel(c.Log.Level); err != nil {
		bad("log.level", "%v", err)
	}
	targets := []string{"vpim2", "vpim1", "ivm", "passthrough"}
	if !oneOf(c.Profile.DefaultTarget, targets...) {
		bad("profile.default_target", "%q: want one of %s", c.Profile.DefaultTarget, strings.Join(targets, ", "))
	}
	for d, t := range c.Profile.Targets {
		if !oneOf(t, targets...) {
			bad("profile.targets."+d, "%q: want one of %s", t, strings.Join(targets, ", "))
		}
		if !validDomain(d) {
			bad("profile.targets", "%q is not a domain name", d)
		}
	}
	for key, list := range map[string][]string{"profile.privacy_capable": c.Profile.PrivacyCapable, "profile.voice_domains": c.Profile.VoiceDomains, "telephony.gateway_domains": c.Telephony.GatewayDomains} {
		for _, d := range list {
			if !validDomain(d) {
				bad(key, "%q is not a domain name", d)
			}
		}
	}
	if !oneOf(c.Profile.SensitivityCode, "", "5.6.0", "5.3.3") {
		bad("profile.sensitivity_code", "%q: want \"5.6.0\" or \"5.3.3\" (or empty for 5.6.0, 5.3.3 for v1 input)", c.Profile.SensitivityCode)
	}
	if !oneOf(c.Profile.MessageID, "fix", "keep") {
		bad("profile.message_id", "%q: want fix or keep", c.Profile.MessageID)
	}
	if c.Profile.Hostname == "" || !validDomain(c.Profile.Hostname) {
		bad("profile.hostname", "%q is not a host name", c.Profile.Hostname)
	}
	if !oneOf(c.Profile.IVMAudio, "raw", "au", "wav") {
		bad("profile.ivm_audio", "%q: want raw, au or wav", c.Profile.IVMAudio)
	}
	topts := c.telephonyOptions()
	if err := topts.Validate(); err != nil {
		for _, line := range strings.Split(err.Error(), "\n") {
			line = strings.TrimSpace(strings.TrimPrefix(line, "telephony: "))
			// [dsn] is its own section in the file.
			line = strings.Replace(line, "telephony.dsn.smtp_addr", "dsn.smtp", 1)
			line = strings.Replace(line, "telephony.dsn.", "dsn.", 1)
			if line != "" {
				errs = append(errs, line)
			}
		}
	}
	if c.Metrics.Listen != "" {
		if _, _, err := splitHostPort(c.Metrics.Listen); err != nil {
			bad("metrics.listen", "%q: want host:port such as \"127.0.0.1:9895\"", c.Metrics.Listen)
		}
	}
	return errs
}

// milterOptions maps [milter] to the milter package's options.
func (c *Config) milterOptions() (milter.Options, error) {
	addr, err := milter.ParseAddress(c.Milter.Listen)
	if err != nil {
		return milter.Options{}, err
	}
	mode, _ := strconv.ParseUint(c.Milter.SocketMode, 8, 32)
	return milter.Options{
		Listen:         addr,
		Socket:         milter.SocketOptions{Mode: os.FileMode(mode), Group: c.Milter.SocketGroup},
		ReadTimeout:    time.Duration(c.Milter.ReadTimeout),
		WriteTimeout:   time.Duration(c.Milter.WriteTimeout),
		EvalTimeout:    time.Duration(c.Milter.EvalTimeout),
		DrainTimeout:   time.Duration(c.Milter.DrainTimeout),
		BodyMaxMemory:  int64(c.Milter.BodyMaxMemory),
		BodyMaxSize:    int64(c.Milter.BodyMaxSize),
		MaxHeaders:     c.Milter.MaxHeaders,
		MaxHeaderBytes: int64(c.Milter.MaxHeaderBytes),
		TempDir:        c.Milter.TempDir,
		ErrorAction:    milter.Action(c.Milter.ErrorAction),
		OversizeAction: milter.Action(c.Milter.OversizeAction),
	}, nil
}

// profileOptions maps [profile] (and the bridge domains) to the engine's options.
func (c *Config) profileOptions() profile.Options {
	targets := make(map[string]profile.Target, len(c.Profile.Targets))
	for d, t := range c.Profile.Targets {
		targets[strings.ToLower(d)] = profile.Target(t)
	}
	return profile.Options{
		DefaultTarget:   profile.Target(c.Profile.DefaultTarget),
		Targets:         targets,
		PrivacyCapable:  lower(c.Profile.PrivacyCapable),
		VoiceDomains:    lower(c.Profile.VoiceDomains),
		GatewayDomains:  lower(c.Telephony.GatewayDomains),
		SensitivityCode: c.Profile.SensitivityCode,
		MessageIDPolicy: c.Profile.MessageID,
		Hostname:        c.Profile.Hostname,
		Loopback:        c.Profile.Loopback,
		Quarantine:      c.Profile.Quarantine,
		IVMAudio:        c.Profile.IVMAudio,
		Codec:           audioCodec{maxDuration: time.Duration(c.Codec.MaxDuration)},
		TempDir:         c.Milter.TempDir,
	}
}

// telephonyOptions maps [telephony] and [dsn] to the telephony package's options.
func (c *Config) telephonyOptions() telephony.Options {
	t := c.Telephony
	retry := make([]time.Duration, len(t.Retry))
	for i, d := range t.Retry {
		retry[i] = time.Duration(d)
	}
	return telephony.Options{
		SpoolDir: t.SpoolDir,
		Backend:  t.Backend,
		SIP: telephony.SIPOptions{Trunk: t.SIP.Trunk, Listen: t.SIP.Listen, Codecs: t.SIP.Codecs, CallerID: t.SIP.CallerID,
			RingTimeout: time.Duration(t.SIP.RingTimeout), Replay: t.SIP.Replay, ReplayWait: time.Duration(t.SIP.ReplayWait), MaxReplays: t.SIP.MaxReplays,
			Username: t.SIP.Username, Password: t.SIP.password},
		Asterisk: telephony.AsteriskOptions{OutgoingDir: t.Asterisk.OutgoingDir, TmpDir: t.Asterisk.TmpDir, DoneDir: t.Asterisk.DoneDir,
			Channel: t.Asterisk.Channel, Context: t.Asterisk.Context, CallerID: t.Asterisk.CallerID,
			WaitTime: time.Duration(t.Asterisk.WaitTime), ResultTimeout: time.Duration(t.Asterisk.ResultTimeout)},
		Exec:           telephony.ExecOptions{Command: t.Exec.Command, Args: t.Exec.Args},
		Retry:          retry,
		Expire:         time.Duration(t.Expire),
		Concurrency:    t.Concurrency,
		AttemptTimeout: time.Duration(t.AttemptTimeout),
		KeepDone:       retention(t.KeepDone),
		KeepFailed:     retention(t.KeepFailed),
		HomeCountry:    t.HomeCountry,
		OutdialAllow:   t.OutdialAllow,
		OutdialDeny:    t.OutdialDeny,
		AllowedSenders: t.AllowedSenders,
		TempDir:        c.Milter.TempDir,
		DSN: telephony.DSNOptions{SMTPAddr: c.DSN.SMTP, ReportingMTA: c.DSN.ReportingMTA, From: c.DSN.From,
			Timeout: time.Duration(c.DSN.Timeout), Disable: c.DSN.Disable, DelayAfter: delayAfter(c.DSN.DelayAfter)},
	}
}

// delayAfter maps dsn.delay_after to telephony.DSNOptions.DelayAfter as
// retention does for keep_done: "0s" in the file means no delay DSNs
// (telephony.DelayNever), since zero in telephony.Options would mean the
// default. Negative values pass through for Options.Validate to report.
func delayAfter(d duration) time.Duration {
	if d == 0 {
		return telephony.DelayNever
	}
	return time.Duration(d)
}

// retention maps telephony.keep_done or keep_failed to telephony.Options:
// the file has its defaults filled in already, so "0s" there means keep
// forever (zero in telephony.Options would mean the default). Negative
// values pass through for Options.Validate to report.
func retention(d duration) time.Duration {
	if d == 0 {
		return telephony.KeepForever
	}
	return time.Duration(d)
}

func durations(in []time.Duration) []duration {
	out := make([]duration, len(in))
	for i, d := range in {
		out[i] = duration(d)
	}
	return out
}

// hostname is the machine's name when it is a valid domain, else "localhost".
func hostname() string {
	h, err := os.Hostname()
	if err != nil || !validDomain(h) {
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

func oneOf(s string, allowed ...string) bool {
	for _, a := range allowed {
		if s == a {
			return true
		}
	}
	return false
}

func lower(in []string) []string {
	out := make([]string, len(in))
	for i, s := range in {
		out[i] = strings.ToLower(s)
	}
	return out
}

func validDomain(d string) bool {
	if d == "" || len(d) > 253 || strings.HasPrefix(d, ".") || strings.HasSuffix(d, ".") {
		return false
	}
	for _, label := range strings.Split(d, ".") {
		if label == "" || len(label) > 63 {
			return false
		}
		for _, r := range label {
			if !(r == '-' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z') {
				return false
			}
		}
	}
	return true
}

func splitHostPort(s string) (string, int, error) {
	i := strings.LastIndex(s, ":")
	if i < 0 {
		return "", 0, errors.New("missing port")
	}
	p, err := strconv.Atoi(s[i+1:])
	if err != nil || p < 0 || p > 65535 {
		return "", 0, errors.New("bad port")
	}
	return s[:i], p, nil
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
