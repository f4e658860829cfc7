// Package au reads and writes Sun/NeXT audio file headers (.au/.snd:
// magic ".snd", big-endian header fields, big-endian sample data), as
// described in the Sun audio_filehdr(4) manual page and accepted on input
// next to raw audio/basic (RFC 2046 §4.3).
//
// ReadHeader skips the annotation field without buffering it, so a header
// that claims a huge data offset costs no memory.
package au
