package mp3

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"

	gomp3 "github.com/hajimehoshi/go-mp3"
)

// ErrFormat reports input that is not MPEG audio go-mp3 can decode.
var ErrFormat = errors.New("codec: mp3: not decodable MPEG Layer III audio")

// DecoderDelay is the delay of the Layer III synthesis (IMDCT overlap plus
// polyphase filter bank) in samples, the value LAME's gapless tag assumes.
const DecoderDelay = 529

// maxFrame bounds the first frame we inspect (Layer III frames are at most
// 1441 bytes; free-format streams are not supported by go-mp3 anyway).
const maxFrame = 2048

// info is what the first frame tells us.
type info struct {
	mono            bool
	samplesPerFrame int
	tagFrame        bool  // the first frame is a Xing/Info frame (no audio)
	frames          int64 // audio frames according to the Xing tag, -1 unknown
	encDelay        int   // encoder delay from the LAME tag, -1 unknown
	encPadding      int   // encoder padding from the LAME tag, -1 unknown
}

// reader is the io.Reader returned by NewReader.
type reader struct {
	d      *gomp3.Decoder
	mono   bool
	skip   int64 // decoded frames still to drop
	remain int64 // output frames still to emit, -1 unbounded
	buf    [4 * 1152]byte
	out    []byte // unread converted output, aliases buf
	err    error
}

// NewReader decodes MP3 from r. It returns interleaved PCM16LE with the
// stream's sample rate and channel count (1 for mono MP3, else 2).
//
// Leading ID3v2 tags are skipped without buffering them. Without a Xing/Info
// frame only the decoder delay is removed (the encoder delay is unknown and
// stays, typically 576 samples for LAME); with a Xing/Info frame carrying a
// LAME or ffmpeg tag, output starts at the first sample given to the encoder
// and ends after the last one. go-mp3 allocates per frame internally, but
// memory stays constant.
func NewReader(r io.Reader) (pcm io.Reader, rate, channels int, err error) {
	head := make([]byte, maxFrame)
	n, err := io.ReadFull(r, head[:10])
	for n == 10 && string(head[:3]) == "ID3" && head[6]|head[7]|head[8]|head[9] < 0x80 {
		// ID3v2.4 §3.1: 10-byte header, 28-bit synchsafe size, plus a
		// 10-byte footer when flag bit 4 is set. Discard, never buffer.
		size := int64(head[6])<<21 | int64(head[7])<<14 | int64(head[8])<<7 | int64(head[9])
		if head[5]&0x10 != 0 {
			size += 10
		}
		if _, err := io.CopyN(io.Discard, r, size); err != nil {
			return nil, 0, 0, fmt.Errorf("%w: truncated ID3v2 tag: %w", ErrFormat, err)
		}
		n, err = io.ReadFull(r, head[:10])
	}
	if n == 10 {
		var m int
		m, err = io.ReadFull(r, head[10:])
		n += m
	}
	switch {
	case n == 0:
		return nil, 0, 0, fmt.Errorf("%w: empty stream", ErrFormat)
	case err != nil && err != io.ErrUnexpectedEOF && err != io.EOF:
		return nil, 0, 0, fmt.Errorf("codec: mp3: %w", err)
	}
	head = head[:n]
	if bytes.HasPrefix(head, []byte("ID3")) {
		// A broken ID3v2 header (size bytes not synchsafe, or truncated):
		// go-mp3 would allocate its claimed size, up to 2 GiB, so refuse.
		return nil, 0, 0, fmt.Errorf("%w: malformed ID3v2 header", ErrFormat)
	}
	inf := parseFirstFrame(head)
	d, err := newDecoder(io.MultiReader(bytes.NewReader(head), r))
	if err != nil {
		return nil, 0, 0, err
	}
	rd := &reader{d: d, mono: inf.mono, skip: DecoderDelay, remain: -1}
	if inf.tagFrame {
		rd.skip += int64(inf.samplesPerFrame)
		if inf.encDelay >= 0 {
			rd.skip += int64(inf.encDelay)
			if inf.frames >= 0 {
				rd.remain = max(inf.frames*int64(inf.samplesPerFrame)-int64(inf.encDelay)-int64(inf.encPadding), 0)
			}
		}
	}
	channels = 2
	if inf.mono {
		channels = 1
	}
	return rd, d.SampleRate(), channels, nil
}

