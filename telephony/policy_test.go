package telephony

import (
	"errors"
	"fmt"
	"strings"
	"testing"
)

// checkNumberCase is one number under one policy: want is the normalised
// number when admitted, or "code rule" when refused ("550 premium").
type checkNumberCase struct {
	name   string
	number string
	want   string
}

func runNumberCases(t *testing.T, o Options, cases []checkNumberCase) {
	t.Helper()
	p, err := NewPolicy(o)
	tcheck(t, err, "new policy")
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := p.CheckNumber(tc.number)
			var re *RejectError
			switch {
			case err == nil:
				tcompare(t, got, tc.want, "admitted "+tc.number)
			case !errors.As(err, &re):
				t.Fatalf("%s: %v, want a *RejectError", tc.number, err)
			default:
				tcompare(t, fmt.Sprintf("%d %s", re.Code, re.Rule), tc.want, tc.number+" ("+re.Reason+")")
				if re.Code == 550 && re.Enhanced != "5.7.1" || re.Code == 553 && re.Enhanced != "5.1.3" || re.Temporary() {
					t.Errorf("%s: %d %s", tc.number, re.Code, re.Enhanced)
				}
			}
		})
	}
}

// TestPolicyNANP (issue 9 item 1): with home_country +1 only the USA and
// Canada are domestic. The Caribbean members the issue names, Guam and
// the other territories are international-like, however they are written,
// and "+1" in outdial_allow does not open them; "+1876" does.
func TestPolicyNANP(t *testing.T) {
	home := Options{HomeCountry: "+1"}
	runNumberCases(t, home, []checkNumberCase{
		{"Dominican Republic", "+18095551234", "550 nanp"},
		{"Jamaica", "+18765551234", "550 nanp"},
		{"British Virgin Islands", "+12845551234", "550 nanp"},
		{"Turks and Caicos", "+16495551234", "550 nanp"},
		{"Guam", "+16715551234", "550 nanp"},
		{"Northern Marianas", "+16705551234", "550 nanp"},
		{"American Samoa", "+16845551234", "550 nanp"},
		{"Puerto Rico", "+17875551234", "550 nanp"},
		{"US Virgin Islands", "+13405551234", "550 nanp"},
		{"Bermuda", "+14415551234", "550 nanp"},
		{"Jamaica 658", "+16585551234", "550 nanp"},
		{"personal 5XX", "+15005551234", "550 nanp"},
		{"Canada non-geographic 600", "+16005551234", "550 nanp"},
		{"unassigned NPA", "+19995551234", "550 nanp"},
		{"Jamaica national form", "18765551234", "550 nanp"},
		{"Jamaica 10 digits", "8765551234", "550 nanp"},
		{"premium 900", "+19005551234", "550 premium"},
		{"premium 900 national form", "19005551234", "550 premium"},
		{"976 exchange", "+12129765555", "550 premium"},
		{"New York", "+12125551234", "+12125551234"},
		{"Alaska", "+19075551234", "+19075551234"},
		{"Hawaii", "+18085551234", "+18085551234"},
		{"Ottawa", "+16137637582", "+16137637582"},
		{"Ottawa trunk form", "1-613-763-7582", "+16137637582"},
		{"Ottawa 10 digits", "613.763.7582", "+16137637582"},
		{"toll free", "+18005551234", "+18005551234"},
		{"international", "+442071234567", "550 international"},
		{"international access code", "011442071234567", "550 international"},
		{"operator", "0", "553 address"},
		{"operator assisted", "01442071234567", "553 address"},
		{"emergency", "911", "550 emergency"},
		{"7-digit local needs a local pattern", "5551234", "550 local"},
	})
	runNumberCases(t, Options{HomeCountry: "+1", OutdialAllow: []string{"+1"}}, []checkNumberCase{
		{"+1 does not open Jamaica", "+18765551234", "550 nanp"},
		{"+1 does not open Guam", "+16715551234", "550 nanp"},
		{"+1 opens the USA", "+12125551234", "+12125551234"},
		{"+1 keeps 900 closed", "+19005551234", "550 premium"},
	})
	runNumberCases(t, Options{HomeCountry: "+1", OutdialAllow: []string{"+1", "+1876", "+1671"}}, []checkNumberCase{
		{"+1876 opens Jamaica", "+18765551234", "+18765551234"},
		{"+1671 opens Guam", "1-671-555-1234", "+16715551234"},
		{"the Dominican Republic stays closed", "+18095551234", "550 nanp"},
	})
	runNumberCases(t, Options{HomeCountry: "+1", OutdialDeny: []string{"+1212"}}, []checkNumberCase{
		{"operators narrow domestic with deny", "212-555-1234", "550 deny"},
		{"other domestic", "+13125551234", "+13125551234"},
	})
	runNumberCases(t, Options{HomeCountry: "+1", OutdialAllow: []string{"+1613", "+1819"}}, []checkNumberCase{
		{"operators narrow domestic with allow", "+12125551234", "550 allow"},
		{"allowed area", "+18195551234", "+18195551234"},
	})
	// From Italy every NANP number is international; "+1" opens the USA
	// and Canada, not the Caribbean.
	runNumberCases(t, Options{HomeCountry: "+39", OutdialAllow: []string{"+1"}}, []checkNumberCase{
		{"USA from Italy", "0012125551234", "+12125551234"},
		{"Jamaica from Italy", "0018765551234", "550 nanp"},
	})
}

