package main

import (
	"bytes"
	"strings"
	"testing"
)

// TestCheckJSONContract: `check --json` prints exactly the object of the
// DESIGN.md contract, keys in order and lists never null, for a fast-path
// accept, a refusal with findings, and a refused recipient.
func TestCheckJSONContract(t *testing.T) {
	const private = "From: a@example.org\nTo: b@ivm.example.net\nSubject: v\nMessage-ID: <1@example.org>\nMIME-Version: 1.0\n" +
		"Sensitivity: Private\nContent-Type: multipart/voice-message; version=2.0; boundary=b\n\n" +
		"--b\nContent-Type: audio/32KADPCM\nContent-Disposition: inline; voice=Voice-Message\nContent-Transfer-Encoding: base64\n\nAAAA\n--b--\n"
	tests := []struct {
		name  string
		args  []string
		msg   string
		rc    int
		start string // the output's beginning, exactly
		keys  []string
	}{
		{"fast path", []string{"--rcpt", "b@example.net"}, "From: a@example.org\nSubject: hi\n\nplain\n", 0,
			`{
  "profile": "none",
  "target": "ivm",
  "verdict": "accept",
  "reply": "",
  "findings": [],
  "actions": [
    "accept at end of headers: not voice mail"
  ],
  "bridge": []
}
`, nil},
		{"private refused", []string{"--rcpt", "b@ivm.example.net"}, private, 1,
			"{\n  \"profile\": \"vpim2\",\n  \"target\": \"ivm\",\n  \"verdict\": \"reject\",\n  \"reply\": \"550 5.6.0 ",
			[]string{`"rule": `, `"level": `, `"spec": `, `"part": `, `"message": `}},
		{"recipient refused", []string{"-c", "@CFG@", "--rcpt", "non-mail-user@vm.example.com"}, private, 1,
			"{\n  \"profile\": \"none\",\n  \"target\": \"\",\n  \"verdict\": \"reject\",\n  \"reply\": \"550 5.1.1 non-mail-user cannot receive mail (RFC 3801 4.1.2)\",\n  \"findings\": [],\n  \"actions\": [\n    \"refuse recipient non-mail-user@vm.example.com: 550 5.1.1",
			nil},
		{"report mode", []string{"-c", "@REPORT@", "--rcpt", "b@ivm.example.net"}, private, 0,
			"{\n  \"profile\": \"vpim2\",\n  \"target\": \"ivm\",\n  \"verdict\": \"accept\",\n  \"reply\": \"\",\n  \"findings\": [",
			[]string{`"actions": [` + "\n" + `    "not done (report mode): reject 550 5.6.0 `, `"mode": "report",` + "\n" + `  "would": "reject",` + "\n" +
				`  "stamp": "mx.check.example; mode=report; profile=vpim2; target=ivm; verdict=reject; condition=private-not-capable; action=reject; code=5.6.0; rules=`,
				`"insert header @0 VPIM-Check: mx.check.example; mode=report;`}},
	}
	cfg := writeConfig(t, "[profile]\nvoice_domains = [\"vm.example.com\"]\n")
	report := writeConfig(t, "[milter]\nmode = \"report\"\nauthserv_id = \"mx.check.example\"\n")
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var out, errb bytes.Buffer
			args := append([]string{"check", "--json"}, tc.args...)
			for i, a := range args {
				switch a {
				case "@CFG@":
					args[i] = cfg
				case "@REPORT@":
					args[i] = report
				}
			}
			rc := run(append(args, "-"), strings.NewReader(tc.msg), &out, &errb)
			if rc != tc.rc || !strings.HasPrefix(out.String(), tc.start) {
				t.Fatalf("rc %d (want %d), output\n%s\nwant it to start with\n%s\nstderr: %s", rc, tc.rc, out.String(), tc.start, errb.String())
			}
			for _, k := range tc.keys {
				if !strings.Contains(out.String(), k) {
					t.Errorf("output lacks %s:\n%s", k, out.String())
				}
			}
		})
	}
}
