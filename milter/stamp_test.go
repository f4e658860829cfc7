package milter

import (
	"fmt"
	"strings"
	"testing"

	"github.com/vpim-milter/vpim-milter/profile"
)

func TestStampString(t *testing.T) {
	cases := []struct {
		name string
		s    Stamp
		want string
	}{
		{"modify", Stamp{AuthservID: "mx.example.com", Mode: ModeEnforce, Profile: "vpim2", Target: profile.TargetIVM, Verdict: profile.VerdictModify, Rules: []string{"I-CTX", "I-AUDIO", "I-CTX"}},
			"mx.example.com; mode=enforce; profile=vpim2; target=ivm; verdict=modify; rules=I-CTX,I-AUDIO"},
		{"report reject", Stamp{AuthservID: "mx.example.com", Mode: ModeReport, Profile: "vpim2", Target: profile.TargetIVM, Verdict: profile.VerdictReject, Condition: "private-to-non-capable", Action: "reject", Code: "5.6.0", Rules: []string{"V2-SENS"}},
			"mx.example.com; mode=report; profile=vpim2; target=ivm; verdict=reject; condition=private-to-non-capable; action=reject; code=5.6.0; rules=V2-SENS"},
		{"accept, no findings", Stamp{AuthservID: "mx.example.com", Mode: ModeEnforce, Profile: "ivm", Target: profile.TargetIVM, Verdict: profile.VerdictAccept},
			"mx.example.com; mode=enforce; profile=ivm; target=ivm; verdict=accept"},
		{"syntax is not injected", Stamp{AuthservID: "mx.example.com; verdict=accept", Mode: ModeEnforce, Profile: "vpim2\r\nX-Evil: 1", Rules: []string{"A;B", " ", "C=D"}},
			"mx.example.comverdictaccept; mode=enforce; profile=vpim2X-Evil:1; rules=AB,CD"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := c.s.String(); got != c.want {
				t.Errorf("String() =\n%s\nwant\n%s", got, c.want)
			}
		})
	}
}

// A stamp with more rules than fit stays one line within the bound and says how many it
// left out; every rule it lists is one of them, in order.
func TestStampStringBound(t *testing.T) {
	for _, n := range []int{1, 10, 60, 61, 62, 100, 500} {
		var rules []string
		for i := range n {
			rules = append(rules, fmt.Sprintf("RULE-%03d-X", i))
		}
		got := Stamp{AuthservID: "mx.example.com", Mode: ModeEnforce, Verdict: profile.VerdictModify, Rules: rules}.String()
		if len(StampField)+2+len(got) > maxStampLen || strings.ContainsAny(got, "\r\n") {
			t.Fatalf("%d rules: %d characters with the name, want at most %d on one line", n, len(StampField)+2+len(got), maxStampLen)
		}
		_, list, _ := strings.Cut(got, "; rules=")
		items := strings.Split(list, ",")
		listed := len(items)
		if last := items[len(items)-1]; strings.HasPrefix(last, "+") {
			listed--
			if want := fmt.Sprintf("+%d", n-listed); last != want {
				t.Errorf("%d rules: list ends %q, want %q", n, last, want)
			}
		} else if listed != n {
			t.Errorf("%d rules: %d listed and no +N", n, listed)
		}
		for i := 0; i < listed; i++ {
			if items[i] != rules[i] {
				t.Fatalf("%d rules: item %d is %q, want %q", n, i, items[i], rules[i])
			}
		}
		if n <= 60 && listed != n {
			t.Errorf("%d rules: only %d listed although all fit", n, listed)
		}
	}
}

func TestClaimedID(t *testing.T) {
	cases := []struct{ value, want string }{
		{"mx.example.com; mode=enforce", "mx.example.com"},
		{" MX.Example.COM ;mode=report", "mx.example.com"},
		{"(forged) mx.example.com (really); verdict=accept", "mx.example.com"},
		{"(nested (comment)) mx.example.com; x", "mx.example.com"},
		{`"mx.example.com"; verdict=accept`, "mx.example.com"},
		{`"mx.ex\"ample.com"; x`, `mx.ex"ample.com`},
		{"\r\n\tmx.example.com\r\n\t; verdict=accept", "mx.example.com"},
		{"mx.example.com", "mx.example.com"},
		{"mx.example.com other; x", ""},
		{"; verdict=accept", ""},
		{"", ""},
		{"(unterminated mx.example.com; x", ""},
		{`"unterminated; x`, ""},
		{"mx.example.com (a;b); x", "mx.example.com"},
	}
	for _, c := range cases {
		if got := claimedID(c.value); got != c.want {
			t.Errorf("claimedID(%q) = %q, want %q", c.value, got, c.want)
		}
	}
}

func TestForgedStamp(t *testing.T) {
	const id = "mx.example.com"
	cases := []struct {
		name, value string
		want        bool
	}{
		{"VPIM-Check", "mx.example.com; verdict=accept", true},
		{"vpim-check", "MX.EXAMPLE.COM; verdict=accept", true},
		{"VPIM-Check ", "(x) mx.example.com; verdict=accept", true},
		{"VPIM-Check", "other.example.net; verdict=accept", false},
		{"VPIM-Check", "; verdict=accept", true},
		{"VPIM-Check", "garbage (unterminated", true},
		{"Authentication-Results", "mx.example.com; dkim=pass", false},
		{"X-VPIM-Check", "mx.example.com; verdict=accept", false},
	}
	for _, c := range cases {
		if got := forgedStamp(c.name, c.value, id); got != c.want {
			t.Errorf("forgedStamp(%q, %q) = %v, want %v", c.name, c.value, got, c.want)
		}
	}
}

// FuzzClaimedID: any value gives a one-word lower-case id or "", never a panic.
func FuzzClaimedID(f *testing.F) {
	for _, s := range []string{"mx.example.com; x", `"a\"b"; x`, "(a(b)c) d;", "(", `"`, `\`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, v string) {
		id := claimedID(v)
		if id != strings.ToLower(id) || strings.ContainsAny(id, " \t\r\n") {
			t.Fatalf("claimedID(%q) = %q", v, id)
		}
	})
}
