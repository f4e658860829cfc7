// Package wav reads and writes RIFF/WAVE headers (Microsoft RIFF
// specification 1991; format tags from RFC 2361 Appendix A).
//
// ReadHeader parses chunks in any order, skips unknown and oversized
// chunks without buffering them, honours the RIFF pad byte after odd-sized
// chunks, and reads the optional fact chunk. It never allocates memory
// in proportion to a size claimed by the file. WriteHeader writes a
// canonical header for a data length known up front, so no seeking is
// needed.
//
// The package only handles the container; the sample formats are decoded
// by the caller (package codec).
package wav
