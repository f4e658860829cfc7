package gsm

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

var (
	// ErrTruncated reports input that ends inside a frame (raw) or block
	// (WAV49). All complete frames before it have been decoded; the partial
	// frame is dropped, as libgsm's toast does.
	ErrTruncated = errors.New("codec: gsm: truncated frame")
	// ErrMagic reports a raw .gsm frame whose first nibble is not 0xD.
	ErrMagic = errors.New("codec: gsm: bad frame signature")
)

// decoder is the io.Reader returned by NewDecoder.
type decoder struct {
	r      io.Reader
	wav49  bool
	st     synth
	p      params
	in     [BlockSize]byte
	pcm    [BlockSamples]int16
	out    [2 * BlockSamples]byte
	off, n int   // unread part of out
	frames int64 // frames decoded so far (for error messages)
	err    error
}

// NewDecoder returns a reader that decodes GSM 06.10 from r to PCM16LE,
// 8 kHz mono. With wav49 false, r holds raw .gsm frames (33 bytes per 160
// samples); with wav49 true, r holds the data of a WAVE_FORMAT_GSM610 chunk
// (65-byte blocks of two frames, 320 samples).
//
// Input that ends inside a frame or block yields the samples of all
// complete frames followed by an error wrapping ErrTruncated (a single
// trailing byte after the last WAV49 block is the RIFF pad byte and is
// ignored); a raw frame
// without the 0xD signature yields an error wrapping ErrMagic. Memory use is
// constant; Read does not allocate.
func NewDecoder(r io.Reader, wav49 bool) io.Reader {
	return &decoder{r: r, wav49: wav49, st: newSynth()}
}

func (d *decoder) Read(b []byte) (int, error) {
	if d.off == d.n {
		if d.err != nil {
			return 0, d.err
		}
		d.fill()
		if d.off == d.n {
			return 0, d.err
		}
	}
	n := copy(b, d.out[d.off:d.n])
	d.off += n
	return n, nil
}

// fill decodes the next frame (raw) or block (WAV49) into out.
func (d *decoder) fill() {
	size := FrameSize
	if d.wav49 {
		size = BlockSize
	}
	n, err := io.ReadFull(d.r, d.in[:size])
	switch {
	case err == io.EOF:
		d.err = io.EOF
		return
	case err == io.ErrUnexpectedEOF && d.wav49 && n == 1:
		// sox pads the odd-sized data of an odd number of blocks to an even
		// length and counts the pad byte in the chunk size: not a frame.
		d.err = io.EOF
		return
	case err == io.ErrUnexpectedEOF:
		d.err = fmt.Errorf("%w: %d of %d bytes after frame %d", ErrTruncated, n, size, d.frames)
		return
	case err != nil:
		d.err = err
		return
	}
	d.off, d.n = 0, 0
	if d.wav49 {
		// WAV49: two 260-bit frames, least significant bit first; the second
		// frame starts in the high nibble of byte 32.
		br := newBitReader(d.in[:BlockSize], true, 0)
		d.p.unpack(&br)
		d.st.decode(&d.p, d.pcm[:FrameSamples])
		d.p.unpack(&br)
		d.st.decode(&d.p, d.pcm[FrameSamples:])
		d.frames += 2
		d.put(BlockSamples)
		return
	}
	if d.in[0]>>4 != magic {
		d.err = fmt.Errorf("%w: frame %d starts with %#02x", ErrMagic, d.frames, d.in[0])
		return
	}
	br := newBitReader(d.in[:FrameSize], false, 4)
	d.p.unpack(&br)
	d.st.decode(&d.p, d.pcm[:FrameSamples])
	d.frames++
	d.put(FrameSamples)
}

func (d *decoder) put(samples int) {
	for i, s := range d.pcm[:samples] {
		binary.LittleEndian.PutUint16(d.out[2*i:], uint16(s))
	}
	d.off, d.n = 0, 2*samples
}
