package mp3

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// ErrFormat reports input that is not decodable MPEG Layer III audio.
var ErrFormat = errors.New("codec: mp3: not decodable MPEG Layer III audio")

// DecoderDelay is the delay of the Layer III synthesis (IMDCT overlap plus
// polyphase filter bank) in samples, the value LAME's gapless tag assumes.
const DecoderDelay = 529

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
	d      *decoder
	skip   int64  // decoded sample frames still to drop
	remain int64  // sample frames still to emit, -1 unbounded
	out    []byte // unread output, aliases d.pcm
	err    error
}

// NewReader decodes MP3 from r. It returns interleaved PCM16LE with the
// stream's sample rate and channel count (1 for mono MP3, else 2).
//
// MPEG-1, MPEG-2 and MPEG-2.5 Layer III are decoded (all rates from 8 to
// 48 kHz), mono and stereo including mid/side and intensity stereo.
// Leading ID3v2 tags are skipped without buffering them, garbage between
// frames (trailing tags) is skipped. Without a Xing/Info frame only the
// decoder delay is removed (the encoder delay is unknown and stays,
// typically 576 samples for LAME); with a Xing/Info frame carrying a LAME
// or ffmpeg tag, output starts at the first sample given to the encoder
// and ends after the last one. Memory is constant (one frame and the
// 511-byte bit reservoir).
func NewReader(r io.Reader) (pcm io.Reader, rate, channels int, err error) {
	var head [10]byte
	n, err := io.ReadFull(r, head[:])
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
		n, err = io.ReadFull(r, head[:])
	}
	switch {
	case n == 0:
		return nil, 0, 0, fmt.Errorf("%w: empty stream", ErrFormat)
	case err != nil && err != io.ErrUnexpectedEOF && err != io.EOF:
		return nil, 0, 0, fmt.Errorf("codec: mp3: %w", err)
	}
	if n >= 3 && string(head[:3]) == "ID3" {
		return nil, 0, 0, fmt.Errorf("%w: malformed ID3v2 header", ErrFormat)
	}
	src := bufio.NewReaderSize(io.MultiReader(bytes.NewReader(bytes.Clone(head[:n])), r), 4*maxFrameLen)
	d := &decoder{src: src, tabs: sharedDecoderTables()}
	// The first frame must be followed by another of the same format
	// (or the end of the stream): a lone 0xFFE pattern in other data is
	// not MP3.
	var h hdr
	var f []byte
	for tries := 0; ; tries++ {
		h, f, err = d.nextFrame()
		if err != nil {
			if err == io.EOF {
				return nil, 0, 0, fmt.Errorf("%w: no Layer III frame header", ErrFormat)
			}
			if errors.Is(err, ErrFormat) {
				return nil, 0, 0, err
			}
			return nil, 0, 0, fmt.Errorf("codec: mp3: %w", err)
		}
		b, _ := src.Peek(h.size + 4)
		if len(b) < h.size+4 {
			break
		}
		if h2, ok := parseHeader(b[h.size:]); ok && h2.v == h.v && h2.srIndex == h.srIndex && h2.channels == h.channels {
			break
		}
		if tries > maxResync {
			return nil, 0, 0, fmt.Errorf("%w: no Layer III frame header", ErrFormat)
		}
		src.Discard(1)
	}
	d.format = h
	inf := parseFirstFrame(f)
	rd := &reader{d: d, skip: DecoderDelay, remain: -1}
	if inf.tagFrame {
		src.Discard(len(f))
		if inf.encDelay >= 0 {
			rd.skip += int64(inf.encDelay)
			if inf.frames >= 0 {
				rd.remain = max(inf.frames*int64(inf.samplesPerFrame)-int64(inf.encDelay)-int64(inf.encPadding), 0)
			}
		}
	}
	return rd, h.rate, h.channels, nil
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

// fill decodes the next frame and leaves the part to emit in out.
func (rd *reader) fill() {
	if rd.remain == 0 {
		rd.err = io.EOF
		return
	}
	d := rd.d
	h, f, err := d.nextFrame()
	if err != nil {
		switch {
		case err == io.EOF:
			rd.err = io.EOF
		case errors.Is(err, ErrFormat):
			rd.err = err
		default:
			rd.err = fmt.Errorf("codec: mp3: %w", err)
		}
		return
	}
	if err := rd.decode(h, f); err != nil {
		rd.err = err
		return
	}
	d.src.Discard(h.size)
	fs := 2 * h.channels // bytes per sample frame
	b := d.pcm
	if rd.skip > 0 {
		k := min(rd.skip, int64(len(b)/fs))
		b = b[int(k)*fs:]
		rd.skip -= k
	}
	frames := int64(len(b) / fs)
	if rd.remain >= 0 {
		frames = min(frames, rd.remain)
		rd.remain -= frames
	}
	rd.out = b[:int(frames)*fs]
}

// decode runs the frame decoder, turning a panic (a bug this package's
// fuzzing has not found) into an error instead of crashing the milter.
func (rd *reader) decode(h hdr, f []byte) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("%w: internal decoder panic: %v", ErrFormat, p)
		}
	}()
	rd.d.decodeFrame(h, f)
	return nil
}
