package addr

import (
	"reflect"
	"strings"
	"testing"
)

// FuzzParse checks that Parse never panics and that its result is
// consistent: Input is kept, Error is set exactly when invalid, valid
// numbers respect E.164, DialString is normalised, and the canonical form
// String() parses back to the same fields and is a fixed point.
// Seeds: testdata/fuzz/FuzzParse plus the DIGEST vectors.
func FuzzParse(f *testing.F) {
	for _, v := range digestVectors {
		f.Add(v.in)
	}
	f.Fuzz(func(t *testing.T, s string) {
		a := Parse(s)
		if len(s) > MaxLen {
			// Bounded work: over-long input is refused before any parsing.
			if a.Valid || a.Input != s || a.Kind != "" {
				t.Fatalf("over-long input accepted: %+v", a)
			}
			return
		}
		checkInvariants(t, s, a)
	})
}

func checkInvariants(t *testing.T, s string, a Address) {
	t.Helper()
	if a.Input != s {
		t.Fatalf("Input = %q, want %q", a.Input, s)
	}
	if (a.Error == "") != a.Valid {
		t.Fatalf("%q: Valid %v with Error %q", s, a.Valid, a.Error)
	}
	if b := Parse(s); !reflect.DeepEqual(a, b) {
		t.Fatalf("%q: Parse is not deterministic", s)
	}
	if n := Normalize(s); Normalize(n) != n {
		t.Fatalf("Normalize not idempotent on %q", s)
	}
	if !a.Valid {
		if a.DialString() != "" || a.IsVoice() || a.String() != s {
			t.Fatalf("%q: invalid address with DialString %q, IsVoice %v, String %q", s, a.DialString(), a.IsVoice(), a.String())
		}
		return
	}
	if a.Kind == "" {
		t.Fatalf("%q: valid without kind", s)
	}
	if a.Global() {
		d := a.Number[1:]
		if d == "" || len(d) > maxE164 || strings.Trim(d, "0123456789") != "" {
			t.Fatalf("%q: bad global number %q", s, a.Number)
		}
	}
	if ds := a.DialString(); Normalize(ds) != ds {
		t.Fatalf("%q: DialString %q is not normalised (%q)", s, ds, Normalize(ds))
	}
	c := a.String()
	if len(c) > MaxLen {
		return
	}
	b := Parse(c)
	if !b.Valid {
		t.Fatalf("%q: canonical form %q is invalid: %s", s, c, b.Error)
	}
	if !sameFields(a, b) {
		t.Fatalf("%q: canonical form %q parses differently:\n%s\n%s", s, c, dump(a), dump(b))
	}
	if !a.Equivalent(b) {
		t.Fatalf("%q: not equivalent to its canonical form %q", s, c)
	}
	if b.String() != c {
		t.Fatalf("%q: String not a fixed point: %q then %q", s, c, b.String())
	}
}

// sameFields compares everything but Input, Local and Warnings.
func sameFields(a, b Address) bool {
	a.Input, a.Local, a.Warnings = "", "", nil
	b.Input, b.Local, b.Warnings = "", "", nil
	return reflect.DeepEqual(a, b)
}

// TestInvariantsOnCases runs the fuzz invariants on every table case, so
// they are checked by a plain go test too.
func TestInvariantsOnCases(t *testing.T) {
	for _, v := range digestVectors {
		checkInvariants(t, v.in, Parse(v.in))
	}
}

func TestString(t *testing.T) {
	cases := []struct{ in, want string }{
		{"2722+111@Lucent.com", "2722+111@lucent.com"},
		{"+1-613-763-7582@vm.nortel.ca", "+16137637582@vm.nortel.ca"},
		{"vpim=+1-613-763-7582/ext=230@gw.example.com", "VPIM=+16137637582/EXT=230@gw.example.com"},
		{"VPIM=+16137637582+230@gw.example.com", "VPIM=+16137637582/EXT=230@gw.example.com"},
		{"7035255550/EXT=227@gw.example", "VPIM=7035255550/EXT=227@gw.example"},
		{"VPIM=+16137637582/EXT=230/ATTN=Glenn.Parsons@gw.example.com", "VPIM=+16137637582/EXT=230/ATTN=Glenn.Parsons@gw.example.com"},
		{`"VOICE=+3940226338/ATTN=Mark Collins"@gw.example`, `"VOICE=+3940226338/ATTN=Mark Collins"@gw.example`},
		{"/FAX=+33-1-88335215/@faxworld.org", "FAX=+33188335215@faxworld.org"},
		{"FAX=+1-202-455-7622/T33S=8745/PostD=p1w7005393w373@faxgw.example", "FAX=+12024557622/POSTD=p1w7005393w373/T33S=8745@faxgw.example"},
		{"VOICE=9P555W1a@x.example", "VOICE=9p555w1A@x.example"},
		{"AMIS=+1/401+3278144+/SYSNUM=1+401+3279542+@gw.example", "AMIS=+1/401+3278144+/SYSNUM=1+401+3279542+@gw.example"},
		{"Postmaster", "postmaster"},
		{"NON-MAIL-USER@VM.Example.COM", "non-mail-user@vm.example.com"},
		{`"joe"@Example.COM`, "joe@example.com"},
		{`"a\"b c"@x.example`, `"a\"b c"@x.example`},
		{"VOICE=+@gw.example", "VOICE=+@gw.example"},
		{"AMIS=//@x.example", "AMIS=//@x.example"},
		{`"VOICE=+1/ATTN=x//ISUB=1"@x.example`, "VOICE=+1/ISUB=1/ATTN=x//@x.example"},
	}
	for _, c := range cases {
		if got := Parse(c.in).String(); got != c.want {
			t.Errorf("Parse(%q).String() = %q, want %q", c.in, got, c.want)
		}
	}
}

func BenchmarkParse(b *testing.B) {
	inputs := make([]string, len(digestVectors))
	for i, v := range digestVectors {
		inputs[i] = v.in
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		Parse(inputs[i%len(inputs)])
	}
}

func TestEquivalent(t *testing.T) {
	cases := []struct {
		a, b string
		want bool
	}{
		{"2722+111@lucent.com", "VPIM=2722/EXT=111@Lucent.com", true},
		{"2722+111@lucent.com", "VPIM=2722+111@lucent.com", true},
		{"+17035245550+230@ema.org", "VPIM=+1-703-524-5550/EXT=230@ema.org", true},
		{"+17035245550+230@ema.org", "VPIM=17035245550/EXT=230@ema.org", false},
		{"2722+111@lucent.com", "2722+112@lucent.com", false},
		{"2722@lucent.com", "2722@nortel.ca", false},
		{"VPIM=+14165977230/DL=93@gw.example", "+14165977230@gw.example", false},
		{"/FAX=+33-1-88335215/@faxworld.org", `"FAX=+33188335215"@FaxWorld.org`, true},
		{"VOICE=+3940226338@gw.example", "FAX=+3940226338@gw.example", false},
		{"Postmaster@x.example", "postmaster@X.example", true},
		{"joe@x.example", "Joe@x.example", false},
		{"VOICE=+@x.example", "VOICE=+@x.example", false},
	}
	for _, c := range cases {
		if got := Parse(c.a).Equivalent(Parse(c.b)); got != c.want {
			t.Errorf("%s ≡ %s = %v, want %v", c.a, c.b, got, c.want)
		}
		if got := Parse(c.b).Equivalent(Parse(c.a)); got != c.want {
			t.Errorf("%s ≡ %s = %v, want %v (reversed)", c.b, c.a, got, c.want)
		}
	}
}
