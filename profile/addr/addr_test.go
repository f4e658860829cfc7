package addr

import (
	"os"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/vpim-milter/vpim-milter/internal/shareddata"
)

// digestVectors are the 46 test vectors of spec/DIGEST.md 4.2, numbered as
// there, with the exact expected parse. Input is filled in by the test.
// DIGEST "strict no / lenient yes" and "extended yes / minimal no" rows
// are valid with Warnings (Address.Strict is false).
var digestVectors = []struct {
	n    int
	in   string
	want Address
}{
	{1, "2722@lucent.com", Address{Valid: true, Kind: KindVPIM, Number: "2722", Local: "2722", Domain: "lucent.com"}},
	{2, "2722+111@Lucent.com", Address{Valid: true, Kind: KindVPIM, Number: "2722", Extension: "111", Local: "2722+111", Domain: "lucent.com"}},
	{3, "+16137637582@vm.nortel.ca", Address{Valid: true, Kind: KindVPIM, Number: "+16137637582", Local: "+16137637582", Domain: "vm.nortel.ca"}},
	{4, "+17035245550+230@ema.org", Address{Valid: true, Kind: KindVPIM, Number: "+17035245550", Extension: "230", Local: "+17035245550+230", Domain: "ema.org"}},
	{5, "+1-613-763-7582@vm.nortel.ca", Address{Valid: true, Kind: KindVPIM, Number: "+16137637582", Local: "+1-613-763-7582", Domain: "vm.nortel.ca"}},
	{6, "+1613763758212345@example.com", Address{Kind: KindVPIM, Number: "+1613763758212345", Error: "international number has 16 digits; E.164 allows at most 15 (RFC 3801 4.1.1)", Local: "+1613763758212345", Domain: "example.com"}},
	{7, "+17035245550+1234567890123456@ema.org", Address{Kind: KindVPIM, Number: "+17035245550", Extension: "1234567890123456", Error: "extension has 16 digits; at most 15 (RFC 3801 4.1.1)", Local: "+17035245550+1234567890123456", Domain: "ema.org"}},
	{8, "VPIM=6137637582@gw.example.com", Address{Valid: true, Kind: KindPSTN, Service: "VPIM", Number: "6137637582", Local: "VPIM=6137637582", Domain: "gw.example.com"}},
	{9, "VPIM=7035255550/EXT=227@gw.example.com", Address{Valid: true, Kind: KindPSTN, Service: "VPIM", Number: "7035255550", Extension: "227", Local: "VPIM=7035255550/EXT=227", Domain: "gw.example.com"}},
	{10, "VPIM=+14165977230/DL=93@gw.example.com", Address{Valid: true, Kind: KindPSTN, Service: "VPIM", Number: "+14165977230", DL: "93", Local: "VPIM=+14165977230/DL=93", Domain: "gw.example.com"}},
	{11, "vpim=+1-613-763-7582/ext=230@gw.example.com", Address{Valid: true, Kind: KindPSTN, Service: "VPIM", Number: "+16137637582", Extension: "230", Local: "vpim=+1-613-763-7582/ext=230", Domain: "gw.example.com"}},
	{12, "VPIM=+16137637582+230@gw.example.com", Address{Valid: true, Kind: KindPSTN, Service: "VPIM", Number: "+16137637582", Extension: "230", Local: "VPIM=+16137637582+230", Domain: "gw.example.com"}},
	{13, "VPIM=6137637582+@gw.example.com", Address{Kind: KindPSTN, Service: "VPIM", Number: "6137637582", Error: "extension separator \"+\" without digits (RFC 3804 4.2.1)", Local: "VPIM=6137637582+", Domain: "gw.example.com"}},
	{14, "VPIM=+16137637582/EXT=230/ATTN=Glenn.Parsons@gw.example.com", Address{Valid: true, Kind: KindPSTN, Service: "VPIM", Number: "+16137637582", Extension: "230", Attn: &Name{Given: "Glenn", Surname: "Parsons"}, Local: "VPIM=+16137637582/EXT=230/ATTN=Glenn.Parsons", Domain: "gw.example.com"}},
	{15, "VOICE=+3940226338@worldvoice.com", Address{Valid: true, Kind: KindPSTN, Service: "VOICE", Number: "+3940226338", Local: "VOICE=+3940226338", Domain: "worldvoice.com"}},
	{16, "VOICE=+1-202-455-7622/POSTD=p1w7005393w373@vm.example", Address{Valid: true, Kind: KindPSTN, Service: "VOICE", Number: "+12024557622", PostDial: "p1w7005393w373", Local: "VOICE=+1-202-455-7622/POSTD=p1w7005393w373", Domain: "vm.example"}},
	{17, "VOICE=9p5551234@outdial.example", Address{Valid: true, Kind: KindPSTN, Service: "VOICE", Number: "9p5551234", Local: "VOICE=9p5551234", Domain: "outdial.example"}},
	{18, "VOICE=+39.40.226338/ISUB=1234@gw.example", Address{Valid: true, Kind: KindPSTN, Service: "VOICE", Number: "+3940226338", ISub: "1234", Local: "VOICE=+39.40.226338/ISUB=1234", Domain: "gw.example"}},
	{19, "VOICE=+3940226338/POSTD=1234#@gw.example", Address{Valid: true, Kind: KindPSTN, Service: "VOICE", Number: "+3940226338", PostDial: "1234#", Local: "VOICE=+3940226338/POSTD=1234#", Domain: "gw.example"}},
	{20, "\"VOICE=+3940226338/ATTN=Mark Collins\"@gw.example", Address{Valid: true, Kind: KindPSTN, Service: "VOICE", Number: "+3940226338", Attn: &Name{Surname: "Mark Collins"}, Local: "VOICE=+3940226338/ATTN=Mark Collins", Domain: "gw.example"}},
	{21, "VOICE=+@gw.example", Address{Kind: KindPSTN, Service: "VOICE", Error: "global-phone without digits (RFC 3191 2.1)", Local: "VOICE=+", Domain: "gw.example"}},
	{22, "VOICE=+-.-@gw.example", Address{Kind: KindPSTN, Service: "VOICE", Error: "global-phone without digits (RFC 3191 2.1)", Local: "VOICE=+-.-", Domain: "gw.example"}},
	{23, "VPIM=+1(613)7637582@gw.example", Address{Error: "local part: \"(\" not allowed unquoted (RFC 5322 3.2.3)"}},
	{24, "FAX=+12027653000/T33S=1387@faxworld.org", Address{Valid: true, Kind: KindPSTN, Service: "FAX", Number: "+12027653000", T33S: "1387", Local: "FAX=+12027653000/T33S=1387", Domain: "faxworld.org"}},
	{25, "FAX=+1.202.7653000/T33S=6377@faxserv.org", Address{Valid: true, Kind: KindPSTN, Service: "FAX", Number: "+12027653000", T33S: "6377", Local: "FAX=+1.202.7653000/T33S=6377", Domain: "faxserv.org"}},
	{26, "/FAX=+33-1-88335215/@faxworld.org", Address{Valid: true, Kind: KindPSTN, Service: "FAX", Number: "+33188335215", Local: "/FAX=+33-1-88335215/", Domain: "faxworld.org"}},
	{27, "\"/FAX=+33-1-88335215/\"@faxworld.org", Address{Valid: true, Kind: KindPSTN, Service: "FAX", Number: "+33188335215", Local: "/FAX=+33-1-88335215/", Domain: "faxworld.org"}},
	{28, "FAX=0103940226338@faxgw.example", Address{Valid: true, Kind: KindPSTN, Service: "FAX", Number: "0103940226338", Warnings: []string{"FAX= with a local-phone is an RFC 2846 2.1 extension; the minimal fax-address needs a global-phone (RFC 2304 2)"}, Local: "FAX=0103940226338", Domain: "faxgw.example"}},
	{29, "FAX=/postd=w6743w99p51@faxgw.example", Address{Valid: true, Kind: KindPSTN, Service: "FAX", PostDial: "w6743w99p51", Warnings: []string{"FAX= with a local-phone is an RFC 2846 2.1 extension; the minimal fax-address needs a global-phone (RFC 2304 2)"}, Local: "FAX=/postd=w6743w99p51", Domain: "faxgw.example"}},
	{30, "FAX=+1-202-455-7622/T33S=8745/PostD=p1w7005393w373@faxgw.example", Address{Valid: true, Kind: KindPSTN, Service: "FAX", Number: "+12024557622", PostDial: "p1w7005393w373", T33S: "8745", Warnings: []string{"/POSTD= after /T33S= is out of the grammar's order (DIGEST 4.1)"}, Local: "FAX=+1-202-455-7622/T33S=8745/PostD=p1w7005393w373", Domain: "faxgw.example"}},
	{31, "FAX=+12027653000/T33S=12a@faxgw.example", Address{Kind: KindPSTN, Service: "FAX", Number: "+12027653000", Error: "T.33 subaddress: \"a\" not allowed; digits only (RFC 2304 2)", Local: "FAX=+12027653000/T33S=12a", Domain: "faxgw.example"}},
	{32, "XYZ=+49.81.7856345/ISUB=1234@gw.example", Address{Valid: true, Kind: KindPSTN, Service: "XYZ", Number: "+49817856345", ISub: "1234", Local: "XYZ=+49.81.7856345/ISUB=1234", Domain: "gw.example"}},
	{33, "AMIS=1+401+3278144+/SYSNUM=1+401+3279542+@gw.example", Address{Valid: true, Kind: KindPSTN, Service: "AMIS", Number: "+14013278144", SysNum: "+14013279542", AMIS: &AMIS{Mailbox: "1+401+3278144+", Form: AMISPSTN, CountryCode: "1", AreaCode: "401", LocalNumber: "3278144", SysNum: "1+401+3279542+"}, Local: "AMIS=1+401+3278144+/SYSNUM=1+401+3279542+", Domain: "gw.example"}},
	{34, "AMIS=0++5551234+@gw.example", Address{Valid: true, Kind: KindPSTN, Service: "AMIS", Number: "5551234", AMIS: &AMIS{Mailbox: "0++5551234+", Form: AMISPrivate, LocalNumber: "5551234"}, Local: "AMIS=0++5551234+", Domain: "gw.example"}},
	{35, "AMIS=1+401+3278144+/SYSNUM=0++3279542+@gw.example", Address{Valid: true, Kind: KindPSTN, Service: "AMIS", Number: "+14013278144", SysNum: "3279542", AMIS: &AMIS{Mailbox: "1+401+3278144+", Form: AMISPSTN, CountryCode: "1", AreaCode: "401", LocalNumber: "3278144", SysNum: "0++3279542+"}, Local: "AMIS=1+401+3278144+/SYSNUM=0++3279542+", Domain: "gw.example"}},
	{36, "AMIS=A1+2345+99@gw.example", Address{Valid: true, Kind: KindPSTN, Service: "AMIS", Number: "2345", Extension: "99", AMIS: &AMIS{Mailbox: "A1+2345+99", Form: AMISD, NumberPlan: "A1", ID: "2345"}, Local: "AMIS=A1+2345+99", Domain: "gw.example"}},
	{37, "AMIS=4013278144/SYSNUM=4013279542@gw.example", Address{Valid: true, Kind: KindPSTN, Service: "AMIS", Number: "4013278144", SysNum: "4013279542", AMIS: &AMIS{Mailbox: "4013278144", Form: AMISD, ID: "4013278144", SysNum: "4013279542"}, Warnings: []string{"/SYSNUM= without the \"+\" separators of amis-a-number (draft-ema-vpim-address-00 4.1.3 example)"}, Local: "AMIS=4013278144/SYSNUM=4013279542", Domain: "gw.example"}},
	{38, "AMIS=+1/401+3278144+/SYSNUM=1+401+3279542+@gw.example", Address{Valid: true, Kind: KindPSTN, Service: "AMIS", SysNum: "+14013279542", AMIS: &AMIS{Mailbox: "+1/401+3278144+", Form: AMISOpaque, SysNum: "1+401+3279542+"}, Warnings: []string{"AMIS mailbox fits neither AMIS-A nor AMIS-D; kept opaque (RFC 3804 4.2.3)"}, Local: "AMIS=+1/401+3278144+/SYSNUM=1+401+3279542+", Domain: "gw.example"}},
	{39, "AMIS=12345678901234567@gw.example", Address{Kind: KindPSTN, Service: "AMIS", AMIS: &AMIS{Mailbox: "12345678901234567", Form: AMISD, ID: "12345678901234567"}, Error: "AMIS-D mailbox id has 17 characters; at most 16 (RFC 3804 4.2.3)", Local: "AMIS=12345678901234567", Domain: "gw.example"}},
	{40, "AMIS=ABCDEFGHIJKLMNOPQRSTUVWXYZ+1234567+12@gw.example", Address{Kind: KindPSTN, Service: "AMIS", AMIS: &AMIS{Mailbox: "ABCDEFGHIJKLMNOPQRSTUVWXYZ+1234567+12", Form: ""}, Error: "AMIS mailbox field has 37 characters; AMIS-D allows at most 32 (RFC 3804 4.2.3)", Local: "AMIS=ABCDEFGHIJKLMNOPQRSTUVWXYZ+1234567+12", Domain: "gw.example"}},
	{41, "AMIS=49+6151+1234567890+@gw.example", Address{Kind: KindPSTN, Service: "AMIS", AMIS: &AMIS{Mailbox: "49+6151+1234567890+", Form: AMISPSTN, CountryCode: "49", AreaCode: "6151", LocalNumber: "1234567890"}, Error: "AMIS-A PSTN number has 16 digits; at most 15 (RFC 3804 4.2.3)", Local: "AMIS=49+6151+1234567890+", Domain: "gw.example"}},
	{42, "AMIS=0++123456789012345+@gw.example", Address{Kind: KindPSTN, Service: "AMIS", AMIS: &AMIS{Mailbox: "0++123456789012345+", Form: AMISPrivate, LocalNumber: "123456789012345"}, Error: "AMIS-A private number has 15 digits; at most 14 (RFC 3804 4.2.3)", Local: "AMIS=0++123456789012345+", Domain: "gw.example"}},
	{43, "postmaster@vm1.example.com", Address{Valid: true, Kind: KindSpecial, Special: SpecialPostmaster, Local: "postmaster", Domain: "vm1.example.com"}},
	{44, "non-mail-user@vm.example.com", Address{Valid: true, Kind: KindSpecial, Special: SpecialNonMailUser, Local: "non-mail-user", Domain: "vm.example.com"}},
	{45, "loopback@vm.example.com", Address{Valid: true, Kind: KindSpecial, Special: SpecialLoopback, Local: "loopback", Domain: "vm.example.com"}},
	{46, "joe.user@example.com", Address{Valid: true, Kind: KindPlain, Local: "joe.user", Domain: "example.com"}},
}

