package profile

import (
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/vpim-milter/vpim-milter/codec"

	"github.com/vpim-milter/vpim-milter/internal/optfield"
)

// Options configures an [Engine]. It is filled from the [profile] section of
// the configuration by the command; WithDefaults fills in the zero values.
type Options struct {
	// DefaultTarget applies to recipients whose domain has no entry in
	// Targets: one of BodyTargets. Empty means TargetIVM.
	DefaultTarget Target
	// Targets maps a recipient domain (any case) to its target, one of
	// BodyTargets.
	Targets map[string]Target
	// PrivacyCapable lists destination domains that honour Sensitivity:
	// Private. Private voice mail to any other destination is refused,
	// passthrough and desktop destinations included (an ordinary mailbox
	// lets its owner forward anything; list the domain when its mail
	// system does keep private mail private); mail that is not voice mail
	// is never touched; the telephony bridge is never privacy-capable.
	PrivacyCapable []string
	// VoiceDomains lists our own voice-mail domains (non-mail-user@ → 550 5.1.1).
	VoiceDomains []string
	// GatewayDomains (from [telephony] gateway_domains) are the domains on
	// which a VOICE=/VPIM=/AMIS= local part goes to the telephony bridge.
	GatewayDomains []string

	// SensitivityCode is the RFC 3463 enhanced code used to refuse a
	// Private message that cannot stay private: "5.6.0" (RFC 3801 4.2.13)
	// or "5.3.3" (RFC 3801 App. C). Empty means 5.6.0, except 5.3.3 for
	// v1 and v1-draft input (DIGEST §3).
	SensitivityCode string
	// MessageIDPolicy is "fix" (default: bracket a bare id, convert the
	// v1-draft form, generate a missing one, keeping the old value in
	// X-Original-Message-ID; DIGEST §2.1) or "keep" (report only).
	MessageIDPolicy string
	// Hostname is the right-hand side of generated Message-IDs
	// (default "localhost").
	Hostname string
	// Quarantine quarantines voice mail with MUST-level defects the plan
	// cannot repair instead of passing it on.
	Quarantine bool
	// IVMAudio is the audio form for IVM targets: "raw" (default; headerless
	// µ-law audio/basic, RFC 4239 7), "au" (Sun header, audio/basic) or
	// "wav" (µ-law audio/wav).
	IVMAudio string
	// DesktopAudio is the audio form for desktop targets: "mp3" (default;
	// audio/mpeg, MPEG-2 Layer III at 16 kHz) or "wav" (µ-law audio/wav,
	// 64 kbit/s, no encoder).
	DesktopAudio string
	// MP3Bitrate is the bit rate in kbit/s of the MP3 the desktop target
	// gets, mono: one of codec.MP3Bitrates (16 to 64 in steps of 8); 0
	// means 24.
	MP3Bitrate int

	// BridgeMaxAudio (from [telephony] max_audio) is the longest voice
	// message the telephony bridge plays: a message to a telephone number
	// whose voice part is longer, by the timing of its format, is refused
	// with 552 5.3.4 as the bridge's hand-off would refuse it (P-AUDIO-LONG),
	// so that check and the milter agree before the hand-off. 0: only the
	// codec's limit (its MaxDuration, which the bridge applies too).
	BridgeMaxAudio time.Duration

	// Codec transcodes audio; nil means never transcode.
	Codec AudioCodec
	// TempDir is where transcoded audio is spooled ("" = os.TempDir()).
	TempDir string
	// Limits bound the parser (depth 50, 1000 parts, 1 MiB top-level
	// header, 1000 lines and 64 KiB per part header); beyond them a
	// message passes unchanged, not interpreted (P-LIMIT).
	Limits Limits
}

// BodyTargets lists the targets a configuration may give a recipient
// domain (Options.DefaultTarget, Options.Targets). TargetBridge is not one
// of them: gateway domains choose it.
func BodyTargets() []Target {
	return []Target{TargetVPIM2, TargetVPIM1, TargetIVM, TargetDesktop, TargetPassthrough}
}

// The values of Options.IVMAudio.
const (
	IVMAudioRaw = "raw" // headerless µ-law audio/basic, what RFC 4239 7 mandates
	IVMAudioAU  = "au"  // Sun .snd header, still audio/basic
	IVMAudioWAV = "wav" // µ-law audio/wav, for desktop players
)

// IVMAudioForms lists the values of Options.IVMAudio.
func IVMAudioForms() []string { return []string{IVMAudioRaw, IVMAudioAU, IVMAudioWAV} }

// The values of Options.DesktopAudio.
const (
	DesktopAudioMP3 = "mp3" // audio/mpeg, what every mail reader plays, at 24 kbit/s by default (µ-law: 64)
	DesktopAudioWAV = "wav" // µ-law audio/wav: no encoder, 64 kbit/s
)

// DesktopAudioForms lists the values of Options.DesktopAudio.
func DesktopAudioForms() []string { return []string{DesktopAudioMP3, DesktopAudioWAV} }

// DefaultMP3Bitrate is the bit rate of the desktop target's MP3 when
// Options.MP3Bitrate is 0: speech at 16 kHz mono (README "Desktop clients").
const DefaultMP3Bitrate = 24

