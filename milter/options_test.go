package milter_test

import (
	"errors"
	"fmt"
	"os"
	"slices"
	"testing"
	"time"

	"github.com/vpim-milter/vpim-milter/milter"
)

// TestOptionsValidate: every invalid option comes back at once as a
// FieldError naming its field.
func TestOptionsValidate(t *testing.T) {
	tests := []struct {
		name string
		opts milter.Options
		want []string // "Field: Msg", in order
	}{
		{"defaults", milter.Options{}, nil},
		{"all wrong", milter.Options{Listen: milter.Address{Network: "udp", Addr: "x"}, Socket: milter.SocketOptions{Mode: os.ModeSetuid | 0o660},
			ReadTimeout: -time.Second, BodyMaxSize: -1, MaxHeaders: -5, ErrorAction: milter.ActionReject, OversizeAction: "drop", TempDir: "/nonexistent/dir"},
			[]string{
				`Listen: unknown network "udp" (hint: "inet:8895@127.0.0.1" or "unix:/run/vpim-milter/milter.sock")`,
				`Socket.Mode: 040000660 is not a permission mode such as 0660`,
				`ReadTimeout: must be positive, got -1s (hint: a duration such as "30s")`,
				`BodyMaxSize: must be positive, got -1 (hint: "64MiB")`,
				`MaxHeaders: must be positive, got -5 (hint: 2000)`,
				`ErrorAction: "reject": want tempfail or accept`,
				`OversizeAction: "drop": want reject, tempfail or accept`,
				`TempDir: "/nonexistent/dir" is not a directory`,
			}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var got []string
			err := tc.opts.WithDefaults().Validate()
			if err != nil {
				for _, e := range err.(interface{ Unwrap() []error }).Unwrap() {
					var fe *milter.FieldError
					if !errors.As(e, &fe) {
						t.Fatalf("%v is not a FieldError", e)
					}
					got = append(got, fe.Field+": "+fe.Msg)
				}
			}
			if !slices.Equal(got, tc.want) {
				t.Fatalf("got  %q\nwant %q", got, tc.want)
			}
		})
	}
}

func TestRestartRequired(t *testing.T) {
	run := milter.Options{}.WithDefaults()
	next := run
	next.EvalTimeout, next.BodyMaxSize, next.ErrorAction, next.DrainTimeout = time.Minute, 1, milter.ActionAccept, time.Second
	if got := next.RestartRequired(run); got != nil {
		t.Errorf("reloadable changes need a restart: %v", got)
	}
	next.Listen, next.Socket.Group, next.ReadTimeout = milter.Address{Network: "unix", Addr: "/run/m.sock"}, "postfix", time.Hour
	if got := fmt.Sprint(next.RestartRequired(run)); got != "[Listen Socket.Group ReadTimeout]" {
		t.Errorf("restart fields %s", got)
	}
}

func TestAddressSpec(t *testing.T) {
	for _, s := range []string{"inet:8895@127.0.0.1", "inet6:8895@::1", "unix:/run/vpim-milter/milter.sock"} {
		a, err := milter.ParseAddress(s)
		if err != nil {
			t.Fatal(err)
		}
		if a.Spec() != s {
			t.Errorf("%s: spec %s", s, a.Spec())
		}
	}
	if a, _ := milter.ParseAddress("inet:127.0.0.1:25"); a.Spec() != "inet:25@127.0.0.1" {
		t.Errorf("postfix form: %s", a.Spec())
	}
}

func ExampleOptions_Validate() {
	err := milter.Options{ErrorAction: "drop", MaxHeaders: -1}.WithDefaults().Validate()
	fmt.Println(err)
	// Output:
	// MaxHeaders: must be positive, got -1 (hint: 2000)
	// ErrorAction: "drop": want tempfail or accept
}
