// Package codec converts voice-mail audio between the formats VPIM and IVM
// mail carries: raw G.711 µ-law (audio/basic, RFC 2046 §4.3), Sun .au,
// G.726 ADPCM (audio/32KADPCM, RFC 3802; RTP G726-xx, RFC 3551 §4.5.4),
// RIFF/WAVE with PCM, G.711, G.726 or GSM 06.10, raw GSM 06.10 and MP3
// (written as 16 kHz mono, up-sampled with resample.NewUpWriter).
//
// Everything decodes to 8 kHz mono 16-bit little-endian PCM (NewReader) and
// encodes from it (NewWriter); Transcode composes the two. All conversions
// stream with fixed buffers: memory does not grow with the duration.
// TranscodeContext stops at the end of a context (checked every 8 s of
// audio), and a Transcoder stops as soon as the audio passes its
// MaxDuration: neither the time nor the output grows with what an input
// claims.
//
// The package is pure: it never logs and never touches the network. The
// codecs themselves live in the sub-packages g711, g726, gsm, the
// containers in wav and au.
package codec
