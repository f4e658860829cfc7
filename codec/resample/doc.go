// Package resample converts interleaved PCM16LE audio at 8 to 48 kHz with
// one to eight channels into 8 kHz mono PCM16LE, the rate of every voice
// codec the milter writes (G.711, G.726, GSM 06.10).
//
// Channels are averaged (as sox "remix -"). The rate conversion is a cascade
// of linear-phase Kaiser-windowed sinc FIR filters: halving stages while the
// rate stays at or above 11025 Hz, then one polyphase stage for the rational
// ratio L/M to 8000 Hz. The filters pass 0..3500 Hz flat (ripple below
// 0.001 dB), are 6 dB down at 3800 Hz (95% of the output Nyquist frequency,
// like sox "rate -v"), reject at least 80 dB from 4100 Hz, and are centred,
// so the output is time-aligned with the input (no group delay). On speech
// the result is within 70 dB (0..3400 Hz) and 37 dB (full band) of
// "sox rate -v"; see TestAgainstSox.
//
// The package is pure: it never logs and never touches the network.
package resample
