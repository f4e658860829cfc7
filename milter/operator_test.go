package milter_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"

	"github.com/vpim-milter/vpim-milter/codec"
	"github.com/vpim-milter/vpim-milter/internal/optfield"
	"github.com/vpim-milter/vpim-milter/milter"
	"github.com/vpim-milter/vpim-milter/milter/testengine"
	"github.com/vpim-milter/vpim-milter/profile"
)

const authserv = "mx.example.org"

// voiceEngine is the real profile engine: vm.example.net is a privacy-capable VPIM v2
// peer, every other domain IVM, vm.example.com our voice domain.
func voiceEngine(t *testing.T) *profile.Engine {
	t.Helper()
	tr, err := codec.NewTranscoder(codec.Options{})
	if err != nil {
		t.Fatal(err)
	}
	e, err := profile.New(profile.Options{DefaultTarget: profile.TargetIVM,
		Targets:        map[string]profile.Target{"vm.example.net": profile.TargetVPIM2},
		PrivacyCapable: []string{"vm.example.net"}, VoiceDomains: []string{"vm.example.com"}, Codec: tr})
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// vpim2 is a conformant VPIM v2 message (RFC 3801 4.4) to "to" with one second of
// audio/32KADPCM, CRLF line ends; extra header fields come first.
func vpim2(t *testing.T, to, sensitivity string, extra ...string) string {
	t.Helper()
	var adpcm bytes.Buffer
	w, err := codec.NewWriter(&adpcm, codec.ADPCM32, 8000)
	if err != nil {
		t.Fatal(err)
	}
	pcm := make([]byte, 16000)
	for i := range 8000 {
		v := int16((i%40 - 20) * 600)
		pcm[2*i], pcm[2*i+1] = byte(v), byte(v>>8)
	}
	w.Write(pcm)
	w.Close()
	h := append([]string{}, extra...)
	h = append(h, "From: \"Joe S. User\" <12145551212@vm.example.com>", "To: "+to,
		"Date: Mon, 23 Nov 2026 10:00:00 -0500", "Subject: Voice Message", "Message-ID: <op1@vm.example.com>")
	if sensitivity != "" {
		h = append(h, "Sensitivity: "+sensitivity)
	}
	h = append(h, "MIME-Version: 1.0 (Voice 2.0)", `Content-Type: multipart/voice-message; version=2.0; boundary="B1"`)
	enc := base64.StdEncoding.EncodeToString(adpcm.Bytes())
	var lines []string
	for len(enc) > 76 {
		lines, enc = append(lines, enc[:76]), enc[76:]
	}
	lines = append(lines, enc)
	return strings.Join(h, "\r\n") + "\r\n\r\n--B1\r\nContent-Type: audio/32KADPCM\r\nContent-Transfer-Encoding: base64\r\n" +
		"Content-Disposition: inline; voice=Voice-Message; filename=msg1.726\r\nContent-Duration: 1\r\n\r\n" +
		strings.Join(lines, "\r\n") + "\r\n--B1--\r\n"
}

const plain = "From: a@example.org\r\nTo: b@ivm.example.org\r\nSubject: lunch\r\nMessage-ID: <p1@example.org>\r\n\r\nat noon?\r\n"

// run passes msg through a filter with opts (and engine e) the way a milter session does
// (Offline) and returns the result, the message as delivered and the metrics.
func run(t *testing.T, e milter.Engine, opts milter.Options, rcpt, msg string) (milter.Result, string, string) {
	t.Helper()
	opts.TempDir = t.TempDir()
	if opts.AuthservID == "" {
		opts.AuthservID = authserv
	}
	m := milter.NewMetrics()
	f, err := milter.New(opts, e, slog.New(slog.DiscardHandler), m)
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	res, err := f.Offline(context.Background(), "12145551212@vm.example.com", []string{rcpt}, strings.NewReader(msg), &out)
	if err != nil {
		t.Fatal(err)
	}
	var metrics bytes.Buffer
	m.WriteText(&metrics)
	return res, out.String(), metrics.String()
}

// stampOf is the value of the one VPIM-Check field at the top of msg, or "".
func stampOf(t *testing.T, msg string) string {
	t.Helper()
	if n := strings.Count(strings.ToLower(msg), "\nvpim-check:") + strings.Count(strings.ToLower(msg[:min(len(msg), 11)]), "vpim-check:"); n > 1 {
		t.Errorf("%d VPIM-Check fields, want at most one", n)
	}
	first, _, _ := strings.Cut(msg, "\r\n")
	v, ok := strings.CutPrefix(first, milter.StampField+": ")
	if !ok {
		return ""
	}
	return v
}

// TestReportMode: in report mode a message is evaluated, stamped with what enforce would
// do, counted, and otherwise delivered byte for byte as it came, whatever enforce would
// do; in enforce mode the same messages are rewritten or refused.
func TestReportMode(t *testing.T) {
	e := voiceEngine(t)
	report := milter.Options{Mode: milter.ModeReport}
	cases := []struct {
		name           string
		opts           milter.Options
		rcpt, msg      string
		verdict, would profile.Verdict
		stamp          string // the stamp up to its rule list
		unchanged      bool   // the delivered message is the stamp plus the input
		metric         string
	}{
		{"private to ivm, report", report, "ann@ivm.example.org", vpim2(t, "ann@ivm.example.org", "Private"), "accept", "reject",
			authserv + "; mode=report; profile=vpim2; target=ivm; verdict=reject; condition=private-not-capable; action=reject; code=5.6.0", true,
			`vpim_milter_decisions_total{condition="private-not-capable",mode="report",verdict="reject"} 1`},
		{"private to ivm, enforce", milter.Options{}, "ann@ivm.example.org", vpim2(t, "ann@ivm.example.org", "Private"), "reject", "reject", "", false,
			`vpim_milter_decisions_total{condition="private-not-capable",mode="enforce",verdict="reject"} 1`},
		{"vpim2 to ivm, report", report, "ann@ivm.example.org", vpim2(t, "ann@ivm.example.org", ""), "accept", "modify",
			authserv + "; mode=report; profile=vpim2; target=ivm; verdict=modify", true,
			`vpim_milter_decisions_total{condition="none",mode="report",verdict="modify"} 1`},
		{"vpim2 to ivm, enforce", milter.Options{}, "ann@ivm.example.org", vpim2(t, "ann@ivm.example.org", ""), "modify", "modify",
			authserv + "; mode=enforce; profile=vpim2; target=ivm; verdict=modify", false,
			`vpim_milter_decisions_total{condition="none",mode="enforce",verdict="modify"} 1`},
		{"ivm in report by target_modes", milter.Options{TargetModes: map[profile.Target]milter.Mode{profile.TargetIVM: milter.ModeReport}},
			"ann@ivm.example.org", vpim2(t, "ann@ivm.example.org", ""), "accept", "modify",
			authserv + "; mode=report; profile=vpim2; target=ivm; verdict=modify", true, ""},
		{"vpim2 peer enforced while ivm reports", milter.Options{TargetModes: map[profile.Target]milter.Mode{profile.TargetIVM: milter.ModeReport}},
			"2722@vm.example.net", vpim2(t, "2722@vm.example.net", "Private"), "accept", "accept",
			authserv + "; mode=enforce; profile=vpim2; target=vpim2; verdict=accept", true, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			res, out, metrics := run(t, e, c.opts, c.rcpt, c.msg)
			if res.Verdict != c.verdict || res.Would != c.would {
				t.Fatalf("verdict %s, would %s (%v); want %s, %s", res.Verdict, res.Would, res.Err, c.verdict, c.would)
			}
			if c.would == "reject" && (res.WouldReply.Code != 550 || res.WouldReply.Enhanced != "5.6.0") {
				t.Errorf("would reply %q, want 550 5.6.0", res.WouldReply)
			}
			if c.verdict == "reject" {
				if out != "" || res.Stamp != "" {
					t.Errorf("refused message delivered (%d bytes) or stamped (%q)", len(out), res.Stamp)
				}
			} else {
				got := stampOf(t, out)
				rest, ok := strings.CutPrefix(got, c.stamp)
				if got != res.Stamp || !ok || rest != "" && rest != stampRules(res) {
					t.Errorf("stamp\n%q\nwant\n%q and the rules of the findings (Result.Stamp %q)", got, c.stamp, res.Stamp)
				}
				if c.would == "reject" && !strings.Contains(rest, "V2-HDR-SENS") {
					t.Errorf("stamp %q does not name V2-HDR-SENS", got)
				}
				if body := strings.TrimPrefix(out, milter.StampField+": "+got+"\r\n"); (body == c.msg) != c.unchanged {
					t.Errorf("message unchanged below the stamp: %v, want %v\n%s", body == c.msg, c.unchanged, out)
				}
			}
			if c.metric != "" && !strings.Contains(metrics, c.metric+"\n") {
				t.Errorf("metrics lack %s:\n%s", c.metric, grepLines(metrics, "decisions"))
			}
		})
	}
}

