package telephony

import (
	"fmt"
	"sort"
	"strings"
)

// Numbering: how a number written in mail becomes the number that is
// checked and dialled. Every check of the outdial policy runs on the
// normalised form, and the job dials that same form, so no way of writing
// a number (access codes, trunk prefixes, separators) reaches the trunk
// unchecked.
//
// Sources. Dialling procedures (international prefix, national (trunk)
// prefix, length of the national significant number) are those of ITU-T
// Recommendation E.164 as the ITU publishes them per country ("Dialling
// procedures ... in accordance with ITU-T Recommendation E.164", annex to
// the ITU Operational Bulletin, https://www.itu.int/pub/T-SP-E.164C),
// checked against libphonenumber's metadata 8.12.57 (Debian
// python3-phonenumbers 8.12.57-4). Premium-rate and special-tariff ranges
// cite each country's numbering plan in premiumRanges.

// dialPlan is the part of a country's numbering plan the normaliser needs.
type dialPlan struct {
	cc     string   // country code digits: "39"
	name   string   // for logs
	intl   []string // international prefixes: "00"; "011" (NANP)
	trunk  string   // national (trunk) prefix: "0", "1" (NANP); "" when there is none (Italy, Spain, ...)
	minNSN int      // shortest national significant number
	maxNSN int      // longest
	// emergency lists the emergency short numbers: never dialled by a robot.
	emergency []string
	// shortPremium lists prefixes of short numbers dialled without a trunk
	// prefix that are charged at premium rates (directory enquiries 118,
	// Italy's 12xy and 4xxxx, France's 3BCD).
	shortPremium []string
}

