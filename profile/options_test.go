package profile

import (
	"bytes"
	"context"
	"encoding/json"
	"slices"
	"strings"
	"testing"
)

func TestNewValidates(t *testing.T) {
	tests := []struct {
		opts Options
		err  string
	}{
		{Options{}, ""},
		{Options{DefaultTarget: "fax"}, `default target "fax"`},
		{Options{Targets: map[string]Target{"a.example": "x"}}, `target "x" for domain "a.example"`},
		{Options{SensitivityCode: "5.7.1"}, `sensitivity code "5.7.1"`},
		{Options{MessageIDPolicy: "drop"}, `message-id policy "drop"`},
		{Options{IVMAudio: "ogg"}, `ivm audio "ogg"`},
	}
	for _, tc := range tests {
		_, err := New(tc.opts)
		switch {
		case tc.err == "" && err != nil:
			t.Errorf("%+v: %v", tc.opts, err)
		case tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err) || !strings.HasPrefix(err.Error(), "profile: ")):
			t.Errorf("%+v: error %v, want %q", tc.opts, err, tc.err)
		}
	}
}

// TestOptions checks each policy switch on one message.
func TestOptions(t *testing.T) {
	base := corpus()
	tests := []struct {
		name    string
		mod     func(*Options)
		msg     string
		rcpt    string
		verdict Verdict
		action  string // substring of one action
	}{
		{"quarantine undecodable", func(o *Options) { o.Quarantine = true }, "ivm-unknown-audio", "x@mail.example.org", VerdictQuarantine, "quarantine: non-conforming voice mail"},
		{"no quarantine by default", nil, "ivm-unknown-audio", "x@mail.example.org", VerdictAccept, ""},
		{"critical undecodable refused", func(o *Options) { o.Quarantine = true }, "lying-label-pdf-as-wav", "x@mail.example.org", VerdictReject, "reject 550 5.6.1"},
		{"loopback reflect", func(o *Options) { o.Loopback = true }, "ivm-conforming", "loopback@vm.example.com", VerdictAccept, "reflect to sender s@example.org from postmaster@vm.example.com"},
		{"ivm audio au", func(o *Options) { o.IVMAudio = "au" }, "vpim2-to-ivm", "x@mail.example.org", VerdictModify, "transcode part 2 32kadpcm→au"},
		{"ivm audio wav", func(o *Options) { o.IVMAudio = "wav" }, "vpim2-to-ivm", "x@mail.example.org", VerdictModify, "set part 2 Content-Type: audio/wav; name=msg2.wav"},
		{"message-id keep", func(o *Options) { o.MessageIDPolicy = "keep" }, "bare-message-id", "x@mail.example.org", VerdictModify, "add header Message-Context"},
		{"message-id fix", nil, "bare-message-id", "x@mail.example.org", VerdictModify, "change header Message-ID[1]: <42@vm2.example.net>"},
		{"strict", func(o *Options) { o.Strict = true }, "missing-close-boundary", "x@mail.example.org", VerdictReject, "reject 550 5.6.0 malformed MIME structure"},
		{"sensitivity 5.3.3", func(o *Options) { o.SensitivityCode = "5.3.3" }, "vpim2-private-to-ivm", "x@mail.example.org", VerdictReject, "reject 550 5.3.3"},
		{"no codec", func(o *Options) { o.Codec = nil }, "vpim2-to-ivm", "x@mail.example.org", VerdictModify, "set part 2 Content-Disposition"},
		{"passthrough default", func(o *Options) { o.DefaultTarget = TargetPassthrough }, "vpim2-to-ivm", "x@mail.example.org", VerdictAccept, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			o := testOptions()
			if tc.mod != nil {
				tc.mod(&o)
			}
			e, err := New(o)
			if err != nil {
				t.Fatal(err)
			}
			in := inputFrom(t, base[tc.msg], tc.rcpt)
			in.Envelope.From = "s@example.org"
			rep, err := e.Evaluate(context.Background(), in)
			if err != nil {
				t.Fatal(err)
			}
			if v := rep.Plan.Verdict(); v != tc.verdict {
				t.Errorf("verdict %s, want %s (%v)", v, tc.verdict, rep.Actions)
			}
			if tc.action != "" && !slices.ContainsFunc(rep.Actions, func(a string) bool { return strings.Contains(a, tc.action) }) {
				t.Errorf("no action %q in %q", tc.action, rep.Actions)
			}
			if tc.name == "message-id keep" && slices.ContainsFunc(rep.Actions, func(a string) bool { return strings.Contains(a, "Message-ID") }) {
				t.Errorf("keep policy changed Message-ID: %q", rep.Actions)
			}
			if tc.name == "no codec" && slices.ContainsFunc(rep.Actions, func(a string) bool { return strings.Contains(a, "transcode") }) {
				t.Errorf("transcoded without codec: %q", rep.Actions)
			}
			if rep.Plan.Body != nil {
				var out bytes.Buffer
				if err := rep.Plan.Body.WriteBody(&out); err != nil {
					t.Fatal(err)
				}
				if tc.name == "ivm audio au" && !bytes.Contains(out.Bytes(), []byte("LnNuZA")) { // ".snd" in base64
					t.Errorf("au body lacks the .snd header")
				}
			}
		})
	}
}

func TestReportJSON(t *testing.T) {
	e, _ := New(testOptions())
	rep, err := e.Evaluate(context.Background(), inputFrom(t, corpus()["vpim2-private-to-ivm"], "x@mail.example.org"))
	if err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(rep)
	if err != nil {
		t.Fatal(err)
	}
	var got map[string]any
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"profile", "target", "verdict", "reply", "findings", "actions", "bridge"} {
		if _, ok := got[k]; !ok {
			t.Errorf("key %s missing in %s", k, b)
		}
	}
	if got["verdict"] != "reject" || !strings.HasPrefix(got["reply"].(string), "550 5.6.0 ") || got["profile"] != "vpim2" {
		t.Errorf("json %s", b)
	}
	f := got["findings"].([]any)[0].(map[string]any)
	for _, k := range []string{"rule", "level", "spec", "part", "message"} {
		if _, ok := f[k]; !ok {
			t.Errorf("finding key %s missing", k)
		}
	}
}

func TestHeaderRecipients(t *testing.T) {
	h := []Field{
		{"To", ` "Parsons, Glenn" <12145551234@VM2.mycompany.com>, b@example.org`},
		{"To", ` "Parsons, Glenn, W." 2145551234@VM1.mycompany.com`},
		{"Cc", " c@example.org"},
		{"From", " d@example.org"},
	}
	got := HeaderRecipients(h)
	want := []string{"12145551234@VM2.mycompany.com", "b@example.org", "2145551234@VM1.mycompany.com", "c@example.org"}
	if !slices.Equal(got, want) {
		t.Errorf("got %q, want %q", got, want)
	}
}
