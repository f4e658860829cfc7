// Package mp3 reads and writes MPEG audio Layer III (audio/mpeg) with its
// own implementation of ISO/IEC 11172-3 (MPEG-1) and ISO/IEC 13818-3
// (MPEG-2 lower sampling frequencies), plus the MPEG-2.5 extension to 8,
// 11.025 and 12 kHz.
//
// NewReader decodes any Layer III stream, mono or stereo, to PCM16LE and
// fixes its timing: a Xing/Info frame is not played, the decoder delay
// (529 samples) is removed, and when a LAME (or ffmpeg "Lavc") tag records
// the encoder delay and padding, those are removed too, so the output
// lines up sample for sample with the audio the encoder was given.
//
// NewWriter encodes mono PCM16LE to constant-bit-rate Layer III (16 to 64
// kbit/s) with such an Info frame, so gapless decoders return exactly the
// samples written. Its rate control aims at waveform fidelity (signal-to-
// noise ratio) rather than a psychoacoustic model: voice mail is listened
// to on telephones and measured against the original.
//
// The tables both share (Huffman codes, scalefactor bands, the filter bank
// window) are the normative data of the standards. The package is pure: it
// never logs and never touches the network.
package mp3