// dialPlans lists the countries whose numbers written without "+" can be
// normalised (telephony.home_country). For any other home country such
// numbers are only local (extensions), see normalize.
func dialPlans() []dialPlan {
	eu := func(cc, name, trunk string, minNSN, maxNSN int, emergency ...string) dialPlan {
		return dialPlan{cc: cc, name: name, intl: []string{"00"}, trunk: trunk, minNSN: minNSN, maxNSN: maxNSN, emergency: append([]string{"112"}, emergency...)}
	}
	plans := []dialPlan{
		// NANP: 011 international, 1 + 10 digits national (NANPA).
		// Short premium: a seven-digit local number in exchange 976 (the
		// legacy information services of "+1NPA976").
		{cc: "1", name: "NANP", intl: []string{"011"}, trunk: "1", minNSN: 10, maxNSN: 10, emergency: []string{"911", "112", "933"}, shortPremium: []string{"976"}},
		// Ofcom, National Telephone Numbering Plan.
		{cc: "44", name: "United Kingdom", intl: []string{"00"}, trunk: "0", minNSN: 7, maxNSN: 10, emergency: []string{"999", "112"}, shortPremium: []string{"118"}},
		// AGCOM, Piano di numerazione nazionale: no trunk prefix, the
		// leading 0 of a geographic number is part of it (+39 02 ...).
		{cc: "39", name: "Italy", intl: []string{"00"}, minNSN: 6, maxNSN: 12, emergency: []string{"112", "113", "115", "118", "1515", "1530", "1522"}, shortPremium: []string{"12", "4", "89"}},
		// Bundesnetzagentur, Nummernplan.
		{cc: "49", name: "Germany", intl: []string{"00"}, trunk: "0", minNSN: 6, maxNSN: 13, emergency: []string{"110", "112"}, shortPremium: []string{"118"}},
		// ARCEP, Plan national de numérotation.
		{cc: "33", name: "France", intl: []string{"00"}, trunk: "0", minNSN: 9, maxNSN: 9, emergency: []string{"15", "17", "18", "112", "114", "115", "119", "191", "196", "197"}, shortPremium: []string{"118", "3"}},
		// CNMC, Plan nacional de numeración telefónica: no trunk prefix.
		{cc: "34", name: "Spain", intl: []string{"00"}, minNSN: 9, maxNSN: 9, emergency: []string{"112", "091", "092", "061", "062", "080", "085", "088"}, shortPremium: []string{"118", "905"}},
		// ACMA, Telecommunications Numbering Plan 2015.
		{cc: "61", name: "Australia", intl: []string{"0011"}, trunk: "0", minNSN: 9, maxNSN: 9, emergency: []string{"000", "112", "106"}, shortPremium: []string{"19"}},
		{cc: "64", name: "New Zealand", intl: []string{"00"}, trunk: "0", minNSN: 8, maxNSN: 10, emergency: []string{"111", "112"}},
		{cc: "81", name: "Japan", intl: []string{"010"}, trunk: "0", minNSN: 9, maxNSN: 10, emergency: []string{"110", "119", "118"}},
		{cc: "7", name: "Russia", intl: []string{"810"}, trunk: "8", minNSN: 10, maxNSN: 10, emergency: []string{"112", "101", "102", "103", "104"}},
		{cc: "91", name: "India", intl: []string{"00"}, trunk: "0", minNSN: 10, maxNSN: 10, emergency: []string{"112", "100", "101", "102", "108"}},
		{cc: "27", name: "South Africa", intl: []string{"00"}, trunk: "0", minNSN: 9, maxNSN: 9, emergency: []string{"10111", "10177", "112"}},
		{cc: "972", name: "Israel", intl: []string{"00", "012", "013", "014", "015", "016", "017", "018", "019"}, trunk: "0", minNSN: 8, maxNSN: 9, emergency: []string{"100", "101", "102", "112"}},
		{cc: "90", name: "Turkey", intl: []string{"00"}, trunk: "0", minNSN: 10, maxNSN: 10, emergency: []string{"112"}},
		{cc: "52", name: "Mexico", intl: []string{"00"}, minNSN: 10, maxNSN: 10, emergency: []string{"911", "112"}},
		eu("43", "Austria", "0", 4, 13, "122", "133", "144"),
		eu("32", "Belgium", "0", 8, 9, "100", "101"),
		eu("359", "Bulgaria", "0", 6, 9),
		eu("385", "Croatia", "0", 6, 9),
		eu("357", "Cyprus", "", 8, 8, "199"),
		eu("420", "Czech Republic", "", 9, 9, "150", "155", "158"),
		eu("45", "Denmark", "", 8, 8),
		eu("372", "Estonia", "", 7, 10),
		eu("358", "Finland", "0", 5, 12),
		eu("30", "Greece", "", 10, 10, "100", "166", "199"),
		eu("36", "Hungary", "06", 8, 9, "104", "105", "107"),
		eu("353", "Ireland", "0", 7, 10, "999"),
		eu("371", "Latvia", "", 8, 8),
		eu("370", "Lithuania", "8", 8, 8),
		eu("352", "Luxembourg", "", 4, 11, "113"),
		eu("356", "Malta", "", 8, 8),
		eu("31", "Netherlands", "0", 9, 9),
		eu("48", "Poland", "", 9, 9, "997", "998", "999"),
		eu("351", "Portugal", "", 9, 9),
		eu("40", "Romania", "0", 9, 9),
		eu("421", "Slovakia", "0", 9, 9, "150", "155", "158"),
		eu("386", "Slovenia", "0", 8, 8, "113"),
		eu("46", "Sweden", "0", 6, 12),
		eu("41", "Switzerland", "0", 9, 9, "117", "118", "144"),
		eu("47", "Norway", "", 8, 8, "110", "113"),
		eu("354", "Iceland", "", 7, 9),
		eu("423", "Liechtenstein", "", 7, 7, "117", "118", "144"),
		eu("377", "Monaco", "", 8, 9, "17", "18"),
		eu("378", "San Marino", "", 6, 10, "113", "115", "118"),
	}
	for i := range plans {
		// longest prefix first, so "0011" wins over "00" where both exist
		sort.Slice(plans[i].intl, func(a, b int) bool { return len(plans[i].intl[a]) > len(plans[i].intl[b]) })
	}
	return plans
}

