package milter

import (
	"fmt"
	"maps"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/vpim-milter/vpim-milter/internal/optfield"
	"github.com/vpim-milter/vpim-milter/profile"
)

// Action is what happens to a message the filter cannot evaluate.
type Action string

// The actions for error_action and oversize_action.
const (
	ActionTempfail Action = "tempfail" // 4xx: the MTA keeps the message and the client retries
	ActionAccept   Action = "accept"   // deliver unchanged
	ActionReject   Action = "reject"   // 5xx (oversize_action only)
)

// ErrorActions lists the values Options.ErrorAction takes.
func ErrorActions() []Action { return []Action{ActionTempfail, ActionAccept} }

// OversizeActions lists the values Options.OversizeAction takes.
func OversizeActions() []Action { return []Action{ActionReject, ActionTempfail, ActionAccept} }

// FieldError is one invalid option, named by its field path in Options
// ("ReadTimeout", "Socket.Mode"). Options.Validate returns them joined.
type FieldError = optfield.Error

// Options configures a [Filter]. WithDefaults fills in the zero values;
// the defaults are noted with each field.
type Options struct {
	Listen         Address       // where the MTA connects; zero: inet:8895@127.0.0.1
	Socket         SocketOptions // owner and mode of a unix socket
	ReadTimeout    time.Duration // per milter command; zero: 10 minutes
	WriteTimeout   time.Duration // zero: 30 seconds
	EvalTimeout    time.Duration // evaluation budget at end of message; zero: 2 minutes
	BodyMaxMemory  int64         // body bytes kept in memory before spilling to a temp file; zero: 1 MiB
	BodyMaxSize    int64         // larger bodies get OversizeAction; zero: 64 MiB
	MaxHeaders     int           // zero: 2000 fields
	MaxHeaderBytes int64         // zero: 1 MiB
	TempDir        string        // for spilled bodies; "": os.TempDir()
	ErrorAction    Action        // on internal errors and panics; "": tempfail
	OversizeAction Action        // on bodies or headers over the caps; "": reject (552 5.3.4)
	DrainTimeout   time.Duration // how long SIGTERM waits for open sessions; zero: 30 seconds
	// ProgressInterval is how often the end of a message (evaluation and
	// telephony hand-off) tells the MTA it is still working
	// (SMFIR_PROGRESS, which restarts Postfix's milter_content_timeout and
	// Sendmail's E timeout); zero: 20 seconds.
	ProgressInterval time.Duration
	// MaxSessions bounds the open MTA connections; one more is closed at
	// once (the MTA applies its milter_default_action to that SMTP
	// session). Zero: 256, above Postfix's default process limit of 100
	// smtpd processes, each with one milter connection.
	MaxSessions int
	// BodyMemoryTotal bounds the body bytes all sessions keep in memory
	// together (each one up to BodyMaxMemory), and with them the milter
	// packets over 64 KiB while they are read; beyond it bodies go to
	// their temporary files at once, and a large packet that finds no room
	// ends its connection. Zero: 32 MiB.
	BodyMemoryTotal int64
	// IdleTimeout is how long a negotiated connection may stay silent
	// outside a transaction (before MAIL, after the end of a message or an
	// abort) before it is closed; inside a transaction ReadTimeout
	// applies. Zero: 6 minutes, longer than the 5 minutes an MTA waits for
	// its SMTP client's next command (RFC 5321 4.5.3.2, Postfix
	// smtpd_timeout = 300s), so only connections no MTA is using time out.
	IdleTimeout time.Duration
	// AllowUnauthenticatedListener accepts a listener that every local
	// user can connect to (TCP, or a unix socket others may write) while
	// a telephony back-end places calls. The command refuses that
	// combination otherwise: anyone on the host could speak milter and
	// make the gateway dial. The milter itself only reports the listener
	// with ReachableByAll.
	AllowUnauthenticatedListener bool
	// Bridge receives voice-bound recipients; nil: none configured (they
	// are refused with 550 5.7.1).
	Bridge Bridge
	// Mode is whether decisions are carried out (enforce) or only logged,
	// stamped and counted (report); "": enforce. README "Report-only mode".
	Mode Mode
	// TargetModes overrides Mode for the messages of one target profile
	// (vpim2, vpim1, ivm, passthrough, bridge); the bridge's entry says
	// whether voice-bound recipients are handed off.
	TargetModes map[profile.Target]Mode
	// NoStamp leaves out the VPIM-Check result stamp (StampField) on voice
	// messages; forged copies claiming AuthservID are removed all the same.
	NoStamp bool
	// AuthservID names this filter in its stamps (the authserv-id of RFC
	// 8601 2.2); "": the host name (os.Hostname).
	AuthservID string
	// On says what happens to a message on each condition of the profile
	// that refuses it; README "Per-condition actions".
	On OnOptions
}

