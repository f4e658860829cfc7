package telephony

import "testing"

// TestPolicyGlobalPremium (redteam R5): the non-geographic country codes
// of ITU-T E.164 that are charged as premium or special tariffs — 979
// International Premium Rate Service, 881 Global Mobile Satellite System,
// 882 and 883 International Networks, 870 Inmarsat, 808 International
// Shared Cost Service — are premium ranges like the national ones: README
// ("premium-rate and special-tariff ranges ... open only with an allow
// pattern at least as long as the range") and the sample configuration
// ("\"+\" opens every country") promise that "+" opens no premium range,
// yet with outdial_allow = ["+"] all of them were dialled.
func TestPolicyGlobalPremium(t *testing.T) {
	runNumberCases(t, Options{OutdialAllow: []string{"+", "+8816"}}, []checkNumberCase{
		{"979 IPRS", "+979123456789", "550 premium"},
		{"881 satellite (Globalstar)", "+881812345678", "550 premium"},
		{"882 international networks", "+88234123456", "550 premium"},
		{"883 international networks", "+8835100123456", "550 premium"},
		{"870 Inmarsat", "+870773123456", "550 premium"},
		{"808 shared cost", "+80812345678", "550 premium"},
		{"+8816 opens Iridium", "+881612345678", "+881612345678"},
		{"800 UIFN freephone stays open", "+80012345678", "+80012345678"},
		{"a country stays open", "+442071234567", "+442071234567"},
	})
	runNumberCases(t, Options{HomeCountry: "+39", OutdialAllow: []string{"+"}}, []checkNumberCase{
		{"979 written with 00", "00979123456789", "550 premium"},
	})
}

// TestPolicyEmergencyBehindAccessDigit (redteam R6): an emergency number
// behind a PBX's outside-line digit (9-911, 9-112, 0-112 on a European PBX)
// or the trunk prefix (1-911) reaches the emergency services: Kari's Law
// (47 U.S.C. 623, 47 CFR 9.16(b)) makes every multi-line system route 911
// dialled with its access prefix, and carriers route 1-911. With a local
// pattern such as "9" or "1" (extensions 9xxx, 1xxx) these were dialled:
// README: "emergency numbers (never)".
func TestPolicyEmergencyBehindAccessDigit(t *testing.T) {
	runNumberCases(t, Options{HomeCountry: "+1", OutdialAllow: []string{"1", "9", "8", "+1"}}, []checkNumberCase{
		{"9-911", "9911", "550 emergency"},
		{"1-911", "1911", "550 emergency"},
		{"8-911", "8911", "550 emergency"},
		{"9-933 (911 test)", "9933", "550 emergency"},
		{"extension 9110", "9110", "9110"},
		{"extension 1234", "1234", "1234"},
	})
	runNumberCases(t, Options{HomeCountry: "+44", OutdialAllow: []string{"9"}}, []checkNumberCase{
		{"9-999", "9999", "550 emergency"},
		{"9-112", "9112", "550 emergency"},
		{"extension 9123", "9123", "9123"},
	})
	runNumberCases(t, Options{OutdialAllow: []string{"9", "8"}}, []checkNumberCase{
		{"9-112 without home country", "9112", "550 emergency"},
		{"9-911 without home country", "9911", "550 emergency"},
		{"8-112 without home country", "8112", "550 emergency"},
		{"extension 9000", "9000", "9000"},
	})
}

// TestPolicyLocalLength (redteam R7): a local number is an extension or a
// short number (README "Security"); without home_country one longer than 8
// digits is refused as one that cannot be checked, but with home_country up
// to 20 digits passed as "local" behind a one-digit pattern, so
// outdial_allow = ["2"] (extensions 2xxx) let 2001190055512345678 through to
// the trunk unchecked. The same bound applies with home_country.
func TestPolicyLocalLength(t *testing.T) {
	runNumberCases(t, Options{HomeCountry: "+39", OutdialAllow: []string{"2", "+39"}}, []checkNumberCase{
		{"19 digits behind 2", "2001190055512345678", "553 address"},
		{"13 digits behind 2", "2900555123412", "553 address"},
		{"extension", "2345", "2345"},
		{"8 digits", "20012345", "+3920012345"},
	})
	runNumberCases(t, Options{HomeCountry: "+44", OutdialAllow: []string{"2"}}, []checkNumberCase{
		{"10 digits behind 2", "2125551234", "553 address"},
		{"8-digit extension", "21255512", "21255512"},
	})
	runNumberCases(t, Options{HomeCountry: "+1", OutdialAllow: []string{"2"}}, []checkNumberCase{
		{"13 digits behind 2", "2900555123412", "553 address"},
		{"7-digit", "2345678", "2345678"},
	})
}