// premiumRange is a premium-rate or special-tariff range in E.164 form.
// A number in it is refused unless an outdial_allow pattern at least as
// long as the range matches it (allowing "+" or "+44" does not open "+449").
type premiumRange struct {
	prefix string // "+1900"
	what   string // for logs: which plan calls it what
	// maxLen, when not zero, limits the range to numbers of at most this
	// many characters (short numbers in "+" form)
	maxLen int
}

// premiumRanges lists premium-rate and special-tariff ranges by country,
// each with its source. Outdial_deny extends it.
func premiumRanges() []premiumRange {
	return []premiumRange{
		// NANP (NANPA; all members, the Caribbean ones included, share the
		// 900 NPA as their premium range: libphonenumber 8.12.57
		// premiumRate "900[2-9]\d{6}" for every NANP region). The NXX 976
		// in any NPA (legacy Bell "976" information services) is checked
		// in Policy.premium, not by prefix.
		{"+1900", "NANP 900 premium-rate NPA", 0},
		// United Kingdom: Ofcom, National Telephone Numbering Plan
		// (https://www.ofcom.org.uk/phones-and-broadband/phone-numbers):
		// 09 premium rate services (090, 091, 098 sexual entertainment),
		// 084/087 revenue-sharing non-geographic numbers, 070 personal
		// numbering (charged up to premium rates, a known fraud range),
		// 118 directory enquiries (short numbers: dialPlan.shortPremium).
		{"+449", "UK 09 premium rate", 0},
		{"+44842", "UK 084 revenue sharing", 0}, {"+44843", "UK 084 revenue sharing", 0}, {"+44844", "UK 084 revenue sharing", 0}, {"+44845", "UK 084 revenue sharing", 0},
		{"+44870", "UK 087 revenue sharing", 0}, {"+44871", "UK 087 revenue sharing", 0}, {"+44872", "UK 087 revenue sharing", 0}, {"+44873", "UK 087 revenue sharing", 0},
		{"+4470", "UK 070 personal numbering", 0},
		// 118xxx are six-digit short numbers; +44 118 with more digits is
		// the Reading area code 0118 (geographic).
		{"+44118", "UK 118 directory enquiries", len("+44") + 6},
		// Italy: AGCOM, Piano di numerazione nazionale (delibera
		// 8/15/CIR and amendments, https://www.agcom.it): 89x servizi a
		// sovrapprezzo (892, 893, 894, 895, 899), the withdrawn 144/163/
		// 164/166, 0878 televoting, 12xy directory enquiries, 4xxxx
		// network-internal and premium short services, 178/199 personal
		// and "numero unico" services.
		{"+3989", "Italy 89x servizi a sovrapprezzo", 0},
		{"+39144", "Italy 144 (withdrawn premium)", 0}, {"+39163", "Italy 163 (withdrawn premium)", 0}, {"+39164", "Italy 164 (withdrawn premium)", 0}, {"+39166", "Italy 166 (withdrawn premium)", 0},
		{"+390878", "Italy 0878 televoting", 0},
		{"+3912", "Italy 12xy directory enquiries", 0},
		{"+394", "Italy 4xxxx short services", len("+39") + 6},
		{"+39178", "Italy 178 personal numbers", 0}, {"+39199", "Italy 199 numero unico", 0},
		// Germany: Bundesnetzagentur, Nummernplan
		// (https://www.bundesnetzagentur.de, Nummerierung): 0900
		// Premium-Dienste, 0137 Massenverkehrsdienste, 118xy
		// Auskunftsdienste, 0180 Service-Dienste, 0700 persönliche
		// Rufnummern, 012 innovative Dienste, 0190 (withdrawn premium).
		{"+49900", "Germany 0900 Premium-Dienste", 0}, {"+49137", "Germany 0137 Massenverkehrsdienste", 0},
		{"+49118", "Germany 118 Auskunftsdienste", len("+49") + 6}, {"+49180", "Germany 0180 Service-Dienste", 0},
		{"+49700", "Germany 0700 persönliche Rufnummern", 0}, {"+4912", "Germany 012 innovative Dienste", 0},
		{"+49190", "Germany 0190 (withdrawn premium)", 0},
		// France: ARCEP, Plan national de numérotation
		// (https://www.arcep.fr, numérotation): 081-089 services à valeur
		// ajoutée (charged; 080 is free), 118XYZ directory enquiries and
		// 3BCD short numbers (dialPlan.shortPremium).
		{"+3381", "France 081 SVA", 0}, {"+3382", "France 082 SVA", 0}, {"+3383", "France 083 SVA", 0}, {"+3384", "France 084 SVA", 0},
		{"+3385", "France 085 SVA", 0}, {"+3386", "France 086 SVA", 0}, {"+3387", "France 087 SVA", 0}, {"+3388", "France 088 SVA", 0},
		{"+3389", "France 089 SVA", 0}, {"+33118", "France 118 directory enquiries", len("+33") + 6},
		// Spain: Plan nacional de numeración telefónica (CNMC): 803, 806,
		// 807 tarificación adicional, 905 televoting, 118 directory.
		{"+34803", "Spain 803 tarificación adicional", 0}, {"+34806", "Spain 806 tarificación adicional", 0},
		{"+34807", "Spain 807 tarificación adicional", 0}, {"+34905", "Spain 905 televoting", 0}, {"+34118", "Spain 118 directory enquiries", len("+34") + 6},
		// Australia: ACMA, Telecommunications Numbering Plan 2015: 19
		// premium services.
		{"+6119", "Australia 19 premium services", 0},
		// Non-geographic country codes: ITU-T Recommendation E.164, "List
		// of ITU-T Recommendation E.164 assigned country codes" (annex to
		// the ITU Operational Bulletin, https://www.itu.int/pub/T-SP-E.164D):
		// 979 International Premium Rate Service (ITU-T E.169.2), 808
		// International Shared Cost Service (E.169.3), 870 Inmarsat, 881
		// Global Mobile Satellite System (Iridium, Globalstar, ...), 882
		// and 883 International Networks. All are charged at satellite or
		// premium rates and are the classic international revenue share
		// fraud destinations; 800 (International Freephone) stays open.
		{"+979", "ITU 979 International Premium Rate Service", 0},
		{"+808", "ITU 808 International Shared Cost Service", 0},
		{"+870", "ITU 870 Inmarsat", 0},
		{"+881", "ITU 881 Global Mobile Satellite System", 0},
		{"+882", "ITU 882 International Networks", 0},
		{"+883", "ITU 883 International Networks", 0},
	}
}