func TestDigestVectors(t *testing.T) {
	if len(digestVectors) != 46 {
		t.Fatalf("have %d DIGEST 4.2 vectors, want 46", len(digestVectors))
	}
	for i, v := range digestVectors {
		if v.n != i+1 {
			t.Fatalf("vector at index %d is numbered %d", i, v.n)
		}
		t.Run(strconv.Itoa(v.n), func(t *testing.T) {
			got := Parse(v.in)
			want := v.want
			want.Input = v.in
			tcompare(t, got, want)
		})
	}
}

// TestDigestVectorsMatchSpec checks that the table above holds exactly the
// addresses of DIGEST 4.2, read in place from the shared spec.
func TestDigestVectorsMatchSpec(t *testing.T) {
	path := shareddata.Path(t, "spec/DIGEST.md")
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	_, sect, ok := strings.Cut(string(b), "### 4.2 Test vectors")
	if !ok {
		t.Fatalf("%s: no section 4.2 Test vectors", path)
	}
	sect, _, _ = strings.Cut(sect, "\n## ")
	row := regexp.MustCompile("(?m)^\\| (\\d+) \\| `([^`]+)` \\|")
	rows := row.FindAllStringSubmatch(sect, -1)
	if len(rows) != len(digestVectors) {
		t.Fatalf("DIGEST 4.2 has %d vectors, the table %d", len(rows), len(digestVectors))
	}
	for i, r := range rows {
		if r[1] != strconv.Itoa(digestVectors[i].n) || r[2] != digestVectors[i].in {
			t.Errorf("DIGEST vector %s is %q; table has %d %q", r[1], r[2], digestVectors[i].n, digestVectors[i].in)
		}
	}
}

