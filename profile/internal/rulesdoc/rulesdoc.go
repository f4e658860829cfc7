// Package rulesdoc renders the profile engine's rule table as the
// repository's RULES.md. The generator in gen/ writes the file (go
// generate ./profile); a test in package profile fails when it is stale.
package rulesdoc

import (
	"bytes"
	"fmt"
	"strings"

	"github.com/vpim-milter/vpim-milter/profile"
)

// families groups the rules for the document, by ID prefix.
var families = []struct{ prefix, title, intro string }{
	{"D1-", "VPIM v1 and the 1994 voice profile draft", "RFC 1911 and draft-umig-mime-voice-00 (DIGEST §1.1)."},
	{"V2-", "VPIM v2", "RFC 3801 (DIGEST §1.2)."},
	{"I-", "Internet Voice Messaging", "RFC 4239 and the RFCs it makes normative (DIGEST §1.3)."},
	{"DT-", "Desktop mail readers", "The project's own target for ordinary mail readers (Outlook, Gmail, Apple Mail, Thunderbird, phones); its specification is the README's \"Desktop clients\" section, and what readers play is the playback table that codec's TestChromiumPlayback establishes in headless Chromium."},
	{"P-", "The project's own", "Parsing, limits and audio recognition; no profile numbers these."},
}

// Render returns RULES.md for rules.
func Render(rules []profile.RuleInfo) []byte {
	var b bytes.Buffer
	b.WriteString(`# Rules

<!-- Generated from profile/rules.go by "go generate ./profile"; do not edit. -->

Every finding, plan step and refusal of the profile engine names one of these
rules (the ` + "`rule`" + ` field of ` + "`vpim-milter check --json`" + `). The IDs of the
voice-messaging profiles are those of the requirements digest (DIGEST §1);
the level is the RFC 2119 strength of the requirement (a finding states a
weaker one where the section mixes levels). A rule no check emits says why.

`)
	for _, f := range families {
		fmt.Fprintf(&b, "## %s\n\n%s\n\n| Rule | Level | Section | Requirement | Checked |\n|---|---|---|---|---|\n", f.title, f.intro)
		for _, r := range rules {
			if !strings.HasPrefix(string(r.ID), f.prefix) {
				continue
			}
			status := "yes"
			if r.NotYet != "" {
				status = "no: " + r.NotYet
			}
			fmt.Fprintf(&b, "| `%s` | %s | %s | %s | %s |\n", r.ID, r.Level, r.Spec, escape(r.Title), escape(status))
		}
		b.WriteString("\n")
	}
	return bytes.TrimRight(b.Bytes(), "\n")
}

func escape(s string) string { return strings.ReplaceAll(s, "|", `\|`) }