// TestPolicyNANPShortPremium (redteam R6b): with home_country "+1" a
// seven-digit local number in exchange 976 is the legacy premium
// information service the "+1NPA976" rule refuses; a local pattern "9"
// let it through.
func TestPolicyNANPShortPremium(t *testing.T) {
	runNumberCases(t, Options{HomeCountry: "+1", OutdialAllow: []string{"9"}}, []checkNumberCase{
		{"976 local", "9761234", "550 premium"},
		{"other local", "9551234", "9551234"},
	})
	runNumberCases(t, Options{HomeCountry: "+1", OutdialAllow: []string{"976"}}, []checkNumberCase{
		{"976 opened by a pattern naming it", "9761234", "9761234"},
	})
}

// TestPolicyDirectoryShortNumbers (redteam R8): the 118 directory ranges are
// short numbers (UK 118xxx, Germany 118xy, France 118XYZ, Spain 118AB);
// "+44118" refused every number of the Reading area code 0118 (Ofcom: 0118
// is geographic), e.g. +44 118 496 0000.
func TestPolicyDirectoryShortNumbers(t *testing.T) {
	runNumberCases(t, Options{HomeCountry: "+44", OutdialAllow: []string{"+44"}}, []checkNumberCase{
		{"Reading", "0118 496 0000", "+441184960000"},
		{"Reading in + form", "+441184960000", "+441184960000"},
		{"118 directory, local", "118118", "550 premium"},
		{"118 directory in + form", "+44118118", "550 premium"},
	})
	runNumberCases(t, Options{HomeCountry: "+49", OutdialAllow: []string{"+49"}}, []checkNumberCase{
		{"118xy in + form", "+4911833", "550 premium"},
		{"118xyz in + form", "+49118123", "550 premium"},
	})
}

// TestPolicyNANPLength (redteam R9): a NANP number has exactly ten digits
// after the country code (NANPA: NPA-NXX-XXXX). "+1212" and
// "+12125551234999" passed as domestic numbers and were handed to the
// trunk.
func TestPolicyNANPLength(t *testing.T) {
	runNumberCases(t, Options{HomeCountry: "+1", OutdialAllow: []string{"+1"}}, []checkNumberCase{
		{"area code only", "+1212", "553 address"},
		{"seven digits", "+1212555", "553 address"},
		{"fourteen digits", "+12125551234999", "553 address"},
		{"ten digits", "+12125551234", "+12125551234"},
	})
	runNumberCases(t, Options{HomeCountry: "+39", OutdialAllow: []string{"+"}}, []checkNumberCase{
		{"short NANP from Italy", "001212555", "553 address"},
	})
}

// TestGatewayAdmitDroppedParts (redteam R14): the job dials the number
// alone, so an address whose destination lies behind the number — a
// post-dial sequence (RFC 2846 2.3: dialled "after the connection with the
// destination GSTN device has been established", e.g. an extension in an
// automated menu), an ISDN subaddress (RFC 2846 2.2), a VPIM extension or
// distribution list (RFC 3804 4.2.1) — was admitted and the voice message
// played to whoever answers the main number (a switchboard, an IVR, the
// voice-mail system's own line), and so was an AMIS mailbox behind the
// system number /SYSNUM= names (RFC 3804 4.2.3, redteam R14b: the job dialled
// the system and played the message to whoever answered it). Sending the
// post-dial digits instead would let mail drive an IVR's or DISA's menu, so
// such addresses are refused at RCPT like every other address the gateway
// cannot dial (553 5.1.3).
func TestGatewayAdmitDroppedParts(t *testing.T) {
	g, _ := testGateway(t, false)
	for _, tc := range []struct{ rcpt, want string }{
		{"VOICE=+3940226338/POSTD=1234@voice.example.com", "553 5.1.3 address"},
		{"VOICE=+3940226338/POSTD=w9w0019005551234@voice.example.com", "553 5.1.3 address"},
		{"VOICE=+3940226338/ISUB=1234@voice.example.com", "553 5.1.3 address"},
		{"VPIM=+3940226338+230@voice.example.com", "553 5.1.3 address"},
		{"VPIM=+3940226338/EXT=230@voice.example.com", "553 5.1.3 address"},
		{"VPIM=+3940226338/DL=93@voice.example.com", "553 5.1.3 address"},
		// R14b: the mailbox behind an AMIS system number.
		{"AMIS=39+40+226338+/SYSNUM=39+40+226300+@voice.example.com", "553 5.1.3 address"},
		{"AMIS=0++3940226338+/SYSNUM=0++3940226300+@voice.example.com", "553 5.1.3 address"},
		{"AMIS=3940226338/SYSNUM=3940226300@voice.example.com", "553 5.1.3 address"},
		{"AMIS=39+40+226338+@voice.example.com", ""},
		{"VOICE=+3940226338/ATTN=Bob@voice.example.com", ""},
		{"VOICE=+3940226338@voice.example.com", ""},
	} {
		a := &Admission{Caller: Caller{Sender: "caller@example.org"}}
		if got := admitReply(g, a, tc.rcpt); got != tc.want {
			t.Errorf("%s: %q, want %q", tc.rcpt, got, tc.want)
		}
	}
}