// TestPolicyAccessCodes (issue 9 item 2): with home_country +39 and
// outdial_allow = ["0"], the three numbers the issue found admitted are
// refused, as their "+" forms are. (0899123456 is, by AGCOM's plan, the
// Salerno (089) number +39 0899123456, not a premium number; it is refused
// because a pattern without "+" only matches local numbers, so "0" no
// longer opens numbers written with an access or area code.)
func TestPolicyAccessCodes(t *testing.T) {
	runNumberCases(t, Options{HomeCountry: "+39", OutdialAllow: []string{"0"}}, []checkNumberCase{
		{"NANP premium with 00", "0019005551234", "550 premium"},
		{"NANP premium with +", "+19005551234", "550 premium"},
		{"089 written nationally", "0899123456", "550 allow"},
		{"089 with +", "+390899123456", "550 allow"},
		{"UK 070 with 00", "004470123456", "550 premium"},
		{"UK 070 with +", "+4470123456", "550 premium"},
		{"UK geographic with 00", "00442071234567", "550 allow"},
		{"Italian geographic", "0226338", "550 allow"},
	})
	runNumberCases(t, Options{HomeCountry: "+39", OutdialAllow: []string{"+39"}}, []checkNumberCase{
		{"899 premium", "899123456", "550 premium"},
		{"892 premium", "892424", "550 premium"},
		{"899 premium with 0039", "0039899123456", "550 premium"},
		{"166 withdrawn premium", "166123456", "550 premium"},
		{"12xy directory", "1254", "550 premium"},
		{"4xxxx short", "48000", "550 premium"},
		{"ambulance", "118", "550 emergency"},
		{"112 in + form", "+39112", "550 emergency"},
		{"Salerno", "0899123456", "+390899123456"},
		{"Milan", "02-1234567", "+39021234567"},
		{"Milan with 0039", "0039021234567", "+39021234567"},
		{"mobile", "3471234567", "+393471234567"},
		{"international", "00442071234567", "550 allow"},
		{"00 alone", "00", "553 address"},
		{"country code 0", "0003912345", "553 address"},
	})
}

