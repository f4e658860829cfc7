package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vpim-milter/vpim-milter/internal/shareddata"
)

// TestSamplesCLI runs every public sample through `check --json` and
// `rewrite` (the DESIGN.md contract) and checks the profile DIGEST
// Appendix A names, the verdict, the reply and the exit status; then runs
// the rewritten message through `check` again: a rewrite must be complete,
// so the second pass changes nothing.
func TestSamplesCLI(t *testing.T) {
	dir := shareddata.Path(t, "samples")
	tests := []struct {
		file    string
		profile string
		verdict string
		reply   string // prefix
	}{
		{"asterisk-style-freepbx_voicemail_ai_ovh-fixture.eml", "vendor", "modify", ""},
		// The RFC examples' audio is prose, not base64: a voice message the
		// codec cannot convert leaves the message unchanged (P-CODEC).
		{"draft-umig-mime-voice-00-esmtp-data-simple.eml", "v1-draft", "accept", ""},
		{"draft-umig-mime-voice-00-example-private.eml", "v1-draft", "reject", "550 5.3.3 "},
		{"mobeon-lmcchli-vvs-mssim-voice_1.msg.eml", "vpim2", "modify", ""},
		{"mobeon-lmcchli-vvs-mssim-voice_2.msg.eml", "vpim2", "modify", ""},
		{"mobeon-lmcchli-vvs-ntf-voice.eml", "vpim2", "modify", ""},
		{"mobeon-lmcchli-vvs-ntf-voice_failed-dsn.eml", "vpim2", "accept", ""},
		{"rfc1911-example-v1-private.eml", "vpim1", "reject", "550 5.3.3 "},
		{"rfc2421-appB1-full-featured-private-vcard.eml", "vpim2", "reject", "550 5.6.0 "},
		{"rfc2421-appB2-forwarded-voice-vcard.eml", "vpim2", "accept", ""},
		{"rfc2421-appB3-dsn-mailbox-unknown.eml", "vpim2", "accept", ""},
		{"rfc2421-appB4-mdn-played.eml", "vpim2", "accept", ""},
		{"rfc3801-appB1-full-featured-private.eml", "vpim2", "reject", "550 5.6.0 "},
		{"rfc3801-appB2-forwarded-voice.eml", "vpim2", "accept", ""},
		{"rfc3801-appB3-dsn-mailbox-unknown.eml", "vpim2", "accept", ""},
		{"rfc3801-appB4-mdn-played.eml", "vpim2", "accept", ""},
	}
	ents, _ := os.ReadDir(dir)
	if len(ents) != len(tests) {
		t.Errorf("%d samples in %s, the table has %d", len(ents), dir, len(tests))
	}
	for _, tc := range tests {
		t.Run(tc.file, func(t *testing.T) {
			path := filepath.Join(dir, tc.file)
			var out, errb bytes.Buffer
			rc := run([]string{"check", "--json", path}, nil, &out, &errb)
			var rep checkReport
			if err := json.Unmarshal(out.Bytes(), &rep); err != nil {
				t.Fatalf("check --json output: %v\n%s%s", err, out.String(), errb.String())
			}
			if rep.Profile != tc.profile || rep.Verdict != tc.verdict || !strings.HasPrefix(rep.Reply, tc.reply) || (tc.reply == "") != (rep.Reply == "") {
				t.Errorf("got profile %s verdict %s reply %q, want %s %s %q…", rep.Profile, rep.Verdict, rep.Reply, tc.profile, tc.verdict, tc.reply)
			}
			wantRC := 0
			if tc.verdict == "reject" {
				wantRC = 1
			}
			if rc != wantRC {
				t.Errorf("check exit status %d, want %d", rc, wantRC)
			}
			// A delivery report without a spoken part passes as it is
			// (DIGEST §5): nothing to find.
			if tc.profile != "none" && len(rep.Findings) == 0 && tc.file != "mobeon-lmcchli-vvs-ntf-voice_failed-dsn.eml" {
				t.Errorf("no findings for a %s sample", tc.profile)
			}
			for _, f := range rep.Findings {
				if f.Rule == "" || f.Spec == "" || f.Level == "" || f.Message == "" {
					t.Errorf("incomplete finding %+v", f)
				}
			}

			out.Reset()
			errb.Reset()
			rc = run([]string{"rewrite", path}, nil, &out, &errb)
			if rc != wantRC {
				t.Fatalf("rewrite exit status %d, want %d (stderr %q)", rc, wantRC, errb.String())
			}
			if wantRC == 1 {
				if got := strings.TrimSpace(errb.String()); got != rep.Reply {
					t.Errorf("rewrite stderr %q, want the reply %q", got, rep.Reply)
				}
				if out.Len() != 0 {
					t.Errorf("rewrite printed a refused message")
				}
				return
			}
			second := filepath.Join(t.TempDir(), "rewritten.eml")
			if err := os.WriteFile(second, out.Bytes(), 0o644); err != nil {
				t.Fatal(err)
			}
			out.Reset()
			run([]string{"check", "--json", second}, nil, &out, &errb)
			var again checkReport
			if err := json.Unmarshal(out.Bytes(), &again); err != nil {
				t.Fatal(err)
			}
			if again.Verdict != "accept" {
				t.Errorf("second pass over the rewritten message: verdict %s, actions %q", again.Verdict, again.Actions)
			}
		})
	}
}
