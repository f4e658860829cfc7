// Package g711 implements ITU-T G.711 µ-law and A-law companding
// (ITU-T G.711 (11/88) Table 1 (A-law) and Table 2 (µ-law)) on 16-bit linear samples,
// bit-exact with the ITU-T Software Tools Library (STL) g711 module.
//
// The per-sample functions are table driven. The streaming Encoder and
// Decoder work on little-endian 16-bit PCM and keep fixed buffers, so they
// never allocate per call.
//
// The package is pure: no logging, no network, no mutable globals.
package g711
