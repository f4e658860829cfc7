package main

import (
	"strings"

	"github.com/vpim-milter/vpim-milter/internal/optfield"
)

// optionKey ties one field of a package's Options to its configuration key.
type optionKey struct {
	// field is the package name and the Go field path in its Options:
	// "milter.ReadTimeout", "telephony.SIP.Trunk"; "" for a key of the
	// command's own ([log]).
	field string
	// key is the TOML key path; "" for a field the command sets itself.
	key string
}

// optionKeys is the one table between the two name spaces: validation
// errors name fields, the operator sees keys. Adding an option means a
// field in the package's Options (with its default in WithDefaults and its
// check in Validate), a row here, a field in the section of config.go with
// its line in options and configFrom, and its documentation in
// contrib/vpim-milter.toml and README.md. TestOptionKeys fails when a
// field or a key has no row.
func optionKeys() []optionKey {
	return []optionKey{
		{"milter.Listen", "milter.listen"},
		{"milter.Socket.Mode", "milter.socket_mode"},
		{"milter.Socket.Group", "milter.socket_group"},
		{"milter.ReadTimeout", "milter.read_timeout"},
		{"milter.WriteTimeout", "milter.write_timeout"},
		{"milter.EvalTimeout", "milter.eval_timeout"},
		{"milter.BodyMaxMemory", "milter.body_max_memory"},
		{"milter.BodyMaxSize", "milter.body_max_size"},
		{"milter.MaxHeaders", "milter.max_headers"},
		{"milter.MaxHeaderBytes", "milter.max_header_bytes"},
		{"milter.TempDir", "milter.temp_dir"},
		{"milter.ErrorAction", "milter.error_action"},
		{"milter.OversizeAction", "milter.oversize_action"},
		{"milter.DrainTimeout", "milter.drain_timeout"},
		{"milter.ProgressInterval", "milter.progress_interval"},
		{"milter.MaxSessions", "milter.max_sessions"},
		{"milter.BodyMemoryTotal", "milter.body_memory_total"},
		{"milter.IdleTimeout", "milter.idle_timeout"},
		{"milter.AllowUnauthenticatedListener", "milter.allow_unauthenticated_listener"},
		{"milter.Mode", "milter.mode"},
		{"milter.TargetModes", "milter.target_modes"},
		{"milter.NoStamp", "milter.stamp"}, // inverted: stamp = true is NoStamp false
		{"milter.AuthservID", "milter.authserv_id"},
		{"milter.On.PrivateToNonCapable", "milter.on.private_to_non_capable"},
		{"milter.On.PrivateForwarded", "milter.on.private_forwarded"},
		{"milter.On.UnconvertibleAudio", "milter.on.unconvertible_audio"},
		{"milter.Bridge", ""}, // the telephony.Gateway built from [telephony]

		{"", "log.format"},
		{"", "log.level"},

		{"profile.DefaultTarget", "profile.default_target"},
		{"profile.Targets", "profile.targets"},
		{"profile.PrivacyCapable", "profile.privacy_capable"},
		{"profile.VoiceDomains", "profile.voice_domains"},
		{"profile.GatewayDomains", "telephony.gateway_domains"},
		{"profile.SensitivityCode", "profile.sensitivity_code"},
		{"profile.MessageIDPolicy", "profile.message_id"},
		{"profile.Hostname", "profile.hostname"},
		{"profile.Quarantine", "profile.quarantine"},
		{"profile.IVMAudio", "profile.ivm_audio"},
		{"profile.DesktopAudio", "profile.desktop_audio"},
		{"profile.MP3Bitrate", "profile.mp3_bitrate"},
		{"profile.Codec", ""}, // the codec.Transcoder built from [codec]
		{"profile.TempDir", "milter.temp_dir"},
		{"profile.BridgeMaxAudio", "telephony.max_audio"},
		{"profile.Limits.MaxDepth", ""},       // built in (50)
		{"profile.Limits.MaxParts", ""},       // built in (1000)
		{"profile.Limits.MaxHeaderBytes", ""}, // milter.max_header_bytes caps the header the milter keeps
		{"profile.Limits.MaxPartHeaderLines", "profile.max_part_header_lines"},
		{"profile.Limits.MaxPartHeaderBytes", "profile.max_part_header_bytes"},

		{"codec.MaxDuration", "codec.max_duration"},
		{"codec.TempDir", "milter.temp_dir"},

		{"telephony.SpoolDir", "telephony.spool_dir"},
		{"telephony.Backend", "telephony.backend"},
		{"telephony.SIP.Trunk", "telephony.sip.trunk"},
		{"telephony.SIP.Listen", "telephony.sip.listen"},
		{"telephony.SIP.Codecs", "telephony.sip.codecs"},
		{"telephony.SIP.CallerID", "telephony.sip.caller_id"},
		{"telephony.SIP.RingTimeout", "telephony.sip.ring_timeout"},
		{"telephony.SIP.Replay", "telephony.sip.replay"},
		{"telephony.SIP.ReplayWait", "telephony.sip.replay_wait"},
		{"telephony.SIP.MaxReplays", "telephony.sip.max_replays"},
		{"telephony.SIP.Username", "telephony.sip.username"},
		{"telephony.SIP.Password", "telephony.sip.password_file"}, // the file's content
		{"telephony.Asterisk.OutgoingDir", "telephony.asterisk.outgoing_dir"},
		{"telephony.Asterisk.TmpDir", "telephony.asterisk.tmp_dir"},
		{"telephony.Asterisk.DoneDir", "telephony.asterisk.done_dir"},
		{"telephony.Asterisk.Channel", "telephony.asterisk.channel"},
		{"telephony.Asterisk.Context", "telephony.asterisk.context"},
		{"telephony.Asterisk.CallerID", "telephony.asterisk.caller_id"},
		{"telephony.Asterisk.WaitTime", "telephony.asterisk.wait_time"},
		{"telephony.Asterisk.ResultTimeout", "telephony.asterisk.result_timeout"},
		{"telephony.Exec.Command", "telephony.exec.command"},
		{"telephony.Exec.Args", "telephony.exec.args"},
		{"telephony.Retry", "telephony.retry"},
		{"telephony.Expire", "telephony.expire"},
		{"telephony.Concurrency", "telephony.concurrency"},
		{"telephony.Poll", ""}, // built in (1 s)
		{"telephony.AttemptTimeout", "telephony.attempt_timeout"},
		{"telephony.KeepDone", "telephony.keep_done"},
		{"telephony.KeepFailed", "telephony.keep_failed"},
		{"telephony.HomeCountry", "telephony.home_country"},
		{"telephony.OutdialAllow", "telephony.outdial_allow"},
		{"telephony.OutdialDeny", "telephony.outdial_deny"},
		{"telephony.AllowedSenders", "telephony.allowed_senders"},
		{"telephony.AllowedLogins", "telephony.allowed_logins"},
		{"telephony.TrustedNetworks", "telephony.trusted_networks"},
		{"telephony.MaxCallsPerMessage", "telephony.max_calls_per_message"},
		{"telephony.RateLimit.PerSender", "telephony.rate_limit.per_sender"},
		{"telephony.RateLimit.PerNumber", "telephony.rate_limit.per_number"},
		{"telephony.DSN.SMTPAddr", "dsn.smtp"},
		{"telephony.DSN.ReportingMTA", "dsn.reporting_mta"},
		{"telephony.DSN.From", "dsn.from"},
		{"telephony.DSN.Timeout", "dsn.timeout"},
		{"telephony.DSN.Disable", "dsn.disable"},
		{"telephony.DSN.DelayAfter", "dsn.delay_after"},
		{"telephony.TempDir", "milter.temp_dir"},
		{"telephony.MaxAudio", "telephony.max_audio"},
		{"telephony.MaxSpoolBytes", "telephony.max_spool_bytes"},
		{"telephony.CodecMaxDuration", "codec.max_duration"},
		{"telephony.DrainTimeout", "milter.drain_timeout"},
		{"telephony.Metrics", ""}, // set when metrics.listen is on

		{"promtext.Listen", "metrics.listen"},
	}
}

// keyOf returns the configuration key of a field path in package pkg's
// Options: the row of the longest field that is path or a prefix of it
// ending before "[" or ".", with the rest of path appended (a list index,
// a map key). ok is false for a field without a key.
func keyOf(pkg, path string) (key string, ok bool) {
	full := pkg + "." + path
	best := optionKey{}
	for _, k := range optionKeys() {
		if k.field == "" || !strings.HasPrefix(full, k.field) || len(k.field) <= len(best.field) {
			continue
		}
		if rest := full[len(k.field):]; rest == "" || rest[0] == '[' || rest[0] == '.' {
			best = k
		}
	}
	if best.key == "" {
		return full, false
	}
	return best.key + full[len(best.field):], true
}

// keyed turns the problems of package pkg's Options into "key: message"
// lines; errors that name no field are kept as they are.
func keyed(pkg string, err error) []string {
	fields, other := optfield.All(err)
	var out []string
	for _, fe := range fields {
		key, _ := keyOf(pkg, fe.Field)
		out = append(out, key+": "+fe.Msg)
	}
	for _, e := range other {
		out = append(out, e.Error())
	}
	return out
}