// SocketOptions sets the owner and mode of a unix socket.
type SocketOptions struct {
	Mode  os.FileMode // zero: 0660
	Group string      // group name or number; "" keeps the process group
}

// WithDefaults returns a copy of o with zero values replaced by the
// defaults. It is the one place the defaults are written down; the
// command's built-in configuration is made from it.
func (o Options) WithDefaults() Options {
	if o.Listen == (Address{}) {
		o.Listen = Address{Network: "tcp4", Addr: "127.0.0.1:8895"}
	}
	if o.Socket.Mode == 0 {
		o.Socket.Mode = 0o660
	}
	def := func(d *time.Duration, v time.Duration) {
		if *d == 0 {
			*d = v
		}
	}
	def(&o.ReadTimeout, 10*time.Minute)
	def(&o.WriteTimeout, 30*time.Second)
	def(&o.EvalTimeout, 2*time.Minute)
	def(&o.DrainTimeout, 30*time.Second)
	def(&o.ProgressInterval, 20*time.Second)
	def(&o.IdleTimeout, 6*time.Minute)
	if o.MaxSessions == 0 {
		o.MaxSessions = 256
	}
	if o.BodyMemoryTotal == 0 {
		o.BodyMemoryTotal = 32 << 20
	}
	if o.BodyMaxMemory == 0 {
		o.BodyMaxMemory = 1 << 20
	}
	if o.BodyMaxSize == 0 {
		o.BodyMaxSize = 64 << 20
	}
	if o.MaxHeaders == 0 {
		o.MaxHeaders = 2000
	}
	if o.MaxHeaderBytes == 0 {
		o.MaxHeaderBytes = 1 << 20
	}
	if o.ErrorAction == "" {
		o.ErrorAction = ActionTempfail
	}
	if o.OversizeAction == "" {
		o.OversizeAction = ActionReject
	}
	if o.Mode == "" {
		o.Mode = ModeEnforce
	}
	if o.AuthservID == "" {
		o.AuthservID = "localhost"
		if h, err := os.Hostname(); err == nil && profile.ValidDomain(h) {
			o.AuthservID = strings.ToLower(h)
		}
	}
	o.On = o.On.withDefaults()
	return o
}

