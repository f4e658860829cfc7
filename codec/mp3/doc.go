// Package mp3 decodes MPEG-1/2 Layer III audio (audio/mpeg) to PCM16LE with
// github.com/hajimehoshi/go-mp3 and fixes its timing: the Xing/Info frame
// that go-mp3 decodes as a frame of silence is dropped, the decoder delay
// (529 samples) is removed, and when a LAME (or ffmpeg "Lavc") tag records
// the encoder delay and padding, those are removed too, so the output lines
// up sample for sample with the audio the encoder was given.
//
// The package is pure: it never logs and never touches the network.
package mp3
