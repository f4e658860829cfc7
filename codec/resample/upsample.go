package resample

import (
	"encoding/binary"
	"fmt"
	"io"
)

// upWriter is the io.WriteCloser returned by NewUpWriter.
type upWriter struct {
	dst     io.Writer
	outRate int // output rate (the package constant outRate is the input's)
	st      *stage
	in      []float32 // converted input block
	out     []float32
	buf     []byte
	odd     []byte // a sample split across writes
	inN     int64  // input samples taken
	outDone int64  // output samples written
	closed  bool
	err     error
}

// NewUpWriter returns a writer that takes 8 kHz mono PCM16LE and writes it
// to dst at rate Hz (8001..48000) mono PCM16LE, for encoders that want a
// higher rate than telephony's (MP3 carries 8 kHz voice at 16 kHz). It is
// one polyphase stage of the same Kaiser design as NewReader: 0..3500 Hz
// flat, the images of the input spectrum rejected by 80 dB from 4100 Hz,
// centred (output sample n is the input at time n/outRate s). For n input
// samples exactly ceil(n·rate/8000) are written; Close flushes them and
// does not close dst.
func NewUpWriter(dst io.Writer, rate int) (io.WriteCloser, error) {
	if rate <= outRate || rate > MaxRate {
		return nil, fmt.Errorf("%w: up-sampling to %d Hz (want %d..%d)", ErrFormat, rate, outRate+1, MaxRate)
	}
	g := gcd(rate, outRate)
	st := newStage(outRate, rate/g, outRate/g, passEdge, stopEdge, block)
	return &upWriter{
		dst: dst, outRate: rate, st: st,
		in:  make([]float32, 0, block),
		out: make([]float32, st.maxOut(block)),
		buf: make([]byte, 2*st.maxOut(block)),
	}, nil
}

func (u *upWriter) Write(p []byte) (int, error) {
	if u.closed {
		return 0, fmt.Errorf("codec: resample: write after Close")
	}
	if u.err != nil {
		return 0, u.err
	}
	n := len(p)
	if len(u.odd) == 1 && len(p) > 0 {
		u.add(int16(uint16(u.odd[0]) | uint16(p[0])<<8))
		u.odd = u.odd[:0]
		p = p[1:]
	}
	for len(p) >= 2 && u.err == nil {
		u.add(int16(binary.LittleEndian.Uint16(p)))
		p = p[2:]
	}
	if len(p) == 1 {
		u.odd = append(u.odd[:0], p[0])
	}
	if u.err != nil {
		return 0, u.err
	}
	return n, nil
}

// add buffers one input sample and filters a full block.
func (u *upWriter) add(v int16) {
	u.in = append(u.in, float32(v))
	u.inN++
	if len(u.in) == block {
		u.flush(u.want())
	}
}

// want is the output length for the input so far.
func (u *upWriter) want() int64 {
	return (u.inN*int64(u.outRate) + outRate - 1) / outRate
}

// flush filters the buffered input and writes at most up to limit output
// samples in total.
func (u *upWriter) flush(limit int64) {
	n := int64(u.st.push(u.in, u.out))
	u.in = u.in[:0]
	n = min(n, max(limit-u.outDone, 0))
	for i, v := range u.out[:n] {
		binary.LittleEndian.PutUint16(u.buf[2*i:], uint16(toInt16(v)))
	}
	if n > 0 {
		if _, err := u.dst.Write(u.buf[:2*n]); err != nil {
			u.err = fmt.Errorf("codec: resample: %w", err)
		}
	}
	u.outDone += n
}

// Close writes the remaining output: the filter is fed silence until every
// output sample of the input has been computed.
func (u *upWriter) Close() error {
	if u.closed {
		return u.err
	}
	u.closed = true
	want := u.want()
	u.flush(want)
	for u.outDone < want && u.err == nil {
		u.in = u.in[:block]
		clear(u.in)
		u.flush(want)
	}
	return u.err
}
