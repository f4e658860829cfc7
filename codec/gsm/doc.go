// Package gsm implements the GSM 06.10 full-rate speech codec (ETSI GSM 06.10,
// "RPE-LTP") as streaming io.Reader / io.WriteCloser transformers.
//
// Two framings are supported:
//
//   - raw .gsm (audio/x-gsm, Asterisk "gsm", toast): one 33-byte frame per
//     160 samples, a 0xD magic nibble followed by the 260 parameter bits,
//     most significant bit first;
//   - WAV49 / MS-GSM (WAVE format tag 0x0031, Asterisk "wav49"): two frames
//     of 260 bits packed least significant bit first into one 65-byte block
//     of 320 samples.
//
// The arithmetic follows the bit-exact fixed-point description of GSM 06.10
// §4 (the same algorithm libgsm from TU Berlin implements), so decoded PCM is
// sample-identical to libgsm (toast, sox, ffmpeg's gsm_ms decoder) and the
// encoder produces the same bitstream as toast.
//
// The package is pure: it never logs and never touches the network.
package gsm
