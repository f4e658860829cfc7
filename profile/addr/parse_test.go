package addr

import (
	"encoding/json"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite golden files")

// TestParseCases covers the forms and errors beyond the DIGEST vectors.
func TestParseCases(t *testing.T) {
	long := strings.Repeat("1", MaxLen) + "@x.example"
	attn60 := strings.Repeat("a", 60)
	cases := []struct {
		name string
		in   string
		want Address
	}{
		{"angle brackets and space", " <VOICE=+3940226338@worldvoice.com> ", Address{Valid: true, Kind: KindPSTN, Service: "VOICE", Number: "+3940226338", Local: "VOICE=+3940226338", Domain: "worldvoice.com"}},
		{"bare postmaster (RFC 5321 4.1.1.3)", "Postmaster", Address{Valid: true, Kind: KindSpecial, Special: SpecialPostmaster, Local: "Postmaster"}},
		{"special case-insensitive", "NON-MAIL-USER@VM.Example.COM", Address{Valid: true, Kind: KindSpecial, Special: SpecialNonMailUser, Local: "NON-MAIL-USER", Domain: "vm.example.com"}},
		{"quoted special", `"loopback"@vm.example`, Address{Valid: true, Kind: KindSpecial, Special: SpecialLoopback, Local: "loopback", Domain: "vm.example"}},
		{"bare loopback", "loopback", Address{Error: "missing @domain", Local: "loopback"}},
		{"no domain", "joe", Address{Error: "missing @domain", Local: "joe"}},
		{"empty", "", Address{Error: "empty address"}},
		{"empty brackets", "<>", Address{Error: "empty address"}},
		{"empty domain", "joe@", Address{Error: "empty domain"}},
		{"two at signs", "a@b@c", Address{Error: `domain: "@" not allowed (RFC 5321 4.1.2)`}},
		{"bad domain label", "2722@-bad-.example", Address{Error: `domain: label starts or ends with "-" (RFC 5321 4.1.2)`}},
		{"trailing dot domain", "2722@example.com.", Address{Error: `domain: trailing "." (RFC 5321 4.1.2)`, Local: "2722", Domain: "example.com"}},
		{"domain literal", "2722@[192.0.2.1]", Address{Valid: true, Kind: KindVPIM, Number: "2722", Local: "2722", Domain: "[192.0.2.1]"}},
		{"bad domain literal", "2722@[192.0.2.1", Address{Error: "domain: unterminated domain literal (RFC 5322 3.4.1)"}},
		{"double dot", "a..b@x.example", Address{Error: `local part: misplaced "." in dot-atom (RFC 5322 3.2.3)`}},
		{"unterminated quote", `"abc@x.example`, Address{Error: "local part: unterminated quoted-string (RFC 5322 3.2.4)"}},
		{"empty quoted", `""@x.example`, Address{Error: "empty local part"}},
		{"quoted-pair", `"a\"b"@x.example`, Address{Valid: true, Kind: KindPlain, Local: `a"b`, Domain: "x.example"}},
		{"junk after quote", `"a"b@x.example`, Address{Error: `"b" after the local part`}},
		{"control byte", "a\x01b@x.example", Address{Error: "local part: byte 0x01 not allowed unquoted (RFC 5322 3.2.3)"}},
		{"too long", long, Address{Error: "longer than 1024 bytes"}},
		{"long local part warns", "VOICE=+3940226338/ATTN=" + attn60 + "@x.example", Address{Valid: true, Kind: KindPSTN, Service: "VOICE", Number: "+3940226338", Attn: &Name{Surname: attn60}, Warnings: []string{"local part longer than 64 octets (RFC 5321 4.5.3.1.1)"}, Local: "VOICE=+3940226338/ATTN=" + attn60, Domain: "x.example"}},
		{"plain subaddress", "joe+tag@example.com", Address{Valid: true, Kind: KindPlain, Local: "joe+tag", Domain: "example.com"}},
		{"SRS is plain", "SRS0=HHH=TT=example.com=joe@fwd.example", Address{Valid: true, Kind: KindPlain, Local: "SRS0=HHH=TT=example.com=joe", Domain: "fwd.example"}},
		{"unknown selector, local phone, is plain", "bounce=12@x.example", Address{Valid: true, Kind: KindPlain, Local: "bounce=12", Domain: "x.example"}},
		{"separators only is plain", "+-.-@x.example", Address{Valid: true, Kind: KindPlain, Local: "+-.-", Domain: "x.example"}},
		{"two extensions native", "12+34+56@x.example", Address{Kind: KindVPIM, Number: "12", Error: `more than one extension separator "+" (RFC 3801 4.1.1)`, Local: "12+34+56", Domain: "x.example"}},
		{"native empty ext", "2722+@x.example", Address{Kind: KindVPIM, Number: "2722", Error: `extension separator "+" without digits (RFC 3801 4.1.1)`, Local: "2722+", Domain: "x.example"}},
		{"native no digits before ext", "+-+5@x.example", Address{Kind: KindVPIM, Number: "+", Extension: "5", Error: "no digits before the extension (RFC 3801 4.1.1)", Local: "+-+5", Domain: "x.example"}},
		{"selector-less vpim-mbox (RFC 3804 4.2.1)", "7035255550/EXT=227@gw.example", Address{Valid: true, Kind: KindPSTN, Service: "VPIM", Number: "7035255550", Extension: "227", Local: "7035255550/EXT=227", Domain: "gw.example"}},
		{"vpim no number", "VPIM=/EXT=227@gw.example", Address{Kind: KindPSTN, Service: "VPIM", Extension: "227", Error: "no telephone number (RFC 3804 4.2.1)", Local: "VPIM=/EXT=227", Domain: "gw.example"}},
		{"vpim ext twice", "VPIM=+16137637582+230/EXT=231@gw.example", Address{Kind: KindPSTN, Service: "VPIM", Number: "+16137637582", Extension: "230", Error: "extension given twice (RFC 3804 4.2.1)", Local: "VPIM=+16137637582+230/EXT=231", Domain: "gw.example"}},
		{"vpim ext not digits", "VPIM=+16137637582/EXT=2a@gw.example", Address{Kind: KindPSTN, Service: "VPIM", Number: "+16137637582", Error: `extension: "a" not allowed; digits only (RFC 3804 4.2.1)`, Local: "VPIM=+16137637582/EXT=2a", Domain: "gw.example"}},
		{"vpim postd warns", "VPIM=+16137637582/POSTD=12@gw.example", Address{Valid: true, Kind: KindPSTN, Service: "VPIM", Number: "+16137637582", PostDial: "12", Warnings: []string{"/POSTD= is not part of vpim-mbox (RFC 3804 4.2.1)"}, Local: "VPIM=+16137637582/POSTD=12", Domain: "gw.example"}},
		{"vpim DL twice", "VPIM=+14165977230/DL=93/DL=94@gw.example", Address{Kind: KindPSTN, Service: "VPIM", Number: "+14165977230", DL: "93", Error: "more than one /DL= (RFC 3804 4.2.1)", Local: "VPIM=+14165977230/DL=93/DL=94", Domain: "gw.example"}},
		{"ATTN with initials", "VPIM=+16137637582/ATTN=John.Q.Public@gw.example", Address{Valid: true, Kind: KindPSTN, Service: "VPIM", Number: "+16137637582", Attn: &Name{Given: "John", Initials: "Q", Surname: "Public"}, Local: "VPIM=+16137637582/ATTN=John.Q.Public", Domain: "gw.example"}},
		{"ATTN empty surname", `"VOICE=+3940226338/ATTN=Glenn."@gw.example`, Address{Kind: KindPSTN, Service: "VOICE", Number: "+3940226338", Error: "ATTN: empty surname (RFC 2846 3.1)", Local: "VOICE=+3940226338/ATTN=Glenn.", Domain: "gw.example"}},
		{"ATTN after qualifier warns", `"VOICE=+3940226338/ORG=ACME Inc/ATTN=Bob"@gw.example`, Address{Valid: true, Kind: KindPSTN, Service: "VOICE", Number: "+3940226338", Attn: &Name{Surname: "Bob"}, Qualifiers: []Qualifier{{Key: "ORG", Value: "ACME Inc"}}, Warnings: []string{"/ATTN= after /ORG= is out of the grammar's order (DIGEST 4.1)"}, Local: "VOICE=+3940226338/ORG=ACME Inc/ATTN=Bob", Domain: "gw.example"}},
		{"qualifiers kept (RFC 3191 2)", "voice=+3940226338/xyz=1/Co=IT@gw.example", Address{Valid: true, Kind: KindPSTN, Service: "VOICE", Number: "+3940226338", Qualifiers: []Qualifier{{Key: "XYZ", Value: "1"}, {Key: "CO", Value: "IT"}}, Local: "voice=+3940226338/xyz=1/Co=IT", Domain: "gw.example"}},
		{"empty qualifier", "VOICE=+3940226338/XYZ=@gw.example", Address{Kind: KindPSTN, Service: "VOICE", Number: "+3940226338", Error: "/XYZ=: empty value (RFC 3191 2)", Local: "VOICE=+3940226338/XYZ=", Domain: "gw.example"}},
		{"slash in qualifier value", "VOICE=+3940226338/ORG=a/b@x.example", Address{Kind: KindPSTN, Service: "VOICE", Number: "+3940226338", Error: `/ORG=: "/" not allowed in a qualifier value (DIGEST 4.1 qvalue)`, Local: "VOICE=+3940226338/ORG=a/b", Domain: "x.example"}},
		{"selector-less vpim with slashes", "/7035255550/EXT=227/@gw.example", Address{Valid: true, Kind: KindPSTN, Service: "VPIM", Number: "7035255550", Extension: "227", Local: "/7035255550/EXT=227/", Domain: "gw.example"}},
		{"selector-less, qualifier fails, is plain", "0/0=/@x.example", Address{Valid: true, Kind: KindPlain, Local: "0/0=/", Domain: "x.example"}},
		{"pause and tonewait case", "VOICE=9P555W1a@x.example", Address{Valid: true, Kind: KindPSTN, Service: "VOICE", Number: "9p555w1A", Local: "VOICE=9P555W1a", Domain: "x.example"}},
		{"space in global phone", `"VOICE=+39 40"@x.example`, Address{Kind: KindPSTN, Service: "VOICE", Error: `global-phone: " " not allowed (RFC 3191 2.1)`, Local: "VOICE=+39 40", Domain: "x.example"}},
		{"plus inside VOICE number", "VOICE=+1613+5@x.example", Address{Kind: KindPSTN, Service: "VOICE", Error: `global-phone: "+" not allowed (RFC 3191 2.1)`, Local: "VOICE=+1613+5", Domain: "x.example"}},
		{"global phone 16 digits", "VOICE=+1234567890123456@x.example", Address{Kind: KindPSTN, Service: "VOICE", Error: "global-phone has 16 digits; E.164 allows at most 15 (RFC 3191 2.1)", Local: "VOICE=+1234567890123456", Domain: "x.example"}},
		{"local phone bad char", "VOICE=9x1@x.example", Address{Kind: KindPSTN, Service: "VOICE", Error: `local-phone: "x" not allowed (RFC 2846 2.1)`, Local: "VOICE=9x1", Domain: "x.example"}},
		{"nothing to dial", "VOICE=/ISUB=12@x.example", Address{Kind: KindPSTN, Service: "VOICE", ISub: "12", Error: "no telephone number and no post-dial sequence (RFC 2846 2.1)", Local: "VOICE=/ISUB=12", Domain: "x.example"}},
		{"empty post-dial", "VOICE=+3940226338/POSTD=@x.example", Address{Kind: KindPSTN, Service: "VOICE", Number: "+3940226338", Error: "empty post-dial sequence (RFC 2846 2.3)", Local: "VOICE=+3940226338/POSTD=", Domain: "x.example"}},
		{"post-dial plus", "VOICE=+3940226338/POSTD=+1@x.example", Address{Kind: KindPSTN, Service: "VOICE", Number: "+3940226338", Error: `post-dial: "+" is reserved for global-phone (RFC 2846 2.3)`, Local: "VOICE=+3940226338/POSTD=+1", Domain: "x.example"}},
		{"two ISUB", "VOICE=+3940226338/ISUB=12/ISUB=34@x.example", Address{Kind: KindPSTN, Service: "VOICE", Number: "+3940226338", ISub: "12", Error: "more than one /ISUB=; use one address per subaddress (RFC 3191 4.1)", Local: "VOICE=+3940226338/ISUB=12/ISUB=34", Domain: "x.example"}},
		{"ISUB without digits", "VOICE=+3940226338/ISUB=-@x.example", Address{Kind: KindPSTN, Service: "VOICE", Number: "+3940226338", Error: "empty ISDN subaddress (RFC 2846 2.2)", Local: "VOICE=+3940226338/ISUB=-", Domain: "x.example"}},
		{"two T33S", "FAX=+12027653000/T33S=1/T33S=2@x.example", Address{Kind: KindPSTN, Service: "FAX", Number: "+12027653000", T33S: "1", Error: "more than one /T33S=; use one address per subaddress (RFC 2304 4.1)", Local: "FAX=+12027653000/T33S=1/T33S=2", Domain: "x.example"}},
		{"T33S is a qualifier outside FAX", "VOICE=+3940226338/T33S=1@x.example", Address{Valid: true, Kind: KindPSTN, Service: "VOICE", Number: "+3940226338", Qualifiers: []Qualifier{{Key: "T33S", Value: "1"}}, Local: "VOICE=+3940226338/T33S=1", Domain: "x.example"}},
		{"SMS", "/SMS=+33-1-88335215/@telecom.com", Address{Valid: true, Kind: KindPSTN, Service: "SMS", Number: "+33188335215", Local: "/SMS=+33-1-88335215/", Domain: "telecom.com"}},
		{"known selector, bad value", "sms=hello@x.example", Address{Kind: KindPSTN, Service: "SMS", Error: `local-phone: "h" not allowed (RFC 2846 2.1)`, Local: "sms=hello", Domain: "x.example"}},
		{"AMIS-D two fields opaque", "AMIS=A1+2345@gw.example", Address{Valid: true, Kind: KindPSTN, Service: "AMIS", AMIS: &AMIS{Mailbox: "A1+2345", Form: AMISOpaque}, Warnings: []string{"AMIS mailbox fits neither AMIS-A nor AMIS-D; kept opaque (RFC 3804 4.2.3)"}, Local: "AMIS=A1+2345", Domain: "gw.example"}},
		{"AMIS-D empty id", "AMIS=A1++99@gw.example", Address{Kind: KindPSTN, Service: "AMIS", AMIS: &AMIS{Mailbox: "A1++99", Form: AMISD, NumberPlan: "A1"}, Extension: "99", Error: "empty AMIS-D mailbox id (RFC 3804 4.2.3)", Local: "AMIS=A1++99", Domain: "gw.example"}},
		{"AMIS empty", "AMIS=@gw.example", Address{Kind: KindPSTN, Service: "AMIS", AMIS: &AMIS{}, Error: "empty AMIS mailbox (RFC 3804 4.2.3)", Local: "AMIS=", Domain: "gw.example"}},
		{"AMIS space", `"AMIS=1 2"@gw.example`, Address{Kind: KindPSTN, Service: "AMIS", AMIS: &AMIS{Mailbox: "1 2"}, Error: `AMIS mailbox: " " not allowed (RFC 3804 4.2.3)`, Local: "AMIS=1 2", Domain: "gw.example"}},
		{"SYSNUM draft form", "AMIS=1+401+3278144+/SYSNUM=1++3279542@gw.example", Address{Valid: true, Kind: KindPSTN, Service: "AMIS", Number: "+14013278144", SysNum: "+13279542", AMIS: &AMIS{Mailbox: "1+401+3278144+", Form: AMISPSTN, CountryCode: "1", AreaCode: "401", LocalNumber: "3278144", SysNum: "1++3279542"}, Warnings: []string{`/SYSNUM= in the draft-ema-vpim-address-00 4.1.3 form; RFC 3804 4.2.3 ends amis-PSTN-number with "+"`}, Local: "AMIS=1+401+3278144+/SYSNUM=1++3279542", Domain: "gw.example"}},
		{"SYSNUM garbage", "AMIS=1+401+3278144+/SYSNUM=abc@gw.example", Address{Kind: KindPSTN, Service: "AMIS", Number: "+14013278144", AMIS: &AMIS{Mailbox: "1+401+3278144+", Form: AMISPSTN, CountryCode: "1", AreaCode: "401", LocalNumber: "3278144", SysNum: "abc"}, Error: "/SYSNUM=: not an amis-a-number (RFC 3804 4.2.3)", Local: "AMIS=1+401+3278144+/SYSNUM=abc", Domain: "gw.example"}},
		{"SYSNUM too long", "AMIS=0++1+/SYSNUM=49+6151+1234567890+@gw.example", Address{Kind: KindPSTN, Service: "AMIS", Number: "1", AMIS: &AMIS{Mailbox: "0++1+", Form: AMISPrivate, LocalNumber: "1", SysNum: "49+6151+1234567890+"}, Error: "/SYSNUM=: AMIS-A PSTN number has 16 digits; at most 15 (RFC 3804 4.2.3)", Local: "AMIS=0++1+/SYSNUM=49+6151+1234567890+", Domain: "gw.example"}},
		{"AMIS with ATTN warns (draft only)", "AMIS=0++5551234+/ATTN=Bob@gw.example", Address{Valid: true, Kind: KindPSTN, Service: "AMIS", Number: "5551234", Attn: &Name{Surname: "Bob"}, AMIS: &AMIS{Mailbox: "0++5551234+", Form: AMISPrivate, LocalNumber: "5551234"}, Warnings: []string{"pstn-recipient in an AMIS address is draft-ema-vpim-address-00 4.1.3 only (RFC 3804 4.2.3)"}, Local: "AMIS=0++5551234+/ATTN=Bob", Domain: "gw.example"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			want := c.want
			want.Input = c.in
			tcompare(t, Parse(c.in), want)
		})
	}
}

func TestDialString(t *testing.T) {
	cases := []struct{ in, want string }{
		{"VOICE=+1-202-455-7622/POSTD=p1w7005393w373@vm.example", "+12024557622"},
		{"VOICE=9p5551234@outdial.example", "9p5551234"},
		{"+17035245550+230@ema.org", "+17035245550"},
		{"2722+111@lucent.com", "2722"},
		{"FAX=+1.202.7653000/T33S=6377@faxserv.org", "+12027653000"},
		{"FAX=/postd=w6743w99p51@faxgw.example", ""},
		{"AMIS=1+401+3278144+/SYSNUM=1+401+3279542+@gw.example", "+14013279542"},
		{"AMIS=0++5551234+@gw.example", "5551234"},
		{"AMIS=A1+2345+99@gw.example", ""},
		{"AMIS=+1/401+3278144+/SYSNUM=1+401+3279542+@gw.example", "+14013279542"},
		{"joe.user@example.com", ""},
		{"postmaster@vm1.example.com", ""},
		{"+1613763758212345@example.com", ""},
	}
	for _, c := range cases {
		a := Parse(c.in)
		if got := a.DialString(); got != c.want {
			t.Errorf("Parse(%q).DialString() = %q, want %q", c.in, got, c.want)
		}
		if got := a.DialString(); Normalize(got) != got {
			t.Errorf("Normalize(%q) = %q, want it unchanged", got, Normalize(got))
		}
	}
}

func TestNormalize(t *testing.T) {
	cases := []struct{ in, want string }{
		{"+1 (613) 763-7582", "+16137637582"},
		{"+1-613", "+1613"},
		{"  +39.40.226338", "+3940226338"},
		{"00 1 613", "001613"},
		{"1+2", "12"},
		{"9P,w*#abcd", "9pw*#ABCD"},
		{"+", "+"},
		{"", ""},
		{"x-y-z", ""},
	}
	for _, c := range cases {
		if got := Normalize(c.in); got != c.want {
			t.Errorf("Normalize(%q) = %q, want %q", c.in, got, c.want)
		}
		if got := Normalize(c.want); got != c.want {
			t.Errorf("Normalize not idempotent on %q: %q", c.want, got)
		}
	}
}

func TestGlobalIsVoiceErr(t *testing.T) {
	cases := []struct {
		in            string
		global, voice bool
		err           string
	}{
		{"+16137637582@vm.nortel.ca", true, true, ""},
		{"2722@lucent.com", false, true, ""},
		{"VOICE=9p5551234@outdial.example", false, true, ""},
		{"AMIS=0++5551234+@gw.example", false, true, ""},
		{"VPIM=+14165977230/DL=93@gw.example", true, true, ""},
		{"FAX=+12027653000@faxworld.org", true, false, ""},
		{"joe.user@example.com", false, false, ""},
		{"non-mail-user@vm.example.com", false, false, ""},
		{"VOICE=+@gw.example", false, false, `addr: invalid address "VOICE=+@gw.example": global-phone without digits (RFC 3191 2.1)`},
	}
	for _, c := range cases {
		a := Parse(c.in)
		if a.Global() != c.global || a.IsVoice() != c.voice {
			t.Errorf("%s: Global %v IsVoice %v, want %v %v", c.in, a.Global(), a.IsVoice(), c.global, c.voice)
		}
		err := a.Err()
		switch {
		case c.err == "" && err != nil:
			t.Errorf("%s: Err() = %v, want nil", c.in, err)
		case c.err != "" && (err == nil || err.Error() != c.err || !errors.Is(err, ErrInvalid)):
			t.Errorf("%s: Err() = %v, want %q wrapping ErrInvalid", c.in, err, c.err)
		}
	}
}

// TestJSONGolden pins the JSON form (the `addr --json` contract) of all
// DIGEST vectors in testdata/vectors.json.golden. go test -update rewrites it.
func TestJSONGolden(t *testing.T) {
	all := make([]Address, 0, len(digestVectors))
	for _, v := range digestVectors {
		all = append(all, Parse(v.in))
	}
	got, err := json.MarshalIndent(all, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	got = append(got, '\n')
	path := filepath.Join("testdata", "vectors.json.golden")
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if string(got) != string(want) {
		t.Errorf("JSON differs from %s (go test -update rewrites it); got:\n%s", path, got)
	}
	// The contract members are always present.
	var objs []map[string]any
	if err := json.Unmarshal(got, &objs); err != nil {
		t.Fatal(err)
	}
	for _, o := range objs {
		for _, k := range []string{"input", "valid", "kind", "service", "number", "extension", "post_dial", "isub", "sysnum", "error"} {
			if _, ok := o[k]; !ok {
				t.Errorf("%v: member %q missing", o["input"], k)
			}
		}
	}
}
