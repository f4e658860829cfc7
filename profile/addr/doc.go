// Package addr parses voice-mail e-mail addresses: the VPIM v2 numeric
// local parts (RFC 3801 4.1.1), the special addresses postmaster,
// non-mail-user and loopback (RFC 3801 4.1.2, RFC 1911 / draft-umig 5.1),
// and the GSTN service-selector forms used to submit mail to telephony
// gateways: the minimal forms of RFC 2303/3191 (VOICE=, SMS=, any
// registered selector), fax (RFC 2304/3192, FAX= with /T33S=), the
// extensions of RFC 2846 (local-phone, /ISUB=, /POSTD=, /ATTN= and
// recipient qualifiers) and the VPIM submission forms of
// draft-ema-vpim-address-00 and RFC 3804 (VPIM= with /EXT=, "+" and /DL=,
// VOICE=, AMIS= with /SYSNUM=). IVM accepts any address and uses these
// forms for onramp and offramp (RFC 4239 5, DIGEST I-ADDR).
//
// The grammar implemented is the consolidated ABNF of spec/DIGEST.md 4.1,
// which repairs the known defects of the RFC texts (DIGEST 8.7, 8.8). The
// parser is lenient where the RFCs' own examples are not conformant: such
// addresses are valid but carry [Address.Warnings], and [Address.Strict]
// reports false for them.
//
// The package is pure: it does not log, does no I/O and holds no state.
// [Parse] never panics and its work is linear in its input, which is
// capped at [MaxLen] bytes.
package addr
