package main

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
)

// addrGoldenText is the expected text output for addrGoldenArgs: one line
// per address, in order.
var addrGoldenArgs = []string{
	"+17035245550+230@ema.org",
	"VOICE=+1-202-455-7622/POSTD=p1w7005393w373@vm.example",
	`"VOICE=+3940226338/ATTN=Mark Collins"@gw.example`,
	"FAX=+1-202-455-7622/T33S=8745/PostD=p1w7005393w373@faxgw.example",
	"AMIS=1+401+3278144+/SYSNUM=1+401+3279542+@gw.example",
	"non-mail-user@vm.example.com",
	"joe.user@example.com",
	"+1613763758212345@example.com",
	"VPIM=+1(613)7637582@gw.example",
}

const addrGoldenText = `+17035245550+230@ema.org: valid vpim number=+17035245550 extension=230 dial=+17035245550 canonical=+17035245550+230@ema.org
VOICE=+1-202-455-7622/POSTD=p1w7005393w373@vm.example: valid pstn service=VOICE number=+12024557622 post_dial=p1w7005393w373 dial=+12024557622 canonical=VOICE=+12024557622/POSTD=p1w7005393w373@vm.example
"VOICE=+3940226338/ATTN=Mark Collins"@gw.example: valid pstn service=VOICE number=+3940226338 attn="Mark Collins" dial=+3940226338 canonical="\"VOICE=+3940226338/ATTN=Mark Collins\"@gw.example"
FAX=+1-202-455-7622/T33S=8745/PostD=p1w7005393w373@faxgw.example: valid (lenient) pstn service=FAX number=+12024557622 post_dial=p1w7005393w373 t33s=8745 dial=+12024557622 canonical=FAX=+12024557622/POSTD=p1w7005393w373/T33S=8745@faxgw.example warning="/POSTD= after /T33S= is out of the grammar's order (DIGEST 4.1)"
AMIS=1+401+3278144+/SYSNUM=1+401+3279542+@gw.example: valid pstn service=AMIS number=+14013278144 amis=pstn amis_mailbox=1+401+3278144+ sysnum=+14013279542 dial=+14013279542 canonical=AMIS=1+401+3278144+/SYSNUM=1+401+3279542+@gw.example
non-mail-user@vm.example.com: valid special special=non-mail-user canonical=non-mail-user@vm.example.com
joe.user@example.com: valid plain canonical=joe.user@example.com
+1613763758212345@example.com: invalid vpim: international number has 16 digits; E.164 allows at most 15 (RFC 3801 4.1.1)
VPIM=+1(613)7637582@gw.example: invalid: local part: "(" not allowed unquoted (RFC 5322 3.2.3)
`

const addrGoldenJSON = `[
  {
    "input": "VOICE=+39.40.226338/ISUB=1234@gw.example",
    "valid": true,
    "kind": "pstn",
    "service": "VOICE",
    "number": "+3940226338",
    "extension": "",
    "post_dial": "",
    "isub": "1234",
    "sysnum": "",
    "error": ""
  },
  {
    "input": "<AMIS=4013278144/SYSNUM=4013279542@gw.example>",
    "valid": true,
    "kind": "pstn",
    "service": "AMIS",
    "number": "4013278144",
    "extension": "",
    "post_dial": "",
    "isub": "",
    "sysnum": "4013279542",
    "error": "",
    "amis": {
      "mailbox": "4013278144",
      "form": "d",
      "id": "4013278144",
      "sysnum": "4013279542"
    },
    "warnings": [
      "/SYSNUM= without the \"+\" separators of amis-a-number (draft-ema-vpim-address-00 4.1.3 example)"
    ]
  },
  {
    "input": "VPIM=6137637582+@gw.example.com",
    "valid": false,
    "kind": "pstn",
    "service": "VPIM",
    "number": "6137637582",
    "extension": "",
    "post_dial": "",
    "isub": "",
    "sysnum": "",
    "error": "extension separator \"+\" without digits (RFC 3804 4.2.1)"
  }
]
`

