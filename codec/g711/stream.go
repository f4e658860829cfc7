package g711

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// ErrClosed is returned by Write after Close.
var ErrClosed = errors.New("g711: write after close")

// bufSize is the size of the code buffers: large enough that a 32 KiB
// PCM write becomes one write of codes.
const bufSize = 32 << 10

// Encoder compresses little-endian 16-bit PCM written to it and writes one
// G.711 code per sample to the underlying writer. An odd trailing byte is
// kept until the next Write. Memory use is constant.
type Encoder struct {
	w      io.Writer
	law    Law
	tab    *[encTabLen]byte
	carry  byte
	nCarry int
	closed bool
	out    [bufSize]byte
}

// NewEncoder returns an Encoder for law l writing to w.
func NewEncoder(w io.Writer, l Law) *Encoder {
	return &Encoder{w: w, law: l, tab: l.encTable()}
}

// Write consumes PCM16LE bytes. It returns len(p) unless the underlying
// writer fails.
func (e *Encoder) Write(p []byte) (int, error) {
	if e.closed {
		return 0, ErrClosed
	}
	n := len(p)
	o := 0
	if e.nCarry == 1 && len(p) > 0 {
		e.out[0] = e.tab[encIndex(int16(uint16(e.carry)|uint16(p[0])<<8))]
		o = 1
		p = p[1:]
		e.nCarry = 0
	}
	for len(p) >= 2 {
		m := len(p) / 2
		if m > bufSize-o {
			m = bufSize - o
		}
		encode(e.out[o:o+m], p[:2*m], e.law, e.tab)
		o += m
		p = p[2*m:]
		if o == bufSize {
			if _, err := e.w.Write(e.out[:o]); err != nil {
				return n - len(p), fmt.Errorf("g711: %w", err)
			}
			o = 0
		}
	}
	if len(p) == 1 {
		e.carry = p[0]
		e.nCarry = 1
	}
	if o > 0 {
		if _, err := e.w.Write(e.out[:o]); err != nil {
			return n - len(p), fmt.Errorf("g711: %w", err)
		}
	}
	return n, nil
}

// Close ends the stream. A dangling odd byte (half a sample) is dropped.
// Close does not close the underlying writer.
func (e *Encoder) Close() error {
	e.closed = true
	e.nCarry = 0
	return nil
}

// Decoder expands G.711 codes read from an io.Reader into little-endian
// 16-bit PCM. Memory use is constant.
type Decoder struct {
	r    io.Reader
	tab  *[256]int16
	in   [bufSize]byte
	pend [1]byte // second byte of a sample that did not fit in p
	np   int
	err  error
}

// NewDecoder returns a Decoder for law l reading codes from r.
func NewDecoder(r io.Reader, l Law) *Decoder {
	return &Decoder{r: r, tab: l.decTable()}
}

// Read fills p with PCM16LE samples.
func (d *Decoder) Read(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	n := 0
	if d.np == 1 {
		p[0] = d.pend[0]
		d.np = 0
		n = 1
	}
	for n < len(p) {
		if d.err != nil {
			break
		}
		want := (len(p) - n + 1) / 2
		if want > bufSize {
			want = bufSize
		}
		m, err := d.r.Read(d.in[:want])
		if err != nil {
			d.err = err
		}
		for _, c := range d.in[:m] {
			v := uint16(d.tab[c])
			if n+1 < len(p) {
				p[n] = byte(v)
				p[n+1] = byte(v >> 8)
				n += 2
			} else {
				p[n] = byte(v)
				d.pend[0] = byte(v >> 8)
				d.np = 1
				n++
			}
		}
		if m > 0 {
			break
		}
	}
	if n > 0 {
		return n, nil
	}
	if d.err == io.EOF {
		return 0, io.EOF
	}
	return 0, fmt.Errorf("g711: %w", d.err)
}

// encode writes the code under law l of each PCM16LE sample of in to out
// (len(in) == 2*len(out)): blocks of 16 samples with SIMD where the
// architecture has it (encode_amd64.s), the rest through tab.
func encode(out, in []byte, l Law, tab *[encTabLen]byte) {
	n := encodeSIMD(out, in, l)
	encodeTable(out[n:], in[2*n:], tab)
}

// encodeTable is encode by table lookup, four samples per step from one
// 64-bit load. The table index is encIndex of the sample: bits 2-15 with
// the top bit flipped.
func encodeTable(out, in []byte, tab *[encTabLen]byte) {
	const flip = encTabLen >> 1
	for len(out) >= 4 && len(in) >= 8 {
		v := binary.LittleEndian.Uint64(in)
		out[0] = tab[(v>>2^flip)&(encTabLen-1)]
		out[1] = tab[(v>>18^flip)&(encTabLen-1)]
		out[2] = tab[(v>>34^flip)&(encTabLen-1)]
		out[3] = tab[(v>>50^flip)&(encTabLen-1)]
		out, in = out[4:], in[8:]
	}
	for i := range out {
		if 2*i+1 >= len(in) {
			return
		}
		out[i] = tab[encIndex(int16(uint16(in[2*i])|uint16(in[2*i+1])<<8))]
	}
}