// stampRules is the rule list a stamp gives for res's findings.
func stampRules(res milter.Result) string {
	var rules []string
	for _, f := range res.Report.Findings {
		if !strings.Contains(strings.Join(rules, ","), string(f.Rule)) {
			rules = append(rules, string(f.Rule))
		}
	}
	if len(rules) == 0 {
		return ""
	}
	return "; rules=" + strings.Join(rules, ",")
}

func grepLines(s, sub string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, sub) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

// TestOnActions: [milter.on] turns the profile's refusal on a condition into a quarantine
// or a tag; the message is then kept as it came, stamped with the condition and the action.
func TestOnActions(t *testing.T) {
	e := voiceEngine(t)
	msg := vpim2(t, "ann@ivm.example.org", "Private")
	for _, c := range []struct {
		action  milter.OnAction
		verdict profile.Verdict
	}{{milter.OnReject, "reject"}, {milter.OnQuarantine, "quarantine"}, {milter.OnTag, "accept"}} {
		t.Run(string(c.action), func(t *testing.T) {
			opts := milter.Options{On: milter.OnOptions{PrivateToNonCapable: c.action}}
			res, out, _ := run(t, e, opts, "ann@ivm.example.org", msg)
			if res.Verdict != c.verdict || res.Condition != profile.CondPrivate || res.Action != c.action {
				t.Fatalf("verdict %s condition %s action %s, want %s %s %s", res.Verdict, res.Condition, res.Action, c.verdict, profile.CondPrivate, c.action)
			}
			if c.action == milter.OnReject {
				return
			}
			want := fmt.Sprintf("%s; mode=enforce; profile=vpim2; target=ivm; verdict=%s; condition=private-not-capable; action=%s", authserv, c.verdict, c.action)
			if res.Stamp != want+stampRules(res) || !strings.Contains(res.Stamp, "V2-HDR-SENS") {
				t.Errorf("stamp %q, want %q", res.Stamp, want+stampRules(res))
			}
			if c.action == milter.OnTag && out != milter.StampField+": "+res.Stamp+"\r\n"+msg {
				t.Errorf("tagged message is not the stamp plus the message as it came:\n%s", out)
			}
		})
	}
}

