package promtext

import (
	"net"

	"github.com/vpim-milter/vpim-milter/internal/optfield"
)

// FieldError is one invalid option, named by its field path in Options.
type FieldError = optfield.Error

// Options says where the daemon serves /metrics ([metrics] in the
// configuration).
type Options struct {
	// Listen is the host:port of the HTTP listener; "" serves no metrics.
	Listen string
}

// WithDefaults returns o: metrics are off unless Listen is set.
func (o Options) WithDefaults() Options { return o }

// Validate reports an invalid Listen as a *FieldError.
func (o Options) Validate() error {
	var errs optfield.List
	if o.Listen != "" {
		if _, _, err := net.SplitHostPort(o.Listen); err != nil {
			errs.Add("Listen", "%q: want host:port such as \"127.0.0.1:9895\"", o.Listen)
		}
	}
	return errs.Err()
}
