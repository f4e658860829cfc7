package telephony

import (
	"errors"
	"strings"
	"testing"
	"time"
)

// TestValidateCollectsAll: every problem comes back at once, as a
// FieldError naming its field path.
func TestValidateCollectsAll(t *testing.T) {
	o := Options{
		SpoolDir:       "relative/spool",
		Backend:        "sip",
		SIP:            SIPOptions{Trunk: "tel:123", Listen: "nocolon", Codecs: []string{"PCMU", "G729"}, CallerID: "a b", MaxReplays: -1},
		Retry:          []time.Duration{time.Second, 0},
		Concurrency:    -1,
		KeepDone:       -time.Hour,
		KeepFailed:     -time.Nanosecond,
		HomeCountry:    "1",
		OutdialAllow:   []string{"+1613", "abc"},
		OutdialDeny:    []string{"+1900*", ""},
		AllowedSenders: []string{"a b@example.com"},
		DSN:            DSNOptions{SMTPAddr: "localhost", From: "x\r\ny", Timeout: -time.Second},
	}.WithDefaults()
	var got []string
	for _, e := range o.Validate().(interface{ Unwrap() []error }).Unwrap() {
		var fe *FieldError
		if !errors.As(e, &fe) {
			t.Fatalf("%v is not a FieldError", e)
		}
		got = append(got, fe.Field+": "+fe.Msg)
	}
	want := []string{
		`SpoolDir: "relative/spool" must be an absolute path`,
		`SIP.Trunk: telephony: sip: trunk "tel:123" has no host`,
		`SIP.Listen: address nocolon: missing port in address (hint: "127.0.0.1:5062")`,
		`SIP.Codecs: unknown codec "G729" (hint: PCMU, PCMA)`,
		`SIP.CallerID: "a b" must be digits or a plain token`,
		`SIP.MaxReplays: must be positive, got -1 (hint: 3; replay = false turns replays off)`,
		`Retry[1]: must be positive, got 0s`,
		`Concurrency: must be positive, got -1 (hint: 4)`,
		`KeepDone: must not be negative, got -1h0m0s (hint: "168h" is a week)`,
		`KeepFailed: must not be negative, got -1ns (hint: "720h" is 30 days)`,
		`HomeCountry: "1" must be "+" and 1-3 digits`,
		`OutdialAllow[1]: "abc" is not a number prefix (hint: "+1613")`,
		`OutdialDeny[1]: "" is not a number prefix (hint: "+1900")`,
		`AllowedSenders[0]: "a b@example.com" is not an address, @domain or "*"`,
		`DSN.SMTPAddr: address localhost: missing port in address (hint: "127.0.0.1:25")`,
		`DSN.From: "x\r\ny" must be a bare address`,
		`DSN.Timeout: must be positive, got -1s (hint: "30s")`,
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func TestValidateBackends(t *testing.T) {
	tests := []struct {
		name string
		o    Options
		want string // the FieldError's field, "" = valid
	}{
		{"spool default", Options{SpoolDir: "/s"}, ""},
		{"no spool", Options{}, "SpoolDir"},
		{"sip ok", Options{SpoolDir: "/s", Backend: "sip", SIP: SIPOptions{Trunk: "sip:127.0.0.1:5080"}}, ""},
		{"sip default trunk", Options{SpoolDir: "/s", Backend: "sip"}, ""},
		{"asterisk ok", Options{SpoolDir: "/s", Backend: "asterisk"}, ""},
		{"asterisk channel", Options{SpoolDir: "/s", Backend: "asterisk", Asterisk: AsteriskOptions{Channel: "PJSIP/x"}}, "Asterisk.Channel"},
		{"asterisk channel default form", Options{SpoolDir: "/s", Backend: "asterisk", Asterisk: AsteriskOptions{Channel: "PJSIP/{number}@trunk"}}, ""},
		{"asterisk channel unsafe", Options{SpoolDir: "/s", Backend: "asterisk", Asterisk: AsteriskOptions{Channel: "PJSIP/{number}@trunk;x"}}, "Asterisk.Channel"},
		{"asterisk context", Options{SpoolDir: "/s", Backend: "asterisk", Asterisk: AsteriskOptions{Context: "a;b"}}, "Asterisk.Context"},
		{"asterisk relative dir", Options{SpoolDir: "/s", Backend: "asterisk", Asterisk: AsteriskOptions{TmpDir: "tmp"}}, "Asterisk.TmpDir"},
		{"exec relative", Options{SpoolDir: "/s", Backend: "exec", Exec: ExecOptions{Command: "dial.sh"}}, "Exec.Command"},
		{"exec missing", Options{SpoolDir: "/s", Backend: "exec"}, "Exec.Command"},
		{"exec ok", Options{SpoolDir: "/s", Backend: "exec", Exec: ExecOptions{Command: "/bin/true"}}, ""},
		{"unknown", Options{SpoolDir: "/s", Backend: "fax"}, "Backend"},
		{"keep forever", Options{SpoolDir: "/s", KeepDone: KeepForever, KeepFailed: KeepForever}, ""},
		{"keep an hour", Options{SpoolDir: "/s", KeepDone: time.Hour, KeepFailed: time.Hour}, ""},
		{"keep done negative", Options{SpoolDir: "/s", KeepDone: -time.Second}, "KeepDone"},
		{"keep failed negative", Options{SpoolDir: "/s", KeepFailed: -time.Second}, "KeepFailed"},
		{"delay after never", Options{SpoolDir: "/s", DSN: DSNOptions{DelayAfter: DelayNever}}, ""},
		{"delay after a minute", Options{SpoolDir: "/s", DSN: DSNOptions{DelayAfter: time.Minute}}, ""},
		{"delay after negative", Options{SpoolDir: "/s", DSN: DSNOptions{DelayAfter: -time.Nanosecond}}, "DSN.DelayAfter"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.o.WithDefaults().Validate()
			var fe *FieldError
			switch {
			case tc.want == "" && err != nil:
				t.Fatalf("unexpected: %v", err)
			case tc.want != "" && (!errors.As(err, &fe) || fe.Field != tc.want):
				t.Fatalf("want a FieldError for %s, got %v", tc.want, err)
			}
		})
	}
}

func TestRestartRequired(t *testing.T) {
	base := Options{SpoolDir: "/s", Backend: BackendSIP}.WithDefaults()
	change := func(f func(*Options)) Options {
		o := base
		o.SIP.Codecs = append([]string(nil), o.SIP.Codecs...)
		f(&o)
		return o
	}
	tests := []struct {
		name    string
		running Options
		next    Options
		want    string
	}{
		{"nothing", base, base, ""},
		{"policy and worker settings", base, change(func(o *Options) {
			o.OutdialDeny, o.AllowedSenders, o.Retry, o.SIP.Trunk, o.SIP.Username, o.DSN.DelayAfter = []string{"+1"}, []string{"*"}, []time.Duration{time.Second}, "sip:pbx.example", "u", time.Hour
		}), ""},
		{"back-end and spool", base, change(func(o *Options) { o.Backend, o.SpoolDir = BackendExec, "/t" }), "Backend SpoolDir"},
		{"sip stack", base, change(func(o *Options) { o.Concurrency, o.SIP.Listen, o.SIP.Codecs = 9, "127.0.0.1:5070", []string{"PCMA"} }), "Concurrency SIP.Listen SIP.Codecs"},
		{"sip stack unused by the spool back-end", Options{SpoolDir: "/s"}.WithDefaults(), change(func(o *Options) { o.Backend, o.Concurrency, o.SIP.Listen = BackendSpool, 9, "127.0.0.1:5070" }), ""},
	}
	for _, tc := range tests {
		if got := strings.Join(tc.next.RestartRequired(tc.running), " "); got != tc.want {
			t.Errorf("%s: %q, want %q", tc.name, got, tc.want)
		}
	}
}

func TestWithDefaults(t *testing.T) {
	o := Options{Asterisk: AsteriskOptions{OutgoingDir: "/var/spool/asterisk/outgoing/"}}.WithDefaults()
	tcompare(t, o.Backend, "spool", "backend")
	tcompare(t, o.Asterisk.TmpDir, "/var/spool/asterisk/tmp", "tmp dir")
	tcompare(t, o.Asterisk.DoneDir, "/var/spool/asterisk/outgoing_done", "done dir")
	tcompare(t, o.DSN.SMTPAddr, "127.0.0.1:25", "smtp")
	tcompare(t, o.DSN.From, "", "from (MAILER-DAEMON@ReportingMTA when the DSN is built)")
	tcompare(t, o.SIP.Trunk, "sip:127.0.0.1:5080", "trunk")
	tcompare(t, o.SIP.Listen, "127.0.0.1:5062", "listen")
	tcompare(t, len(o.Retry), 5, "retry entries")
	tcompare(t, o.Expire, 24*time.Hour, "expire")
	tcompare(t, o.KeepDone, 168*time.Hour, "keep done")
	tcompare(t, o.KeepFailed, 720*time.Hour, "keep failed")
	o = Options{KeepDone: KeepForever, KeepFailed: time.Hour}.WithDefaults()
	tcompare(t, o.KeepDone, KeepForever, "keep done forever")
	tcompare(t, o.KeepFailed, time.Hour, "keep failed set")
	tcompare(t, Options{}.WithDefaults().DSN.DelayAfter, 4*time.Hour, "delay after default")
	tcompare(t, Options{DSN: DSNOptions{DelayAfter: DelayNever}}.WithDefaults().DSN.DelayAfter, DelayNever, "delay after never")
	tcompare(t, Options{DSN: DSNOptions{DelayAfter: time.Minute}}.WithDefaults().DSN.DelayAfter, time.Minute, "delay after set")
}