// TestStamp: voice mail gets the stamp, plain mail none; copies that claim our
// authserv-id are removed from both (a plain message then waits for the end of message
// without its body), copies of other hosts are kept; NoStamp leaves ours out but still
// removes forged ones.
func TestStamp(t *testing.T) {
	e := voiceEngine(t)
	forged := "VPIM-Check: (trust me) MX.example.org; mode=enforce; verdict=accept"
	other := "VPIM-Check: mx.other.example; mode=enforce; verdict=modify"
	cases := []struct {
		name     string
		opts     milter.Options
		msg      string
		want     string // the delivered message
		removed  int
		fastPath bool
	}{
		{"plain", milter.Options{}, plain, plain, 0, true},
		{"plain with forged and foreign stamps", milter.Options{}, forged + "\r\n" + other + "\r\n" + plain, other + "\r\n" + plain, 1, true},
		{"plain with a stamp without authserv-id", milter.Options{}, "VPIM-Check: ; verdict=accept\r\n" + plain, plain, 1, true},
		{"voice with forged stamps", milter.Options{NoStamp: true}, forged + "\r\n" + vpim2(t, "2722@vm.example.net", "", forged), vpim2(t, "2722@vm.example.net", ""), 2, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			res, out, _ := run(t, e, c.opts, "2722@vm.example.net", c.msg)
			if out != c.want || res.Unstamped != c.removed || res.FastPath != c.fastPath || res.Stamp != "" {
				t.Errorf("removed %d, fast path %v, stamp %q; delivered:\n%s\nwant %d, %v, none:\n%s", res.Unstamped, res.FastPath, res.Stamp, out, c.removed, c.fastPath, c.want)
			}
		})
	}
	t.Run("voice with a forged stamp", func(t *testing.T) {
		in := vpim2(t, "2722@vm.example.net", "", forged)
		res, out, _ := run(t, e, milter.Options{}, "2722@vm.example.net", in)
		want := authserv + "; mode=enforce; profile=vpim2; target=vpim2; verdict=accept"
		if res.Stamp != want || res.Unstamped != 1 || out != milter.StampField+": "+want+"\r\n"+vpim2(t, "2722@vm.example.net", "") {
			t.Errorf("stamp %q, removed %d; delivered:\n%s", res.Stamp, res.Unstamped, out)
		}
	})
}