// numberKind classifies a normalised number.
type numberKind int

const (
	kindE164  numberKind = iota // "+" and digits
	kindLocal                   // digits no rule of the home plan turns into E.164: an extension or short number
)

// normalized is a number after normalisation.
type normalized struct {
	n    string // "+" and 1-15 digits, or the local digits
	kind numberKind
}

// normalizeDial turns a dial string (addr.Address.DialString, or a number
// as written: separators "-", "." and blanks are dropped) into the form
// that is checked and dialled, using home, the home country's plan (nil
// when home_country is not set or has no table). It fails, with the reason,
// for anything that is not a complete number of digits:
//
//   - "+" and 1-15 digits not starting with 0: E.164, kept;
//   - digits starting with one of home's international prefixes ("00",
//     "011", "0011"): "+" and the rest;
//   - digits starting with home's trunk prefix ("0", "1" in the NANP),
//     with a national number of valid length after it: "+", the country
//     code and the national number; in the NANP also 10 digits without
//     the 1; in a country without a trunk prefix (Italy, Spain) any number
//     of national length;
//   - other digits are local (an extension or a short number) when they
//     do not start like an international or national number; a local
//     number is refused when it starts with 0 (the first digit of nearly
//     every international prefix, and the NANP operator) or is longer
//     than maxLocal digits, with or without home (it cannot be told apart
//     from a national or international number).
//
// Pause, tone-wait, "#", "*" and A-D are not dialable here.
func normalizeDial(s string, home *dialPlan) (normalized, error) {
	n := normalizeNumber(s)
	if d, ok := strings.CutPrefix(n, "+"); ok {
		switch {
		case !allDigits(d):
			return normalized{}, fmt.Errorf("%q is not \"+\" and digits", s)
		case len(d) > 15:
			return normalized{}, fmt.Errorf("%q has more than the 15 digits of E.164", s)
		case d[0] == '0':
			return normalized{}, fmt.Errorf("%q: no country code starts with 0", s)
		}
		return normalized{n: n, kind: kindE164}, nil
	}
	if !allDigits(n) {
		return normalized{}, fmt.Errorf("%q is not a number of digits", s)
	}
	if len(n) > 20 {
		return normalized{}, fmt.Errorf("%q is longer than 20 digits", s)
	}
	if home == nil {
		if n[0] == '0' || len(n) > maxLocal {
			return normalized{}, fmt.Errorf("%q may be a national or international number, which needs telephony.home_country to be checked (or write it with \"+\")", s)
		}
		return normalized{n: n, kind: kindLocal}, nil
	}
	for _, p := range home.intl {
		if rest, ok := strings.CutPrefix(n, p); ok && rest != "" {
			return normalizeDial("+"+rest, nil)
		}
	}
	if home.trunk != "" {
		if rest, ok := strings.CutPrefix(n, home.trunk); ok && len(rest) >= home.minNSN && len(rest) <= home.maxNSN && rest[0] != '0' {
			return normalizeDial("+"+home.cc+rest, nil)
		}
		if home.cc == "1" && len(n) == 10 && n[0] >= '2' {
			return normalizeDial("+1"+n, nil) // NANP 10-digit dialling
		}
	} else if len(n) >= home.minNSN && len(n) <= home.maxNSN {
		return normalizeDial("+"+home.cc+n, nil)
	}
	switch {
	case n[0] == '0':
		return normalized{}, fmt.Errorf("%q starts like an international or national number but is not a complete one for %s", s, home.name)
	case home.trunk != "" && strings.HasPrefix(n, home.trunk) && len(n) > 6:
		return normalized{}, fmt.Errorf("%q starts with the trunk prefix %s but is not a complete national number for %s", s, home.trunk, home.name)
	case len(n) > maxLocal:
		return normalized{}, fmt.Errorf("%q is no national number of %s and longer than the %d digits of an extension or short number", s, home.name, maxLocal)
	}
	return normalized{n: n, kind: kindLocal}, nil
}