// TestPolicyPremiumByCountry: the premium-rate and special-tariff ranges
// of the UK, Germany, France, Spain and Australia, in "+" form and written
// nationally with the home country's trunk prefix, and what stays open.
func TestPolicyPremiumByCountry(t *testing.T) {
	runNumberCases(t, Options{HomeCountry: "+44", OutdialAllow: []string{"+44"}}, []checkNumberCase{
		{"09 premium", "09001234567", "550 premium"},
		{"098 adult", "+449081234567", "550 premium"},
		{"0871", "08712345678", "550 premium"},
		{"0845", "08451234567", "550 premium"},
		{"070 personal", "07012345678", "550 premium"},
		{"118 directory", "118118", "550 premium"},
		{"999", "999", "550 emergency"},
		{"London", "020 7123 4567", "+442071234567"},
		{"mobile", "07700900123", "+447700900123"},
		{"freephone", "08001234567", "+448001234567"},
	})
	runNumberCases(t, Options{HomeCountry: "+49", OutdialAllow: []string{"+49"}}, []checkNumberCase{
		{"0900", "0900123456", "550 premium"},
		{"0137", "01371234567", "550 premium"},
		{"0180", "0180123456", "550 premium"},
		{"0700", "07001234567", "550 premium"},
		{"012", "012345678", "550 premium"},
		{"118xy", "11833", "550 premium"},
		{"110", "110", "550 emergency"},
		{"Berlin", "030 1234567", "+49301234567"},
		{"mobile", "01511234567", "+491511234567"},
	})
	runNumberCases(t, Options{HomeCountry: "+33", OutdialAllow: []string{"+33"}}, []checkNumberCase{
		{"089", "0899123456", "550 premium"},
		{"081", "0812345678", "550 premium"},
		{"118XYZ", "118712", "550 premium"},
		{"3BCD", "3615", "550 premium"},
		{"SAMU", "15", "550 emergency"},
		{"Paris", "01 23 45 67 89", "+33123456789"},
		{"free 080", "0800123456", "+33800123456"},
	})
	runNumberCases(t, Options{HomeCountry: "+34", OutdialAllow: []string{"+34"}}, []checkNumberCase{
		{"806", "806123456", "550 premium"},
		{"905", "905123456", "550 premium"},
		{"Madrid", "912345678", "+34912345678"},
	})
	runNumberCases(t, Options{HomeCountry: "+61", OutdialAllow: []string{"+61"}}, []checkNumberCase{
		{"190", "0190012345", "550 premium"},
		{"0011 international prefix", "0011442071234567", "550 allow"},
		{"000", "000", "550 emergency"},
		{"Sydney", "02 9123 4567", "+61291234567"},
	})
	// A premium range opens only with a pattern at least as long as it.
	runNumberCases(t, Options{HomeCountry: "+44", OutdialAllow: []string{"+", "+449012"}}, []checkNumberCase{
		{"+ keeps premium closed", "+449001234567", "550 premium"},
		{"+449012 opens 09012", "+449012345678", "+449012345678"},
		{"+ opens international", "+3940226338", "+3940226338"},
	})
}

// TestPolicyLocalNumbers: numbers no rule turns into "+" form are local
// (extensions) and need a local pattern; without home_country a number
// that may be national or international cannot be checked and is refused.
func TestPolicyLocalNumbers(t *testing.T) {
	runNumberCases(t, Options{OutdialAllow: []string{"2", "+1613"}}, []checkNumberCase{
		{"extension", "2345", "2345"},
		{"other extension", "3456", "550 local"},
		{"00 without home country", "0019005551234", "553 address"},
		{"long national without home country", "16137637582", "553 address"},
		{"+ form without home country", "+16137637582", "+16137637582"},
		{"112 without home country", "112", "550 emergency"},
		{"pause", "9p5551234", "553 address"},
		{"star", "*67", "553 address"},
		{"empty", "", "553 address"},
		{"plus only", "+", "553 address"},
		{"too long", "+1613763758212345", "553 address"},
		{"full-width digits", "＋３９４０２２６３３８", "553 address"},
	})
	runNumberCases(t, Options{HomeCountry: "+1", OutdialAllow: []string{"1"}}, []checkNumberCase{
		{"NANP extension with 1", "1234", "1234"},
		{"pattern 1 does not open national numbers", "16137637582", "550 allow"},
		{"trunk 1 with a short number", "1613763", "553 address"},
	})
}

