package profile

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"
)

// TestValidate: every invalid option comes back at once as a FieldError
// naming its field; New refuses what Validate refuses.
func TestValidate(t *testing.T) {
	tests := []struct {
		name string
		opts Options
		want []string // "Field: Msg" of each FieldError, in order
	}{
		{"defaults", Options{}, nil},
		{"all enums", Options{DefaultTarget: TargetVPIM1, Targets: map[string]Target{"A.example": TargetPassthrough}, SensitivityCode: "5.3.3",
			MessageIDPolicy: "keep", IVMAudio: IVMAudioWAV, Hostname: "mx1.example"}, nil},
		{"default target", Options{DefaultTarget: "fax"}, []string{`DefaultTarget: "fax": want vpim2, vpim1, ivm, desktop or passthrough`}},
		{"bridge is not a body target", Options{DefaultTarget: TargetBridge}, []string{`DefaultTarget: "bridge": want vpim2, vpim1, ivm, desktop or passthrough`}},
		{"target value and domain", Options{Targets: map[string]Target{"not a domain": "x"}},
			[]string{`Targets.not a domain: "x": want vpim2, vpim1, ivm, desktop or passthrough`, `Targets: "not a domain" is not a domain name`}},
		{"domain lists", Options{PrivacyCapable: []string{"ok.example", "bad..example"}, VoiceDomains: []string{"-"[:0]}, GatewayDomains: []string{"voice example"}},
			[]string{`PrivacyCapable: "bad..example" is not a domain name`, `VoiceDomains: "" is not a domain name`, `GatewayDomains: "voice example" is not a domain name`}},
		{"sensitivity code", Options{SensitivityCode: "5.7.1"}, []string{`SensitivityCode: "5.7.1": want "5.6.0" or "5.3.3" (or empty for 5.6.0, 5.3.3 for v1 input)`}},
		{"message-id policy", Options{MessageIDPolicy: "drop"}, []string{`MessageIDPolicy: "drop": want fix or keep`}},
		{"hostname", Options{Hostname: "host_name"}, []string{`Hostname: "host_name" is not a host name`}},
		{"ivm audio", Options{IVMAudio: "ogg"}, []string{`IVMAudio: "ogg": want raw, au or wav`}},
		{"desktop", Options{DefaultTarget: TargetDesktop, DesktopAudio: DesktopAudioWAV, MP3Bitrate: 64}, nil},
		{"desktop audio and bit rate", Options{DesktopAudio: "ogg", MP3Bitrate: 20},
			[]string{`DesktopAudio: "ogg": want mp3 or wav`, `MP3Bitrate: 20: want 16, 24, 32, 40, 48, 56 or 64 (kbit/s; the encoder's rates for mono MP3 at 16 kHz)`}},
		{"mp3 bit rate above the encoder's", Options{MP3Bitrate: 128},
			[]string{`MP3Bitrate: 128: want 16, 24, 32, 40, 48, 56 or 64 (kbit/s; the encoder's rates for mono MP3 at 16 kHz)`}},
		{"bridge limit", Options{BridgeMaxAudio: 2 * time.Second}, nil},
		{"negative bridge limit", Options{BridgeMaxAudio: -time.Second},
			[]string{`BridgeMaxAudio: -1s: want a positive duration, or 0 for the codec's limit`}},
		{"part header caps", Options{Limits: Limits{MaxPartHeaderLines: -1, MaxPartHeaderBytes: 100}},
			[]string{`Limits.MaxPartHeaderLines: -1: want a positive number`, `Limits.MaxPartHeaderBytes: 100: want at least 1024 bytes (a MIME part header is rarely under 100)`}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.opts.WithDefaults().Validate()
			var got []string
			for _, e := range unjoin(err) {
				var fe *FieldError
				if !errors.As(e, &fe) {
					t.Fatalf("%v is not a FieldError", e)
				}
				got = append(got, fe.Field+": "+fe.Msg)
			}
			if !slices.Equal(got, tc.want) {
				t.Fatalf("got  %q\nwant %q", got, tc.want)
			}
			_, nerr := New(tc.opts)
			if (nerr == nil) != (err == nil) || nerr != nil && !strings.HasPrefix(nerr.Error(), "profile: invalid options: ") {
				t.Fatalf("New: %v", nerr)
			}
		})
	}
}

func unjoin(err error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		return j.Unwrap()
	}
	if err == nil {
		return nil
	}
	return []error{err}
}

func ExampleOptions_Validate() {
	err := Options{DefaultTarget: "vpim3", IVMAudio: "flac"}.WithDefaults().Validate()
	fmt.Println(err)
	// Output:
	// DefaultTarget: "vpim3": want vpim2, vpim1, ivm, desktop or passthrough
	// IVMAudio: "flac": want raw, au or wav
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
		{"ivm audio au", func(o *Options) { o.IVMAudio = "au" }, "vpim2-to-ivm", "x@mail.example.org", VerdictModify, "transcode part 2 32kadpcm→au"},
		{"ivm audio wav", func(o *Options) { o.IVMAudio = "wav" }, "vpim2-to-ivm", "x@mail.example.org", VerdictModify, "set part 2 Content-Type: audio/wav; name=msg2.wav"},
		{"message-id keep", func(o *Options) { o.MessageIDPolicy = "keep" }, "bare-message-id", "x@mail.example.org", VerdictModify, "add header Message-Context"},
		{"message-id fix", nil, "bare-message-id", "x@mail.example.org", VerdictModify, "change header Message-ID[1]: <42@vm2.example.net>"},
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
				t.Errorf("verdict %s, want %s (%v)", v, tc.verdict, actionStrings(rep))
			}
			if tc.action != "" && !slices.ContainsFunc(actionStrings(rep), func(a string) bool { return strings.Contains(a, tc.action) }) {
				t.Errorf("no action %q in %q", tc.action, actionStrings(rep))
			}
			if tc.name == "message-id keep" && slices.ContainsFunc(actionStrings(rep), func(a string) bool { return strings.Contains(a, "Message-ID") }) {
				t.Errorf("keep policy changed Message-ID: %q", actionStrings(rep))
			}
			if tc.name == "no codec" && slices.ContainsFunc(actionStrings(rep), func(a string) bool { return strings.Contains(a, "transcode") }) {
				t.Errorf("transcoded without codec: %q", actionStrings(rep))
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