// MessageIDPolicies lists the values of Options.MessageIDPolicy.
func MessageIDPolicies() []string { return []string{"fix", "keep"} }

// SensitivityCodes lists the values of Options.SensitivityCode ("" picks
// by the input's profile).
func SensitivityCodes() []string { return []string{"", "5.6.0", "5.3.3"} }

// FieldError is one invalid option, named by its field path in Options
// ("DefaultTarget", "VoiceDomains[2]", "Targets.vm.example.net").
// Options.Validate returns them joined.
type FieldError = optfield.Error

// WithDefaults returns a copy of o with zero values replaced by the
// defaults; it is the one place they are written down.
func (o Options) WithDefaults() Options {
	if o.DefaultTarget == "" {
		o.DefaultTarget = TargetIVM
	}
	if o.MessageIDPolicy == "" {
		o.MessageIDPolicy = "fix"
	}
	if o.IVMAudio == "" {
		o.IVMAudio = IVMAudioRaw
	}
	if o.DesktopAudio == "" {
		o.DesktopAudio = DesktopAudioMP3
	}
	if o.MP3Bitrate == 0 {
		o.MP3Bitrate = DefaultMP3Bitrate
	}
	if o.Hostname == "" {
		o.Hostname = "localhost"
	}
	o.Limits = o.Limits.withDefaults()
	return o
}

// Validate reports every invalid option at once as *FieldError values
// joined with errors.Join. It checks o as the engine uses it: call it on
// WithDefaults() for zero values to mean the defaults (New does).
func (o Options) Validate() error {
	var errs optfield.List
	optfield.OneOf(&errs, "DefaultTarget", o.DefaultTarget, BodyTargets())
	for d, t := range o.Targets {
		optfield.OneOf(&errs, "Targets."+d, t, BodyTargets())
		if !ValidDomain(d) {
			errs.Add("Targets", "%q is not a domain name", d)
		}
	}
	for _, l := range []struct {
		field string
		list  []string
	}{{"PrivacyCapable", o.PrivacyCapable}, {"VoiceDomains", o.VoiceDomains}, {"GatewayDomains", o.GatewayDomains}} {
		for _, d := range l.list {
			if !ValidDomain(d) {
				errs.Add(l.field, "%q is not a domain name", d)
			}
		}
	}
	if !oneOf(o.SensitivityCode, SensitivityCodes()) {
		errs.Add("SensitivityCode", "%q: want \"5.6.0\" or \"5.3.3\" (or empty for 5.6.0, 5.3.3 for v1 input)", o.SensitivityCode)
	}
	optfield.OneOf(&errs, "MessageIDPolicy", o.MessageIDPolicy, MessageIDPolicies())
	if !ValidDomain(o.Hostname) {
		errs.Add("Hostname", "%q is not a host name", o.Hostname)
	}
	optfield.OneOf(&errs, "IVMAudio", o.IVMAudio, IVMAudioForms())
	optfield.OneOf(&errs, "DesktopAudio", o.DesktopAudio, DesktopAudioForms())
	if rates := codec.MP3Bitrates(); !slices.Contains(rates, o.MP3Bitrate) {
		s := make([]string, len(rates))
		for i, r := range rates {
			s[i] = strconv.Itoa(r)
		}
		errs.Add("MP3Bitrate", "%d: want %s or %s (kbit/s; the encoder's rates for mono MP3 at 16 kHz)",
			o.MP3Bitrate, strings.Join(s[:len(s)-1], ", "), s[len(s)-1])
	}
	if o.BridgeMaxAudio < 0 {
		errs.Add("BridgeMaxAudio", "%v: want a positive duration, or 0 for the codec's limit", o.BridgeMaxAudio)
	}
	for _, l := range []struct {
		field string
		n     int64
	}{{"Limits.MaxDepth", int64(o.Limits.MaxDepth)}, {"Limits.MaxParts", int64(o.Limits.MaxParts)},
		{"Limits.MaxHeaderBytes", o.Limits.MaxHeaderBytes}, {"Limits.MaxPartHeaderLines", int64(o.Limits.MaxPartHeaderLines)},
		{"Limits.MaxPartHeaderBytes", o.Limits.MaxPartHeaderBytes}} {
		if l.n <= 0 {
			errs.Add(l.field, "%d: want a positive number", l.n)
		}
	}
	if o.Limits.MaxPartHeaderBytes > 0 && o.Limits.MaxPartHeaderBytes < 1024 {
		errs.Add("Limits.MaxPartHeaderBytes", "%d: want at least 1024 bytes (a MIME part header is rarely under 100)", o.Limits.MaxPartHeaderBytes)
	}
	return errs.Err()
}

func oneOf(s string, allowed []string) bool {
	for _, a := range allowed {
		if s == a {
			return true
		}
	}
	return false
}

// ValidDomain reports whether d is a domain name as the options take them:
// dot-separated labels of letters, digits and hyphens (RFC 5321 4.1.2), at
// most 253 characters.
func ValidDomain(d string) bool {
	if d == "" || len(d) > 253 {
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
