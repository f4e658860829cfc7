package g726

import (
	"errors"
	"fmt"
	"io"
)

// Packing is the order of code words within octets.
type Packing int

const (
	// PackRFC3551 puts the first code word in the least significant bits
	// of the first octet (RFC 3551 §4.5.4, RFC 3802 §3.1 and §4: the only order
	// permitted for audio/32KADPCM; ITU-T X.420). This is the default.
	PackRFC3551 Packing = iota
	// PackAAL2 puts the first code word in the most significant bits
	// (ITU-T I.366.2, "AAL2" or big-endian order).
	PackAAL2
)

// String returns "rfc3551" or "aal2".
func (p Packing) String() string {
	if p == PackAAL2 {
		return "aal2"
	}
	return "rfc3551"
}

// ErrClosed is returned by Write after Close.
var ErrClosed = errors.New("g726: write after close")

// bufSize is the size of the code buffers (32 KiB: few system calls,
// constant memory).
const bufSize = 32 << 10

// Encoder encodes little-endian 16-bit linear PCM written to it into
// packed G.726 code words. Close flushes a partial octet, padded with
// zero bits. Memory use is constant; Write does not allocate.
type Encoder struct {
	w       io.Writer
	st      State
	packing Packing
	acc     uint32 // bit accumulator
	nacc    int    // bits held in acc
	carry   byte   // odd trailing PCM byte
	ncarry  int
	closed  bool
	out     [bufSize]byte
	nout    int
}

// NewEncoder returns an Encoder at rate r writing packed codes to w.
func NewEncoder(w io.Writer, r Rate, p Packing) (*Encoder, error) {
	e := &Encoder{w: w, packing: p}
	if err := e.st.Reset(r); err != nil {
		return nil, err
	}
	return e, nil
}

// push appends one code word to the bit stream.
func (e *Encoder) push(code uint8) {
	nb := e.st.bits
	if e.packing == PackAAL2 {
		e.acc = e.acc<<nb | uint32(code)
		e.nacc += nb
		if e.nacc >= 8 {
			e.out[e.nout] = byte(e.acc >> (e.nacc - 8))
			e.nout++
			e.nacc -= 8
			e.acc &= 1<<e.nacc - 1
		}
		return
	}
	e.acc |= uint32(code) << e.nacc
	e.nacc += nb
	if e.nacc >= 8 {
		e.out[e.nout] = byte(e.acc)
		e.nout++
		e.acc >>= 8
		e.nacc -= 8
	}
}

func (e *Encoder) flush() error {
	if e.nout == 0 {
		return nil
	}
	_, err := e.w.Write(e.out[:e.nout])
	e.nout = 0
	if err != nil {
		return fmt.Errorf("g726: %w", err)
	}
	return nil
}

// Write consumes PCM16LE bytes; an odd trailing byte is kept for the next
// call.
func (e *Encoder) Write(p []byte) (int, error) {
	if e.closed {
		return 0, ErrClosed
	}
	n := len(p)
	if e.ncarry == 1 && len(p) > 0 {
		e.push(e.st.EncodeLinear(int16(uint16(e.carry) | uint16(p[0])<<8)))
		e.ncarry = 0
		p = p[1:]
	}
	if e.packing == PackRFC3551 {
		// The common case: push's PackRFC3551 branch written out with
		// the bit accumulator in locals instead of fields of e, which
		// the loop would otherwise load and store for every sample.
		// push still packs a carried half sample and PackAAL2;
		// TestPacking and TestEncoderSplitWrites check both paths.
		acc, nacc, nb, nout := e.acc, e.nacc, e.st.bits, e.nout
		for len(p) >= 2 {
			code := uint32(e.st.encode(int(int16(uint16(p[0])|uint16(p[1])<<8)) >> 2))
			p = p[2:]
			acc |= code << uint(nacc&31)
			nacc += nb
			if nacc >= 8 {
				e.out[nout&(bufSize-1)] = byte(acc)
				nout++
				acc >>= 8
				nacc -= 8
				if nout == bufSize {
					e.acc, e.nacc, e.nout = acc, nacc, nout
					if err := e.flush(); err != nil {
						return n - len(p), err
					}
					nout = 0
				}
			}
		}
		e.acc, e.nacc, e.nout = acc, nacc, nout
	}
	for len(p) >= 2 {
		e.push(uint8(e.st.encode(int(int16(uint16(p[0])|uint16(p[1])<<8)) >> 2)))
		p = p[2:]
		if e.nout == bufSize {
			if err := e.flush(); err != nil {
				return n - len(p), err
			}
		}
	}
	if len(p) == 1 {
		e.carry = p[0]
		e.ncarry = 1
	}
	if err := e.flush(); err != nil {
		return n, err
	}
	return n, nil
}