func TestPolicyCheckCaller(t *testing.T) {
	tests := []struct {
		name string
		opts Options
		c    Caller
		want string // "" allowed, else the rule
	}{
		{"sender listed", Options{AllowedSenders: []string{"alice@example.com"}}, Caller{Sender: "alice@example.com"}, ""},
		{"sender case", Options{AllowedSenders: []string{"alice@example.com"}}, Caller{Sender: "ALICE@Example.com"}, ""},
		{"sender @domain", Options{AllowedSenders: []string{"@voice.example.net"}}, Caller{Sender: "bob@voice.example.net"}, ""},
		{"sender bare domain", Options{AllowedSenders: []string{"corp.example"}}, Caller{Sender: "Bob@Corp.Example"}, ""},
		{"subdomain not matched", Options{AllowedSenders: []string{"@voice.example.net"}}, Caller{Sender: "bob@x.voice.example.net"}, RuleSender},
		{"unknown sender", Options{AllowedSenders: []string{"alice@example.com"}}, Caller{Sender: "mallory@evil.example"}, RuleSender},
		{"nobody by default", Options{}, Caller{Sender: "alice@example.com", Login: "alice", Client: "127.0.0.1"}, RuleSender},
		{"null sender", Options{AllowedSenders: []string{"*"}}, Caller{Sender: ""}, RuleSender},
		{"null sender brackets", Options{AllowedSenders: []string{"*"}}, Caller{Sender: "<>", Login: "alice"}, RuleSender},
		{"login listed", Options{AllowedLogins: []string{"alice"}}, Caller{Sender: "anything@example.org", Login: "Alice"}, ""},
		{"login @domain", Options{AllowedLogins: []string{"@example.com"}}, Caller{Sender: "a@b.example", Login: "carol@example.com"}, ""},
		{"any login", Options{AllowedLogins: []string{"*"}}, Caller{Sender: "a@b.example", Login: "x"}, ""},
		{"any login needs one", Options{AllowedLogins: []string{"*"}}, Caller{Sender: "a@b.example"}, RuleAuth},
		{"login not listed", Options{AllowedLogins: []string{"alice"}}, Caller{Sender: "alice@example.com", Login: "mallory"}, RuleAuth},
		{"forged sender without login", Options{AllowedLogins: []string{"alice"}, AllowedSenders: []string{"alice@example.com"}}, Caller{Sender: "alice@example.com", Client: "198.51.100.7"}, RuleAuth},
		{"login and sender", Options{AllowedLogins: []string{"alice"}, AllowedSenders: []string{"alice@example.com"}}, Caller{Sender: "alice@example.com", Login: "alice"}, ""},
		{"login with another sender", Options{AllowedLogins: []string{"alice"}, AllowedSenders: []string{"alice@example.com"}}, Caller{Sender: "ceo@example.com", Login: "alice"}, RuleSender},
		{"trusted network", Options{TrustedNetworks: []string{"192.0.2.0/24"}}, Caller{Sender: "pbx@example.com", Client: "192.0.2.44"}, ""},
		{"trusted address", Options{TrustedNetworks: []string{"127.0.0.2"}}, Caller{Sender: "pbx@example.com", Client: "127.0.0.2"}, ""},
		{"outside the network", Options{TrustedNetworks: []string{"192.0.2.0/24"}}, Caller{Sender: "pbx@example.com", Client: "198.51.100.7"}, RuleAuth},
		{"no client address", Options{TrustedNetworks: []string{"192.0.2.0/24"}}, Caller{Sender: "pbx@example.com"}, RuleAuth},
		{"IPv6", Options{TrustedNetworks: []string{"2001:db8::/32"}}, Caller{Sender: "pbx@example.com", Client: "2001:db8::5"}, ""},
		{"Sendmail IPv6 form", Options{TrustedNetworks: []string{"2001:db8::/32"}}, Caller{Sender: "pbx@example.com", Client: "IPv6:2001:db8::5"}, ""},
		{"IPv4-mapped", Options{TrustedNetworks: []string{"192.0.2.0/24"}}, Caller{Sender: "pbx@example.com", Client: "::ffff:192.0.2.9"}, ""},
		{"garbage client", Options{TrustedNetworks: []string{"0.0.0.0/0"}}, Caller{Sender: "pbx@example.com", Client: "unknown"}, RuleAuth},
		{"network or login", Options{TrustedNetworks: []string{"192.0.2.0/24"}, AllowedLogins: []string{"alice"}}, Caller{Sender: "a@example.com", Login: "alice", Client: "198.51.100.7"}, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p, err := NewPolicy(tc.opts)
			tcheck(t, err, "policy")
			err = p.CheckCaller(tc.c)
			var re *RejectError
			switch {
			case tc.want == "" && err != nil:
				t.Fatalf("refused: %v", err)
			case tc.want == "":
			case !errors.As(err, &re):
				t.Fatalf("%v, want a refusal", err)
			default:
				tcompare(t, re.Rule, tc.want, "rule ("+re.Reason+")")
				tcompare(t, fmt.Sprintf("%d %s %s", re.Code, re.Enhanced, re.Text), "550 5.7.1 sender not authorized for voice outdial", "reply")
			}
		})
	}
}

