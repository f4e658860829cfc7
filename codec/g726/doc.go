// Package g726 implements ITU-T G.726 ADPCM at 16, 24, 32 and 40 kbit/s,
// bit-exact with the ITU-T G.726 Appendix II reset test sequences for
// linear, µ-law and A-law input and output (including the synchronous
// tandem adjustment, the "synchronous coding adjustment" of ITU-T G.726).
//
// The algorithm follows the block structure of ITU-T G.726 (the names
// in the comments are the G.726 block names) in the integer arithmetic of
// the Sun Microsystems reference implementation as refined by spandsp.
// The linear decoder clamps its output to the 16-bit range instead of
// wrapping.
//
// Codes are packed either in RFC 3551 §4.5.4 / RFC 3802 §3.1 order (first
// code word in the least significant bits of the first octet; used by
// audio/32KADPCM and RTP G726-xx) or in ITU-T I.366.2 (AAL2) order (first
// code word in the most significant bits).
//
// The package is pure: no logging, no network, no mutable globals.
package g726