// Close writes a pending partial octet (padded with zero bits; RFC 3802
// §4 asks for an even number of codes, which a whole number of octets
// gives at 32 kbit/s) and marks the encoder closed. A dangling half sample
// is dropped. Close does not close the underlying writer.
func (e *Encoder) Close() error {
	if e.closed {
		return nil
	}
	e.closed = true
	if e.nacc > 0 {
		if e.packing == PackAAL2 {
			e.out[e.nout] = byte(e.acc << (8 - e.nacc))
		} else {
			e.out[e.nout] = byte(e.acc)
		}
		e.nout++
		e.acc, e.nacc = 0, 0
	}
	return e.flush()
}

// Decoder reads packed G.726 code words and produces little-endian 16-bit
// linear PCM, clamped to the 16-bit range. Trailing bits too few for a
// whole code word are ignored. Memory use is constant.
type Decoder struct {
	r       io.Reader
	st      State
	packing Packing
	acc     uint32
	nacc    int
	in      [bufSize]byte
	inPos   int
	inLen   int
	pend    byte // high byte of a sample that did not fit
	npend   int
	err     error
}

// NewDecoder returns a Decoder at rate r reading packed codes from r.
func NewDecoder(src io.Reader, r Rate, p Packing) (*Decoder, error) {
	d := &Decoder{r: src, packing: p}
	if err := d.st.Reset(r); err != nil {
		return nil, err
	}
	return d, nil
}

// Read fills p with PCM16LE samples.
func (d *Decoder) Read(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	n := 0
	if d.npend == 1 {
		p[0] = d.pend
		d.npend = 0
		n = 1
	}
	nb := d.st.bits
	mask := uint32(1)<<nb - 1
	for n < len(p) {
		if d.nacc < nb {
			if d.inPos == d.inLen {
				if n > 0 || d.err != nil {
					break
				}
				m, err := d.r.Read(d.in[:])
				d.inPos, d.inLen = 0, m
				if err != nil {
					d.err = err
				}
				if m == 0 {
					continue
				}
			}
			b := uint32(d.in[d.inPos])
			d.inPos++
			if d.packing == PackAAL2 {
				d.acc = d.acc<<8 | b
			} else {
				d.acc |= b << d.nacc
			}
			d.nacc += 8
			continue
		}
		var code uint32
		if d.packing == PackAAL2 {
			code = (d.acc >> (d.nacc - nb)) & mask
			d.nacc -= nb
			d.acc &= 1<<d.nacc - 1
		} else {
			code = d.acc & mask
			d.acc >>= nb
			d.nacc -= nb
		}
		v := uint16(d.st.DecodeLinear(uint8(code)))
		if n+1 < len(p) {
			p[n] = byte(v)
			p[n+1] = byte(v >> 8)
			n += 2
		} else {
			p[n] = byte(v)
			d.pend = byte(v >> 8)
			d.npend = 1
			n++
		}
	}
	if n > 0 {
		return n, nil
	}
	if d.err == io.EOF {
		return 0, io.EOF
	}
	return 0, fmt.Errorf("g726: %w", d.err)
}
