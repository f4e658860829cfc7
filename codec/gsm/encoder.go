package gsm

import (
	"encoding/binary"
	"fmt"
	"io"
)

// encoder is the io.WriteCloser returned by NewEncoder.
type encoder struct {
	w      io.Writer
	wav49  bool
	an     analysis
	p      params
	pcm    [BlockSamples]int16
	n      int  // samples buffered in pcm
	half   byte // pending low byte of a sample split across Write calls
	odd    bool // half is valid
	out    [BlockSize]byte
	closed bool
	err    error
}

// NewEncoder returns a writer that encodes PCM16LE 8 kHz mono samples to
// GSM 06.10 on w: raw .gsm frames (33 bytes per 160 samples) or, with wav49
// true, WAV49 blocks (65 bytes per 320 samples) for the data chunk of a
// WAVE_FORMAT_GSM610 file. Close encodes the buffered remainder padded with
// silence to a whole frame (raw) or block (WAV49); it does not close w.
// A dangling odd byte at Close is dropped. Memory use is constant; Write does
// not allocate.
func NewEncoder(w io.Writer, wav49 bool) io.WriteCloser {
	return &encoder{w: w, wav49: wav49, an: analysis{syn: newSynth()}}
}

func (e *encoder) Write(b []byte) (int, error) {
	if e.closed {
		return 0, fmt.Errorf("codec: gsm: write after close")
	}
	if e.err != nil {
		return 0, e.err
	}
	total := len(b)
	if e.odd && len(b) > 0 {
		e.pcm[e.n] = int16(uint16(e.half) | uint16(b[0])<<8)
		e.n++
		e.odd = false
		b = b[1:]
		if err := e.maybeFlush(); err != nil {
			return 0, err
		}
	}
	for len(b) >= 2 {
		k := min(e.frameLen()-e.n, len(b)/2)
		for i := 0; i < k; i++ {
			e.pcm[e.n+i] = int16(binary.LittleEndian.Uint16(b[2*i:]))
		}
		e.n += k
		b = b[2*k:]
		if err := e.maybeFlush(); err != nil {
			return 0, err
		}
	}
	if len(b) == 1 {
		e.half, e.odd = b[0], true
	}
	return total, nil
}

// maybeFlush encodes once a whole frame (raw) or block (WAV49) is buffered.
func (e *encoder) maybeFlush() error {
	if e.n == e.frameLen() {
		return e.flush()
	}
	return nil
}

// frameLen is the number of samples encoded together.
func (e *encoder) frameLen() int {
	if e.wav49 {
		return BlockSamples
	}
	return FrameSamples
}

func (e *encoder) flush() error {
	e.out = [BlockSize]byte{}
	var size int
	if e.wav49 {
		// WAV49: two frames packed least significant bit first.
		bw := bitWriter{b: e.out[:BlockSize], lsb: true}
		e.an.encode(e.pcm[:FrameSamples], &e.p)
		e.p.pack(&bw)
		e.an.encode(e.pcm[FrameSamples:], &e.p)
		e.p.pack(&bw)
		size = BlockSize
	} else {
		e.out[0] = magic << 4
		bw := bitWriter{b: e.out[:FrameSize], pos: 4}
		e.an.encode(e.pcm[:FrameSamples], &e.p)
		e.p.pack(&bw)
		size = FrameSize
	}
	e.n = 0
	if _, err := e.w.Write(e.out[:size]); err != nil {
		e.err = fmt.Errorf("codec: gsm: %w", err)
		return e.err
	}
	return nil
}

// Close pads and encodes the last partial frame or block.
func (e *encoder) Close() error {
	if e.closed {
		return e.err
	}
	e.closed = true
	if e.err != nil || e.n == 0 {
		return e.err
	}
	clear(e.pcm[e.n:])
	return e.flush()
}