// TestDigestValidity checks the "Valid?" column in its two readings.
func TestDigestValidity(t *testing.T) {
	// Rows that are valid only leniently (DIGEST: "lenient yes",
	// "extended yes / minimal no", "strict no / lenient ...").
	lenient := map[int]bool{28: true, 29: true, 30: true, 37: true, 38: true}
	invalid := map[int]bool{6: true, 7: true, 13: true, 21: true, 22: true, 23: true, 31: true, 39: true, 40: true, 41: true, 42: true}
	for _, v := range digestVectors {
		a := Parse(v.in)
		if a.Valid != !invalid[v.n] {
			t.Errorf("%d %s: Valid = %v, want %v", v.n, v.in, a.Valid, !invalid[v.n])
		}
		if a.Strict() != (!invalid[v.n] && !lenient[v.n]) {
			t.Errorf("%d %s: Strict() = %v, want %v", v.n, v.in, a.Strict(), !invalid[v.n] && !lenient[v.n])
		}
		if (a.Error == "") != a.Valid {
			t.Errorf("%d %s: Valid %v with Error %q", v.n, v.in, a.Valid, a.Error)
		}
	}
}

func tcompare(t *testing.T, got, want Address) {
	t.Helper()
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Parse(%q)\n got %+v\nwant %+v", want.Input, dump(got), dump(want))
	}
}