// Validate reports every invalid option at once as *FieldError values
// joined with errors.Join. It checks o as the filter uses it: call it on
// WithDefaults() for zero values to mean the defaults (New does).
func (o Options) Validate() error {
	var errs optfield.List
	switch o.Listen.Network {
	case "unix", "tcp", "tcp4", "tcp6":
		if o.Listen.Addr == "" {
			errs.Add("Listen", "no address")
		}
	default:
		errs.Add("Listen", "unknown network %q (hint: \"inet:8895@127.0.0.1\" or \"unix:/run/vpim-milter/milter.sock\")", o.Listen.Network)
	}
	if o.Socket.Mode&^os.ModePerm != 0 {
		errs.Add("Socket.Mode", "%#o is not a permission mode such as 0660", uint32(o.Socket.Mode))
	}
	for _, d := range []struct {
		field string
		v     time.Duration
	}{{"ReadTimeout", o.ReadTimeout}, {"WriteTimeout", o.WriteTimeout}, {"EvalTimeout", o.EvalTimeout},
		{"DrainTimeout", o.DrainTimeout}, {"ProgressInterval", o.ProgressInterval}, {"IdleTimeout", o.IdleTimeout}} {
		optfield.Positive(&errs, d.field, d.v, `a duration such as "30s"`)
	}
	optfield.Positive(&errs, "BodyMaxMemory", o.BodyMaxMemory, `"1MiB"`)
	optfield.Positive(&errs, "BodyMaxSize", o.BodyMaxSize, `"64MiB"`)
	optfield.Positive(&errs, "MaxHeaders", o.MaxHeaders, "2000")
	optfield.Positive(&errs, "MaxHeaderBytes", o.MaxHeaderBytes, `"1MiB"`)
	optfield.Positive(&errs, "MaxSessions", o.MaxSessions, "256")
	optfield.Positive(&errs, "BodyMemoryTotal", o.BodyMemoryTotal, `"32MiB"`)
	optfield.OneOf(&errs, "ErrorAction", o.ErrorAction, ErrorActions())
	optfield.OneOf(&errs, "OversizeAction", o.OversizeAction, OversizeActions())
	optfield.OneOf(&errs, "Mode", o.Mode, Modes())
	for _, t := range slices.Sorted(maps.Keys(o.TargetModes)) {
		if !slices.Contains(ModeTargets(), t) {
			var names []string
			for _, mt := range ModeTargets() {
				names = append(names, string(mt))
			}
			errs.Add("TargetModes", "%q is not a target (want one of %s)", t, strings.Join(names, ", "))
			continue
		}
		optfield.OneOf(&errs, "TargetModes."+string(t), o.TargetModes[t], Modes())
	}
	if !profile.ValidDomain(o.AuthservID) {
		errs.Add("AuthservID", "%q is not a host name (hint: the name of this host, \"mx.example.com\")", o.AuthservID)
	}
	o.On.validate(&errs, o.NoStamp)
	if o.TempDir != "" {
		if st, err := os.Stat(o.TempDir); err != nil || !st.IsDir() {
			errs.Add("TempDir", "%q is not a directory", o.TempDir)
		}
	}
	return errs.Err()
}

// RestartRequired lists the fields in which o differs from the options
// the filter is running with that a reload cannot apply: the listener and
// its socket exist, and go-milter fixes its read and write timeouts when
// the server is built.
func (o Options) RestartRequired(running Options) []string {
	var out []string
	if o.Listen != running.Listen {
		out = append(out, "Listen")
	}
	if o.Socket.Mode != running.Socket.Mode {
		out = append(out, "Socket.Mode")
	}
	if o.Socket.Group != running.Socket.Group {
		out = append(out, "Socket.Group")
	}
	if o.ReadTimeout != running.ReadTimeout {
		out = append(out, "ReadTimeout")
	}
	if o.WriteTimeout != running.WriteTimeout {
		out = append(out, "WriteTimeout")
	}
	return out
}

// ReachableByAll reports whether every local user can connect to the
// listener o describes, and says why: any TCP listener (loopback is
// reachable from every account on the host; the milter protocol has no
// authentication), or a unix socket whose mode lets others write (connect
// needs write permission, Linux unix(7)). A unix socket of mode 0660 in
// the group of the MTA is the way to keep the others out.
func (o Options) ReachableByAll() (bool, string) {
	switch {
	case o.Listen.Network != "unix":
		return true, fmt.Sprintf("%s is a TCP listener: every local user can connect to it", o.Listen.Spec())
	case o.Socket.Mode&0o002 != 0:
		return true, fmt.Sprintf("socket mode %04o lets every local user connect to %s", uint32(o.Socket.Mode), o.Listen.Addr)
	}
	return false, ""
}

// WiderSocketMode reports a unix socket mode with bits beyond 0660 (the
// owner and group need read and write, nobody needs execute, others need
// nothing): "" when there are none, else a warning for the log.
func (o Options) WiderSocketMode() string {
	if o.Listen.Network != "unix" || o.Socket.Mode&^0o660 == 0 {
		return ""
	}
	return fmt.Sprintf("socket_mode %04o is wider than 0660 (hint: 0660 with socket_group set to the MTA's group)", uint32(o.Socket.Mode))
}