// maxLocal is the longest local number (an extension or a short number),
// in digits. A longer one cannot be told apart from a national or
// international number a PBX would route outside (its outside-line digit
// followed by anything), so it is refused, with or without home_country.
const maxLocal = 8

// accessDigits are the digits a PBX's outside line is commonly reached
// with (9 in the NANP, 8 in parts of Europe and Asia; 0 starts no local
// number here). An emergency number behind one of them, or behind the
// home country's trunk prefix, reaches the emergency services (Kari's Law,
// 47 U.S.C. 623 and 47 CFR 9.16(b): every multi-line system routes 911
// dialled with its access prefix; carriers route 1-911).
const accessDigits = "89"

// planFor returns the dial plan of country code cc ("39"), or nil.
func planFor(plans []dialPlan, cc string) *dialPlan {
	for i := range plans {
		if plans[i].cc == cc {
			return &plans[i]
		}
	}
	return nil
}

// planOf returns the plan whose country code starts the E.164 number n
// ("+39..."), and the national significant number; nil when none matches.
func planOf(plans []dialPlan, n string) (*dialPlan, string) {
	d := strings.TrimPrefix(n, "+")
	for l := 1; l <= 3 && l < len(d); l++ {
		if p := planFor(plans, d[:l]); p != nil {
			return p, d[l:]
		}
	}
	return nil, ""
}