// parseFirstFrame reads the frame header (ISO/IEC 11172-3 §2.4.1.3) and a
// Xing/Info tag with an optional LAME extension in the first frame.
func parseFirstFrame(b []byte) info {
	inf := info{samplesPerFrame: 1152, frames: -1, encDelay: -1, encPadding: -1}
	if len(b) < 4 || b[0] != 0xFF || b[1]&0xE0 != 0xE0 {
		return inf
	}
	version := (b[1] >> 3) & 3 // 3 = MPEG-1, 2 = MPEG-2, 0 = MPEG-2.5
	if (b[1]>>1)&3 != 1 {      // not Layer III
		return inf
	}
	inf.mono = b[3]>>6 == 3
	var side int
	switch {
	case version == 3 && inf.mono:
		side = 17
	case version == 3:
		side = 32
	case inf.mono:
		side, inf.samplesPerFrame = 9, 576
	default:
		side, inf.samplesPerFrame = 17, 576
	}
	off := 4 + side
	if b[1]&1 == 0 { // protected: 16-bit CRC after the header
		off += 2
	}
	if len(b) < off+8 {
		return inf
	}
	if tag := string(b[off : off+4]); tag != "Xing" && tag != "Info" {
		return inf
	}
	inf.tagFrame = true
	flags := binary.BigEndian.Uint32(b[off+4:])
	p := off + 8
	if flags&1 != 0 {
		if len(b) < p+4 {
			return inf
		}
		inf.frames = int64(binary.BigEndian.Uint32(b[p:]))
		p += 4
	}
	if flags&2 != 0 {
		p += 4 // stream bytes
	}
	if flags&4 != 0 {
		p += 100 // seek table
	}
	if flags&8 != 0 {
		p += 4 // quality
	}
	// LAME tag: 9-byte encoder version, then at +21 12 bits delay and 12
	// bits padding. ffmpeg writes the same layout with "Lavc"/"Lavf".
	if len(b) < p+24 {
		return inf
	}
	switch string(b[p : p+4]) {
	case "LAME", "Lavc", "Lavf":
	default:
		return inf
	}
	inf.encDelay = int(b[p+21])<<4 | int(b[p+22])>>4
	inf.encPadding = int(b[p+22]&0x0F)<<8 | int(b[p+23])
	return inf
}

func (rd *reader) Read(p []byte) (int, error) {
	for len(rd.out) == 0 {
		if rd.err != nil {
			return 0, rd.err
		}
		rd.fill()
	}
	n := copy(p, rd.out)
	rd.out = rd.out[n:]
	return n, nil
}

// fill decodes into buf and leaves the part to emit in out.
func (rd *reader) fill() {
	if rd.remain == 0 {
		rd.err = io.EOF
		return
	}
	n, err := rd.decode()
	n &^= 3 // go-mp3 always produces whole 4-byte stereo frames
	switch {
	case err == nil:
	case errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF):
		rd.err = io.EOF
	case errors.Is(err, ErrFormat):
		rd.err = err
	default:
		rd.err = fmt.Errorf("codec: mp3: %w", err)
	}
	b := rd.buf[:n]
	if rd.skip > 0 {
		k := min(rd.skip, int64(len(b)/4))
		b = b[4*k:]
		rd.skip -= k
	}
	frames := int64(len(b) / 4)
	if rd.remain >= 0 {
		frames = min(frames, rd.remain)
		rd.remain -= frames
	}
	b = b[:4*frames]
	if rd.mono {
		// go-mp3 duplicates a mono channel: keep the left copy.
		for i := int64(0); i < frames; i++ {
			copy(rd.buf[2*i:2*i+2], b[4*i:4*i+2])
		}
		b = rd.buf[:2*frames]
	}
	rd.out = b
}

// go-mp3 v0.3.4 panics on some malformed streams (index out of range in
// its scale-factor and Huffman tables, found by FuzzMP3). Untrusted mail
// must not crash the milter, so the two entry points into go-mp3 turn a
// panic into an error wrapping ErrFormat; the decoder is not used again.

func newDecoder(r io.Reader) (d *gomp3.Decoder, err error) {
	defer func() {
		if p := recover(); p != nil {
			d, err = nil, fmt.Errorf("%w: go-mp3 panicked: %v", ErrFormat, p)
		}
	}()
	d, err = gomp3.NewDecoder(r)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrFormat, err)
	}
	return d, nil
}

// decode reads at least one stereo frame from go-mp3 into buf.
func (rd *reader) decode() (n int, err error) {
	defer func() {
		if p := recover(); p != nil {
			n, err = 0, fmt.Errorf("%w: go-mp3 panicked: %v", ErrFormat, p)
		}
	}()
	return io.ReadAtLeast(rd.d, rd.buf[:], 4)
}