// TestReportModeRcpt: report mode accepts a recipient the profile refuses at RCPT (it is
// counted and left to the MTA), but still defers a recipient of another target (452
// 4.5.3), which loses nothing.
func TestReportModeRcpt(t *testing.T) {
	for _, mode := range milter.Modes() {
		t.Run(string(mode), func(t *testing.T) {
			opts := milter.Options{Mode: mode, TempDir: t.TempDir(), AuthservID: authserv}
			m := milter.NewMetrics()
			f, err := milter.New(opts, voiceEngine(t), slog.New(slog.DiscardHandler), m)
			if err != nil {
				t.Fatal(err)
			}
			res, err := f.Offline(context.Background(), "a@example.org",
				[]string{"ann@ivm.example.org", "non-mail-user@vm.example.com", "2722@vm.example.net"}, strings.NewReader(plain), nil)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, r := range res.Refused {
				got = append(got, fmt.Sprintf("%s %d %s report=%v", r.Rcpt, r.Reply.Code, r.Reply.Enhanced, r.Report))
			}
			want := []string{
				fmt.Sprintf("non-mail-user@vm.example.com 550 5.1.1 report=%v", mode == milter.ModeReport),
				"2722@vm.example.net 452 4.5.3 report=false",
			}
			if strings.Join(got, "\n") != strings.Join(want, "\n") {
				t.Errorf("refusals:\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
			}
			var b bytes.Buffer
			m.WriteText(&b)
			if metric := fmt.Sprintf(`vpim_milter_decisions_total{condition="v2-addr-nmu",mode="%s",verdict="reject"} 1`, mode); !strings.Contains(b.String(), metric+"\n") {
				t.Errorf("metrics lack %s:\n%s", metric, grepLines(b.String(), "decisions"))
			}
		})
	}
}

// TestReportModeFailure: an internal error tempfails in enforce mode (error_action) and is
// accepted in report mode, which counts the tempfail enforce would have given.
func TestReportModeFailure(t *testing.T) {
	msg := "From: a@example.org\r\nTo: b@example.net\r\nX-Test-Action: panic\r\n\r\nbody\r\n"
	for _, c := range []struct {
		mode    milter.Mode
		verdict profile.Verdict
	}{{milter.ModeEnforce, "tempfail"}, {milter.ModeReport, "accept"}} {
		res, _, metrics := run(t, testengine.Engine{}, milter.Options{Mode: c.mode}, "b@example.net", msg)
		if res.Verdict != c.verdict || res.Would != "tempfail" || res.Err == nil {
			t.Errorf("%s: verdict %s would %s err %v, want %s, tempfail and the panic", c.mode, res.Verdict, res.Would, res.Err, c.verdict)
		}
		if metric := fmt.Sprintf(`vpim_milter_decisions_total{condition="internal-error",mode="%s",verdict="tempfail"} 1`, c.mode); !strings.Contains(metrics, metric+"\n") {
			t.Errorf("%s: metrics lack %s", c.mode, metric)
		}
	}
}

// TestOperatorOptions: the new options are validated with their field names.
func TestOperatorOptions(t *testing.T) {
	cases := []struct {
		opts milter.Options
		want []string // fields in error
	}{
		{milter.Options{Mode: "audit"}, []string{"Mode"}},
		{milter.Options{TargetModes: map[profile.Target]milter.Mode{"fax": milter.ModeReport, profile.TargetIVM: "dry"}}, []string{"TargetModes", "TargetModes.ivm"}},
		{milter.Options{AuthservID: "mx example"}, []string{"AuthservID"}},
		{milter.Options{On: milter.OnOptions{PrivateToNonCapable: "drop"}}, []string{"On.PrivateToNonCapable"}},
		{milter.Options{NoStamp: true, On: milter.OnOptions{UnconvertibleAudio: milter.OnTag}}, []string{"On.UnconvertibleAudio"}},
		{milter.Options{Mode: milter.ModeReport, TargetModes: map[profile.Target]milter.Mode{profile.TargetBridge: milter.ModeEnforce},
			On: milter.OnOptions{PrivateToNonCapable: milter.OnTag, PrivateForwarded: milter.OnQuarantine}}, nil},
	}
	for _, c := range cases {
		err := c.opts.WithDefaults().Validate()
		var got []string
		var fe *optfield.Error
		for _, e := range unjoin(err) {
			if errors.As(e, &fe) {
				got = append(got, fe.Field)
			}
		}
		if strings.Join(got, ",") != strings.Join(c.want, ",") {
			t.Errorf("%+v: fields in error %q (%v), want %q", c.opts, got, err, c.want)
		}
	}
	if d := (milter.Options{}).WithDefaults(); d.Mode != milter.ModeEnforce || d.AuthservID == "" || d.On.PrivateToNonCapable != milter.OnReject ||
		d.On.PrivateForwarded != milter.OnReject || d.On.UnconvertibleAudio != milter.OnReject || d.NoStamp {
		t.Errorf("defaults %+v", d)
	}
}

func unjoin(err error) []error {
	if u, ok := err.(interface{ Unwrap() []error }); ok {
		return u.Unwrap()
	}
	if err == nil {
		return nil
	}
	return []error{err}
}

// TestReloadMode: a reload switches between enforce and report for the transactions that
// start afterwards (mode is not a restart-only option).
func TestReloadMode(t *testing.T) {
	e := voiceEngine(t)
	opts := milter.Options{TempDir: t.TempDir(), AuthservID: authserv}
	f, err := milter.New(opts, e, slog.New(slog.DiscardHandler), nil)
	if err != nil {
		t.Fatal(err)
	}
	msg := vpim2(t, "ann@ivm.example.org", "Private")
	for _, want := range []struct {
		mode    milter.Mode
		verdict profile.Verdict
	}{{milter.ModeEnforce, "reject"}, {milter.ModeReport, "accept"}, {milter.ModeEnforce, "reject"}} {
		opts.Mode = want.mode
		if err := f.Reload(opts, e); err != nil {
			t.Fatal(err)
		}
		res, err := f.Offline(context.Background(), "12145551212@vm.example.com", []string{"ann@ivm.example.org"}, strings.NewReader(msg), nil)
		if err != nil {
			t.Fatal(err)
		}
		if res.Mode != want.mode || res.Verdict != want.verdict || res.Would != "reject" {
			t.Errorf("after a reload to %s: mode %s verdict %s would %s, want %s, %s, reject", want.mode, res.Mode, res.Verdict, res.Would, want.mode, want.verdict)
		}
	}
}

// TestReportModeOnlyRefusedRcpt: in report mode a message whose only recipient the
// profile refuses at RCPT is still accepted (and evaluated), not refused.
func TestReportModeOnlyRefusedRcpt(t *testing.T) {
	for _, c := range []struct {
		mode    milter.Mode
		verdict profile.Verdict
	}{{milter.ModeEnforce, "reject"}, {milter.ModeReport, "accept"}} {
		res, out, _ := run(t, voiceEngine(t), milter.Options{Mode: c.mode}, "non-mail-user@vm.example.com", plain)
		if res.Verdict != c.verdict || (c.verdict == "accept") != (out == plain) {
			t.Errorf("%s: verdict %s, delivered %q; want %s", c.mode, res.Verdict, out, c.verdict)
		}
	}
}