func TestNewPolicyBadPattern(t *testing.T) {
	if _, err := NewPolicy(Options{OutdialAllow: []string{"+1x"}}); err == nil {
		t.Fatal("bad pattern accepted")
	}
	if _, err := NewPolicy(Options{TrustedNetworks: []string{"10.0.0.0/33"}}); err == nil {
		t.Fatal("bad network accepted")
	}
}

// TestNormalizeDialIdempotent: a normalised number normalises to itself
// under every dial plan, so what was checked is what is dialled.
func TestNormalizeDialIdempotent(t *testing.T) {
	plans := dialPlans()
	for _, n := range []string{"0019005551234", "8765551234", "0899123456", "020 7123 4567", "0011442071234567", "81012345678901"} {
		for i := range plans {
			nn, err := normalizeDial(n, &plans[i])
			if err != nil || nn.kind != kindE164 {
				continue
			}
			again, err := normalizeDial(nn.n, &plans[i])
			if err != nil || again != nn {
				t.Errorf("%s under %s: %q, then %q (%v)", n, plans[i].name, nn.n, again.n, err)
			}
		}
	}
	seen := map[string]bool{}
	for _, p := range plans {
		if seen[p.cc] {
			t.Errorf("country code %s listed twice", p.cc)
		}
		seen[p.cc] = true
		if len(p.intl) == 0 || p.minNSN < 1 || p.maxNSN < p.minNSN || strings.HasPrefix(p.intl[0], p.trunk) && p.trunk != "" && p.intl[0] == p.trunk {
			t.Errorf("plan %s is inconsistent: %+v", p.name, p)
		}
	}
}

func ExamplePolicy_CheckNumber() {
	p, _ := NewPolicy(Options{HomeCountry: "+39", OutdialAllow: []string{"+39"}})
	fmt.Println(p.CheckNumber("02-1234567"))
	_, err := p.CheckNumber("0019005551234")
	var re *RejectError
	if errors.As(err, &re) {
		fmt.Println(re.Code, re.Enhanced, re.Rule, re.Number)
	}
	// Output:
	// +39021234567 <nil>
	// 550 5.7.1 premium +19005551234
}