// dump makes pointer members readable in failure messages.
func dump(a Address) string {
	var b strings.Builder
	b.WriteString(strconv.Quote(a.Input))
	b.WriteString(" valid=" + strconv.FormatBool(a.Valid) + " kind=" + a.Kind + " service=" + a.Service)
	b.WriteString(" number=" + a.Number + " ext=" + a.Extension + " postd=" + a.PostDial + " isub=" + a.ISub)
	b.WriteString(" sysnum=" + a.SysNum + " t33s=" + a.T33S + " dl=" + a.DL + " special=" + a.Special)
	if a.Attn != nil {
		b.WriteString(" attn=" + a.Attn.Given + "|" + a.Attn.Initials + "|" + a.Attn.Surname)
	}
	if a.AMIS != nil {
		m := a.AMIS
		b.WriteString(" amis=" + strings.Join([]string{m.Mailbox, m.Form, m.CountryCode, m.AreaCode, m.LocalNumber, m.NumberPlan, m.ID, m.SysNum}, "|"))
	}
	for _, q := range a.Qualifiers {
		b.WriteString(" q=" + q.Key + "=" + q.Value)
	}
	for _, w := range a.Warnings {
		b.WriteString(" warning=" + strconv.Quote(w))
	}
	b.WriteString(" error=" + strconv.Quote(a.Error) + " local=" + strconv.Quote(a.Local) + " domain=" + a.Domain)
	return b.String()
}
