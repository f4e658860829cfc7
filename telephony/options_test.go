package telephony

import (
	"strings"
	"testing"
	"time"
)

func TestValidateCollectsAll(t *testing.T) {
	o := Options{
		SpoolDir:       "relative/spool",
		Backend:        "sip",
		SIP:            SIPOptions{Listen: "nocolon", Codecs: []string{"PCMU", "G729"}},
		Retry:          []time.Duration{time.Second, 0},
		Concurrency:    -1,
		KeepDone:       -time.Hour,
		KeepFailed:     -time.Nanosecond,
		HomeCountry:    "1",
		OutdialAllow:   []string{"+1613", "abc"},
		OutdialDeny:    []string{"+1900*", ""},
		AllowedSenders: []string{"a b@example.com"},
		DSN:            DSNOptions{SMTPAddr: "localhost", From: "x\r\ny"},
	}
	err := o.Validate()
	if err == nil {
		t.Fatal("no error")
	}
	msg := err.Error()
	for _, key := range []string{
		"telephony.spool_dir", "telephony.sip.trunk", "telephony.sip.listen", "telephony.sip.codecs",
		"telephony.retry[1]", "telephony.concurrency", "telephony.keep_done", "telephony.keep_failed", "telephony.home_country",
		"telephony.outdial_allow[1]", "telephony.outdial_deny[1]", "telephony.allowed_senders[0]",
		"telephony.dsn.smtp_addr", "telephony.dsn.from",
	} {
		if !strings.Contains(msg, key+":") {
			t.Errorf("missing %s in:\n%s", key, msg)
		}
	}
	tcompare(t, strings.Count(msg, "\n")+1, 14, "number of problems")
	for _, line := range []string{
		`telephony: telephony.keep_done: must not be negative, got -1h0m0s (hint: "168h" is a week)`,
		`telephony: telephony.keep_failed: must not be negative, got -1ns (hint: "720h" is 30 days)`,
	} {
		if !strings.Contains(msg, line+"\n") {
			t.Errorf("missing line %s in:\n%s", line, msg)
		}
	}
	for _, ok := range []string{"telephony.outdial_allow[0]", "telephony.outdial_deny[0]", "telephony.retry[0]"} {
		if strings.Contains(msg, ok+":") {
			t.Errorf("%s reported but valid", ok)
		}
	}
}

func TestValidateBackends(t *testing.T) {
	tests := []struct {
		name string
		o    Options
		want string // "" = valid
	}{
		{"spool default", Options{SpoolDir: "/s"}, ""},
		{"sip ok", Options{SpoolDir: "/s", Backend: "sip", SIP: SIPOptions{Trunk: "sip:127.0.0.1:5080"}}, ""},
		{"asterisk ok", Options{SpoolDir: "/s", Backend: "asterisk"}, ""},
		{"asterisk channel", Options{SpoolDir: "/s", Backend: "asterisk", Asterisk: AsteriskOptions{Channel: "PJSIP/x"}}, "telephony.asterisk.channel"},
		{"asterisk channel default form", Options{SpoolDir: "/s", Backend: "asterisk", Asterisk: AsteriskOptions{Channel: "PJSIP/{number}@trunk"}}, ""},
		{"asterisk channel unsafe", Options{SpoolDir: "/s", Backend: "asterisk", Asterisk: AsteriskOptions{Channel: "PJSIP/{number}@trunk;x"}}, "telephony.asterisk.channel"},
		{"asterisk context", Options{SpoolDir: "/s", Backend: "asterisk", Asterisk: AsteriskOptions{Context: "a;b"}}, "telephony.asterisk.context"},
		{"exec relative", Options{SpoolDir: "/s", Backend: "exec", Exec: ExecOptions{Command: "dial.sh"}}, "telephony.exec.command"},
		{"exec ok", Options{SpoolDir: "/s", Backend: "exec", Exec: ExecOptions{Command: "/bin/true"}}, ""},
		{"unknown", Options{SpoolDir: "/s", Backend: "fax"}, "telephony.backend"},
		{"keep forever", Options{SpoolDir: "/s", KeepDone: KeepForever, KeepFailed: KeepForever}, ""},
		{"keep an hour", Options{SpoolDir: "/s", KeepDone: time.Hour, KeepFailed: time.Hour}, ""},
		{"keep done negative", Options{SpoolDir: "/s", KeepDone: -time.Second}, "telephony.keep_done"},
		{"keep failed negative", Options{SpoolDir: "/s", KeepFailed: -time.Second}, "telephony.keep_failed"},
		{"delay after never", Options{SpoolDir: "/s", DSN: DSNOptions{DelayAfter: DelayNever}}, ""},
		{"delay after a minute", Options{SpoolDir: "/s", DSN: DSNOptions{DelayAfter: time.Minute}}, ""},
		{"delay after negative", Options{SpoolDir: "/s", DSN: DSNOptions{DelayAfter: -time.Nanosecond}}, "telephony.dsn.delay_after"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.o.Validate()
			if tc.want == "" {
				if err != nil {
					t.Fatalf("unexpected: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.want+":") {
				t.Fatalf("want %s, got %v", tc.want, err)
			}
		})
	}
}

func TestWithDefaults(t *testing.T) {
	o := Options{Asterisk: AsteriskOptions{OutgoingDir: "/var/spool/asterisk/outgoing/"}}.WithDefaults()
	tcompare(t, o.Backend, "spool", "backend")
	tcompare(t, o.Asterisk.TmpDir, "/var/spool/asterisk/tmp", "tmp dir")
	tcompare(t, o.Asterisk.DoneDir, "/var/spool/asterisk/outgoing_done", "done dir")
	tcompare(t, o.DSN.SMTPAddr, "127.0.0.1:25", "smtp")
	tcompare(t, o.DSN.From, "MAILER-DAEMON@localhost", "from")
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
