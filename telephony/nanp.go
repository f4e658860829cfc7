package telephony

import "strings"

// The North American Numbering Plan (country code 1) serves 25 regions in
// 20 countries; a "+1" number is domestic only for some of them. These
// tables say which numbering plan area (NPA, the area code) belongs to
// whom.
//
// Source: the NANP Administrator's NPA database, "Area codes in service"
// (https://www.nationalnanpa.com/area_codes/index.html and the NPA report
// https://www.nationalnanpa.com/nanp1/npa_report.csv), the authority for
// every assignment. This copy was compiled on 2026-12-06 without network
// access, from the NPA assignments in libphonenumber's metadata 8.12.57
// (Debian package python3-phonenumbers 8.12.57-4, data of October 2022,
// which follows NANPA): every NPA for which that metadata has a valid US
// or Canadian fixed-line or mobile number, and the NPAs of the other
// members (Anguilla 264 is there as a mobile range only). NPAs put in
// service after that data (new overlays) are not listed: they count as
// "unlisted" and are refused like the other members until this table is
// refreshed from the NANPA report or the operator allows them with an
// outdial_allow pattern that names them ("+1NPA").
//
// Domestic (with home_country "+1"): the 50 states and the District of
// Columbia (nanpUS) and Canada (nanpCA), which carriers bill as long
// distance, plus the NANP-wide toll-free NPAs (nanpTollFree). Everything
// else is international-like: the Caribbean members, Bermuda, and also the
// US territories Puerto Rico (787, 939), US Virgin Islands (340), Guam
// (671), Northern Mariana Islands (670) and American Samoa (684). For the
// territories this is a choice: US long-distance carriers bill them at
// domestic rates (rate integration, 47 U.S.C. 254(g)), but SIP trunks price
// them as their own destinations, and none is among the 50 states and DC;
// an operator who wants them allows "+1787" etc. Non-geographic NPAs (5XX
// personal communications, Canada's 600 and 622, 700, 710) are also
// international-like; 900 is premium-rate (see premiumRanges).

// nanpUS lists the NPAs of the 50 states and DC.
const nanpUS = "" +
	"201 202 203 205 206 207 208 209 210 212 213 214 215 216 217 218 219 220 223 224 225 228 229 231 " +
	"234 239 240 248 251 252 253 254 256 260 262 267 269 270 272 276 279 281 283 301 302 303 304 305 " +
	"307 308 309 310 312 313 314 315 316 317 318 319 320 321 323 325 326 330 331 332 334 336 337 339 " +
	"341 346 347 351 352 360 361 364 380 385 386 401 402 404 405 406 407 408 409 410 412 413 414 415 " +
	"417 419 423 424 425 430 432 434 435 440 442 443 445 447 448 458 463 464 469 470 475 478 479 480 " +
	"484 501 502 503 504 505 507 508 509 510 512 513 515 516 517 518 520 530 531 534 539 540 541 551 " +
	"559 561 562 563 564 567 570 571 572 573 574 575 580 582 585 586 601 602 603 605 606 607 608 609 " +
	"610 612 614 615 616 617 618 619 620 623 626 628 629 630 631 636 640 641 646 650 651 656 657 659 " +
	"660 661 662 667 669 678 680 681 682 689 701 702 703 704 706 707 708 712 713 714 715 716 717 718 " +
	"719 720 724 725 726 727 731 732 734 737 740 743 747 754 757 760 762 763 765 769 770 771 772 773 " +
	"774 775 779 781 785 786 801 802 803 804 805 806 808 810 812 813 814 815 816 817 818 820 826 828 " +
	"830 831 832 838 839 840 843 845 847 848 850 854 856 857 858 859 860 862 863 864 865 870 872 878 " +
	"901 903 904 906 907 908 909 910 912 913 914 915 916 917 918 919 920 925 928 929 930 931 934 936 " +
	"937 938 940 941 943 945 947 948 949 951 952 954 956 959 970 971 972 973 978 979 980 984 985 986 " +
	"989"

// nanpCA lists the NPAs of Canada.
const nanpCA = "" +
	"204 226 236 249 250 263 289 306 343 365 367 368 403 416 418 431 437 438 450 468 474 506 514 519 " +
	"548 579 581 584 587 604 613 639 647 672 705 709 742 753 778 780 782 807 819 825 867 873 902 905"

// nanpTollFree lists the NANP-wide toll-free NPAs (free for the caller).
const nanpTollFree = "800 833 844 855 866 877 888"

// nanpMember is a NANP member outside the USA and Canada (or a US
// territory), with its NPAs.
type nanpMember struct {
	name string
	npas string
}

// nanpMembers lists the NANP members other than the USA and Canada.
func nanpMembers() []nanpMember {
	return []nanpMember{
		{"Anguilla", "264"}, {"Antigua and Barbuda", "268"}, {"Bahamas", "242"}, {"Barbados", "246"},
		{"Bermuda", "441"}, {"British Virgin Islands", "284"}, {"Cayman Islands", "345"}, {"Dominica", "767"},
		{"Dominican Republic", "809 829 849"}, {"Grenada", "473"}, {"Jamaica", "876 658"}, {"Montserrat", "664"},
		{"Saint Kitts and Nevis", "869"}, {"Saint Lucia", "758"}, {"Saint Vincent and the Grenadines", "784"},
		{"Sint Maarten", "721"}, {"Trinidad and Tobago", "868"}, {"Turks and Caicos Islands", "649"},
		{"Puerto Rico (US territory)", "787 939"}, {"US Virgin Islands (US territory)", "340"},
		{"Guam (US territory)", "671"}, {"Northern Mariana Islands (US territory)", "670"},
		{"American Samoa (US territory)", "684"},
	}
}

// nanpTable answers which part of the NANP an NPA belongs to.
type nanpTable struct {
	domestic map[string]bool   // USA, Canada, toll-free
	member   map[string]string // other members: NPA → name
}

func newNANPTable() nanpTable {
	t := nanpTable{domestic: map[string]bool{}, member: map[string]string{}}
	for _, npa := range strings.Fields(nanpUS + " " + nanpCA + " " + nanpTollFree) {
		t.domestic[npa] = true
	}
	for _, m := range nanpMembers() {
		for _, npa := range strings.Fields(m.npas) {
			t.member[npa] = m.name
		}
	}
	return t
}

// where names the region of a NANP national number (10 digits, NPA
// first): "" for the USA, Canada and toll-free, else the member's name or
// "an unlisted NPA".
func (t nanpTable) where(nsn string) string {
	if len(nsn) < 3 {
		return "an incomplete NANP number"
	}
	npa := nsn[:3]
	if t.domestic[npa] {
		return ""
	}
	if m, ok := t.member[npa]; ok {
		return m
	}
	return "NPA " + npa + " (not a US or Canadian area code in this table)"
}