func TestAddrCommand(t *testing.T) {
	jsonArgs := []string{
		"VOICE=+39.40.226338/ISUB=1234@gw.example",
		"<AMIS=4013278144/SYSNUM=4013279542@gw.example>",
		"VPIM=6137637582+@gw.example.com",
	}
	for _, tc := range []struct {
		name      string
		args      []string
		code      int
		stdout    string // exact
		stderrSub string
	}{
		{"text golden", addrGoldenArgs, 1, addrGoldenText, ""},
		{"all valid", []string{"2722@lucent.com", "postmaster"}, 0,
			"2722@lucent.com: valid vpim number=2722 dial=2722 canonical=2722@lucent.com\n" +
				"postmaster: valid special special=postmaster canonical=postmaster\n", ""},
		{"json golden, flag after operands", append(append([]string{}, jsonArgs...), "--json"), 1, addrGoldenJSON, ""},
		{"json all valid", []string{"-json", "VOICE=+3940226338@worldvoice.com"}, 0, `[
  {
    "input": "VOICE=+3940226338@worldvoice.com",
    "valid": true,
    "kind": "pstn",
    "service": "VOICE",
    "number": "+3940226338",
    "extension": "",
    "post_dial": "",
    "isub": "",
    "sysnum": "",
    "error": ""
  }
]
`, ""},
		{"double dash ends flags", []string{"--", "--json"}, 1, "--json: invalid: missing @domain\n", ""},
		{"control characters quoted", []string{"a\nb@x.example"}, 1, `"a\nb@x.example": invalid: local part: byte 0x0a not allowed unquoted (RFC 5322 3.2.3)` + "\n", ""},
		{"no address", nil, 2, "", "usage: vpim-milter addr"},
		{"only flag", []string{"--json"}, 2, "", "usage: vpim-milter addr"},
		{"bad flag", []string{"--bogus", "2722@lucent.com"}, 2, "", "flag provided but not defined"},
		{"help", []string{"-h"}, 0, "", "Exit status: 0 all addresses valid"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var out, errb bytes.Buffer
			code := runAddr(tc.args, &out, &errb)
			if code != tc.code {
				t.Errorf("exit %d, want %d; stderr %q", code, tc.code, errb.String())
			}
			if out.String() != tc.stdout {
				t.Errorf("stdout:\n%s\nwant:\n%s", out.String(), tc.stdout)
			}
			if tc.stderrSub == "" && errb.Len() != 0 {
				t.Errorf("unexpected stderr %q", errb.String())
			}
			if !strings.Contains(errb.String(), tc.stderrSub) {
				t.Errorf("stderr %q does not contain %q", errb.String(), tc.stderrSub)
			}
		})
	}
}

// TestAddrCommandJSONShape decodes the JSON output the way an external
// consumer would: an array, one object per address, in order.
func TestAddrCommandJSONShape(t *testing.T) {
	var out, errb bytes.Buffer
	if code := runAddr(append([]string{"--json"}, addrGoldenArgs...), &out, &errb); code != 1 {
		t.Fatalf("exit %d, want 1; stderr %q", code, errb.String())
	}
	var got []struct {
		Input  string `json:"input"`
		Valid  bool   `json:"valid"`
		Kind   string `json:"kind"`
		Number string `json:"number"`
	}
	if err := json.Unmarshal(out.Bytes(), &got); err != nil {
		t.Fatal(err)
	}
	if len(got) != len(addrGoldenArgs) {
		t.Fatalf("%d objects, want %d", len(got), len(addrGoldenArgs))
	}
	for i, g := range got {
		if g.Input != addrGoldenArgs[i] {
			t.Errorf("object %d input %q, want %q", i, g.Input, addrGoldenArgs[i])
		}
	}
	if !got[1].Valid || got[1].Kind != "pstn" || got[1].Number != "+12024557622" || got[7].Valid || got[7].Kind != "vpim" {
		t.Errorf("unexpected objects: %+v", got)
	}
}
