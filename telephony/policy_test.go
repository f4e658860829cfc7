package telephony

import (
	"errors"
	"fmt"
	"testing"
)

func TestPolicyCheck(t *testing.T) {
	base := Options{
		HomeCountry:    "+1",
		OutdialDeny:    []string{"+1613555"},
		AllowedSenders: []string{"alice@example.com", "@voice.example.net", "corp.example"},
	}
	withAllow := base
	withAllow.OutdialAllow = []string{"+1613", "+1819", "+39"}
	openAll := base
	openAll.OutdialAllow = []string{"+"}
	premAllowed := base
	premAllowed.OutdialAllow = []string{"+1900555"}
	tests := []struct {
		name     string
		opts     Options
		sender   string
		number   string
		code     int    // 0 = allowed
		enhanced string //
	}{
		{"national ok", base, "alice@example.com", "+16137637582", 0, ""},
		{"separators ignored", base, "alice@example.com", "+1-613-763-7582", 0, ""},
		{"domain sender", base, "bob@voice.example.net", "+16137637582", 0, ""},
		{"bare domain sender", base, "Bob@Corp.Example", "+16137637582", 0, ""},
		{"sender case", base, "ALICE@example.com", "+16137637582", 0, ""},
		{"subdomain not matched", base, "bob@x.voice.example.net", "+16137637582", 550, "5.7.1"},
		{"unknown sender", base, "mallory@evil.example", "+16137637582", 550, "5.7.1"},
		{"null sender", base, "", "+16137637582", 550, "5.7.1"},
		{"null sender brackets", base, "<>", "+16137637582", 550, "5.7.1"},
		{"international denied", base, "alice@example.com", "+3940226338", 550, "5.7.1"},
		{"premium denied", base, "alice@example.com", "+19005551234", 550, "5.7.1"},
		{"deny wins", base, "alice@example.com", "+16135551234", 550, "5.7.1"},
		{"local number needs allow", base, "alice@example.com", "5551234", 550, "5.7.1"},
		{"pause not dialable", base, "alice@example.com", "9p5551234", 553, "5.1.3"},
		{"too long", base, "alice@example.com", "+1613763758212345", 553, "5.1.3"},
		{"empty number", base, "alice@example.com", "", 553, "5.1.3"},
		{"plus only", base, "alice@example.com", "+", 553, "5.1.3"},
		{"allow list hit", withAllow, "alice@example.com", "+3940226338", 0, ""},
		{"allow list miss", withAllow, "alice@example.com", "+12125551234", 550, "5.7.1"},
		{"allow list deny wins", withAllow, "alice@example.com", "+16135551234", 550, "5.7.1"},
		{"allow + keeps premium", openAll, "alice@example.com", "+19005551234", 550, "5.7.1"},
		{"allow + opens international", openAll, "alice@example.com", "+442071234567", 0, ""},
		{"specific premium allow", premAllowed, "alice@example.com", "+19005551234", 0, ""},
		{"specific premium allow other", premAllowed, "alice@example.com", "+19006661234", 550, "5.7.1"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p, err := NewPolicy(tc.opts)
			tcheck(t, err, "new policy")
			err = p.Check(tc.sender, tc.number)
			if tc.code == 0 {
				if err != nil {
					t.Fatalf("want allowed, got %v", err)
				}
				return
			}
			var re *RejectError
			if !errors.As(err, &re) {
				t.Fatalf("want *RejectError, got %v", err)
			}
			tcompare(t, re.Code, tc.code, "code")
			tcompare(t, re.Enhanced, tc.enhanced, "enhanced")
			tcompare(t, re.Temporary(), false, "temporary")
		})
	}
}

func TestPolicyNoHomeCountry(t *testing.T) {
	p, err := NewPolicy(Options{AllowedSenders: []string{"*"}})
	tcheck(t, err, "policy")
	var re *RejectError
	if err := p.Check("a@b.example", "+16137637582"); !errors.As(err, &re) || re.Enhanced != "5.7.1" {
		t.Fatalf("international without home country: got %v", err)
	}
}

func TestNewPolicyBadPattern(t *testing.T) {
	if _, err := NewPolicy(Options{OutdialAllow: []string{"+1x"}}); err == nil {
		t.Fatal("bad pattern accepted")
	}
}

func ExamplePolicy_Check() {
	p, _ := NewPolicy(Options{
		HomeCountry:    "+1",
		OutdialDeny:    []string{"+1900"},
		AllowedSenders: []string{"@example.com"},
	})
	fmt.Println(p.Check("alice@example.com", "+1-613-763-7582"))
	err := p.Check("alice@example.com", "+3940226338")
	var re *RejectError
	if errors.As(err, &re) {
		fmt.Println(re.Code, re.Enhanced, re.Text)
	}
	// Output:
	// <nil>
	// 550 5.7.1 number not allowed for voice outdial
}
