package milter

import (
	"os"
	"time"

	"github.com/vpim-milter/vpim-milter/internal/optfield"
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
	// ProgressInterval is how often a long evaluation tells the MTA it is
	// still working; zero: 20 seconds.
	ProgressInterval time.Duration
	// Bridge receives voice-bound recipients; nil: none configured (they
	// are refused with 550 5.7.1).
	Bridge Bridge
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
		{"DrainTimeout", o.DrainTimeout}, {"ProgressInterval", o.ProgressInterval}} {
		optfield.Positive(&errs, d.field, d.v, `a duration such as "30s"`)
	}
	optfield.Positive(&errs, "BodyMaxMemory", o.BodyMaxMemory, `"1MiB"`)
	optfield.Positive(&errs, "BodyMaxSize", o.BodyMaxSize, `"64MiB"`)
	optfield.Positive(&errs, "MaxHeaders", o.MaxHeaders, "2000")
	optfield.Positive(&errs, "MaxHeaderBytes", o.MaxHeaderBytes, `"1MiB"`)
	optfield.OneOf(&errs, "ErrorAction", o.ErrorAction, ErrorActions())
	optfield.OneOf(&errs, "OversizeAction", o.OversizeAction, OversizeActions())
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
