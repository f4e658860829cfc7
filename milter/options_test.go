package milter_test

import (
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
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
			ReadTimeout: -time.Second, BodyMaxSize: -1, MaxHeaders: -5, ErrorAction: milter.ActionReject, OversizeAction: "drop", TempDir: "/nonexistent/dir",
			IdleTimeout: -time.Minute, MaxSessions: -1, BodyMemoryTotal: -2},
			[]string{
				`Listen: unknown network "udp" (hint: "inet:8895@127.0.0.1" or "unix:/run/vpim-milter/milter.sock")`,
				`Socket.Mode: 040000660 is not a permission mode such as 0660`,
				`ReadTimeout: must be positive, got -1s (hint: a duration such as "30s")`,
				`IdleTimeout: must be positive, got -1m0s (hint: a duration such as "30s")`,
				`BodyMaxSize: must be positive, got -1 (hint: "64MiB")`,
				`MaxHeaders: must be positive, got -5 (hint: 2000)`,
				`MaxSessions: must be positive, got -1 (hint: 256)`,
				`BodyMemoryTotal: must be positive, got -2 (hint: "32MiB")`,
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

// TestReachableByAll: TCP listeners and unix sockets that others may write
// are open to every local user (item 4 of issue 9: the command refuses them
// with a calling telephony back-end); a wider mode than 0660 is reported.
func TestReachableByAll(t *testing.T) {
	unix := milter.Address{Network: "unix", Addr: "/run/vpim-milter/milter.sock"}
	for _, tc := range []struct {
		opts  milter.Options
		open  bool
		wider string
	}{
		{milter.Options{}, true, ""}, // the built-in inet:8895@127.0.0.1
		{milter.Options{Listen: milter.Address{Network: "tcp6", Addr: "[::1]:8895"}}, true, ""},
		{milter.Options{Listen: unix}, false, ""},
		{milter.Options{Listen: unix, Socket: milter.SocketOptions{Mode: 0o600}}, false, ""},
		{milter.Options{Listen: unix, Socket: milter.SocketOptions{Mode: 0o664}}, false, "socket_mode 0664 is wider than 0660 (hint: 0660 with socket_group set to the MTA's group)"},
		{milter.Options{Listen: unix, Socket: milter.SocketOptions{Mode: 0o666}}, true, "socket_mode 0666 is wider than 0660 (hint: 0660 with socket_group set to the MTA's group)"},
		{milter.Options{Listen: unix, Socket: milter.SocketOptions{Mode: 0o770}}, false, "socket_mode 0770 is wider than 0660 (hint: 0660 with socket_group set to the MTA's group)"},
	} {
		o := tc.opts.WithDefaults()
		open, why := o.ReachableByAll()
		if open != tc.open || open == (why == "") {
			t.Errorf("%s mode %04o: reachable %v (%q), want %v", o.Listen.Spec(), o.Socket.Mode, open, why, tc.open)
		}
		if got := o.WiderSocketMode(); got != tc.wider {
			t.Errorf("%s mode %04o: %q, want %q", o.Listen.Spec(), o.Socket.Mode, got, tc.wider)
		}
	}
}

// TestListenRefusesNonSocket: listen = "unix:PATH" on a path that holds a
// regular file or a directory is an error, and the file stays as it was
// (before, it was removed as if it were a stale socket).
func TestListenRefusesNonSocket(t *testing.T) {
	dir := t.TempDir()
	file := dir + "/important.conf"
	if err := os.WriteFile(file, []byte("keep me\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{file, dir} {
		ln, err := milter.Listen(milter.Address{Network: "unix", Addr: p}, milter.SocketOptions{})
		if err == nil {
			ln.Close()
			t.Fatalf("listened on %s", p)
		}
		if !strings.Contains(err.Error(), "is not a socket") {
			t.Errorf("%s: %v", p, err)
		}
	}
	if b, err := os.ReadFile(file); err != nil || string(b) != "keep me\n" {
		t.Errorf("the file after the refusal: %q, %v", b, err)
	}
}
