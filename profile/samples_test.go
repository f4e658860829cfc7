package profile

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/vpim-milter/vpim-milter/internal/shareddata"
)

// TestSamples evaluates every third-party sample of DIGEST Appendix A in
// place with the default policy (target ivm, no privacy-capable
// destinations) and checks profile, verdict, reply code and rule IDs. With
// the IVM target, the samples' Internet Message Format defects (two To
// fields, unbracketed Message-IDs, 2-digit years) are I-IMF (RFC 4239 3),
// not the VPIM or v1 rule that tolerates them.
func TestSamples(t *testing.T) {
	samplesDir := shareddata.Path(t, "samples")
	tests := []struct {
		file    string
		profile string
		verdict Verdict
		reply   string // code and enhanced code
		rules   []string
	}{
		{"asterisk-style-freepbx_voicemail_ai_ovh-fixture.eml", "vendor", VerdictModify, "",
			[]string{"I-CTX", "V2-PART-DISP", "I-AUDIO", "I-CRIT", "I-VOICEPARAM"}},
		// The RFC examples' audio is prose, not base64: the voice message
		// cannot be converted, so the message passes unchanged (P-CODEC).
		{"draft-umig-mime-voice-00-esmtp-data-simple.eml", "v1-draft", VerdictAccept, "",
			[]string{"D1-CT-ADPCM", "D1-HDR-DATE", "D1-HDR-MSGID", "P-B64", "P-CODEC"}},
		{"draft-umig-mime-voice-00-example-private.eml", "v1-draft", VerdictReject, "550 5.3.3",
			[]string{"D1-CT-SIG", "D1-CT-ADPCM", "D1-ENC", "D1-HDR-MSGID", "D1-HDR-XTRA", "D1-HDR-SENS", "I-IMF"}},
		{"mobeon-lmcchli-vvs-mssim-voice_1.msg.eml", "vpim2", VerdictModify, "",
			[]string{"V2-MVM", "V2-HDR-MIMEVER", "I-AUDIO", "I-TOP"}},
		{"mobeon-lmcchli-vvs-mssim-voice_2.msg.eml", "vpim2", VerdictModify, "",
			[]string{"V2-MVM", "V2-HDR-MIMEVER", "I-AUDIO", "I-TOP"}},
		{"mobeon-lmcchli-vvs-ntf-voice.eml", "vpim2", VerdictModify, "",
			[]string{"V2-HDR-FROM", "V2-HDR-DATE", "V2-HDR-MSGID", "I-AUDIO"}},
		{"mobeon-lmcchli-vvs-ntf-voice_failed-dsn.eml", "vpim2", VerdictAccept, "",
			nil},
		{"rfc1911-example-v1-private.eml", "vpim1", VerdictReject, "550 5.3.3",
			[]string{"D1-MVM", "D1-ENC", "I-IMF", "D1-HDR-SENS"}},
		{"rfc2421-appB1-full-featured-private-vcard.eml", "vpim2", VerdictReject, "550 5.6.0",
			[]string{"P-MIME-CLOSE", "V2-VCARD", "I-IMF", "V2-HDR-SENS"}},
		{"rfc2421-appB2-forwarded-voice-vcard.eml", "vpim2", VerdictAccept, "",
			[]string{"V2-VCARD", "I-IMF", "I-TOP", "P-CODEC"}},
		{"rfc2421-appB3-dsn-mailbox-unknown.eml", "vpim2", VerdictAccept, "",
			[]string{"P-CODEC"}},
		{"rfc2421-appB4-mdn-played.eml", "vpim2", VerdictAccept, "",
			[]string{"P-CODEC"}},
		{"rfc3801-appB1-full-featured-private.eml", "vpim2", VerdictReject, "550 5.6.0",
			[]string{"P-MIME-CLOSE", "I-IMF", "V2-HDR-SENS", "I-CRIT"}},
		{"rfc3801-appB2-forwarded-voice.eml", "vpim2", VerdictAccept, "",
			[]string{"I-IMF", "I-TOP", "P-CODEC"}},
		{"rfc3801-appB3-dsn-mailbox-unknown.eml", "vpim2", VerdictAccept, "",
			nil},
		{"rfc3801-appB4-mdn-played.eml", "vpim2", VerdictAccept, "",
			nil},
	}
	files, _ := filepath.Glob(filepath.Join(samplesDir, "*.eml"))
	if len(files) != len(tests) {
		t.Errorf("%d samples on disk, %d in the table", len(files), len(tests))
	}
	e, err := New(Options{Codec: fakeCodec{}})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range tests {
		t.Run(tc.file, func(t *testing.T) {
			f, err := os.Open(filepath.Join(samplesDir, tc.file))
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			in, err := ReadInput(f)
			if err != nil {
				t.Fatal(err)
			}
			rep, err := e.Evaluate(context.Background(), in)
			if err != nil {
				t.Fatal(err)
			}
			if rep.Profile != tc.profile {
				t.Errorf("profile %s, want %s", rep.Profile, tc.profile)
			}
			if v := rep.Plan.Verdict(); v != tc.verdict {
				t.Errorf("verdict %s, want %s", v, tc.verdict)
			}
			r := rep.Plan.Decision.Reply
			got := ""
			if r.Code != 0 {
				got = r.String()[:len("550 5.6.0")]
			}
			if got != tc.reply {
				t.Errorf("reply %q, want %q", r.String(), tc.reply)
			}
			var ids []string
			for _, f := range rep.Findings {
				ids = append(ids, string(f.Rule))
			}
			for _, want := range tc.rules {
				if !slices.Contains(ids, want) {
					t.Errorf("rule %s not reported; got %v", want, ids)
				}
			}
			if rep.Plan.Body != nil {
				if err := rep.Plan.Body.WriteBody(discard{}); err != nil {
					t.Errorf("write body: %v", err)
				}
			}
		})
	}
}

type discard struct{}

func (discard) Write(b []byte) (int, error) { return len(b), nil }
