package codec

import (
	"encoding/binary"
	"fmt"
	"io"
	"math"
)

// sampleKind is a linear sample encoding found in WAV and AU files.
type sampleKind int

const (
	kindU8    sampleKind = iota // WAV 8-bit: unsigned, offset 128
	kindS8                      // AU 8-bit: signed
	kindS16LE                   // WAV 16-bit
	kindS16BE                   // AU 16-bit
	kindS24LE
	kindS24BE
	kindS32LE
	kindS32BE
	kindF32LE
	kindF32BE
	kindF64LE
	kindF64BE
)

// width returns the bytes per sample.
func (k sampleKind) width() int {
	switch k {
	case kindU8, kindS8:
		return 1
	case kindS16LE, kindS16BE:
		return 2
	case kindS24LE, kindS24BE:
		return 3
	case kindS32LE, kindS32BE, kindF32LE, kindF32BE:
		return 4
	}
	return 8
}

// floatToS16 converts a float sample in [-1, 1] to 16 bits, clipping.
func floatToS16(f float64) int16 {
	v := math.Round(f * 32768)
	switch {
	case v >= 32767:
		return 32767
	case v <= -32768:
		return -32768
	case v != v: // NaN
		return 0
	}
	return int16(v)
}

// convert turns one sample at b into a 16-bit value (higher resolutions
// are truncated to their top 16 bits, as sox -D does).
func (k sampleKind) convert(b []byte) int16 {
	switch k {
	case kindU8:
		return int16(int(b[0])-128) << 8
	case kindS8:
		return int16(int8(b[0])) << 8
	case kindS16LE:
		return int16(binary.LittleEndian.Uint16(b))
	case kindS16BE:
		return int16(binary.BigEndian.Uint16(b))
	case kindS24LE:
		return int16(uint16(b[1]) | uint16(b[2])<<8)
	case kindS24BE:
		return int16(uint16(b[1]) | uint16(b[0])<<8)
	case kindS32LE:
		return int16(uint16(b[2]) | uint16(b[3])<<8)
	case kindS32BE:
		return int16(uint16(b[1]) | uint16(b[0])<<8)
	case kindF32LE:
		return floatToS16(float64(math.Float32frombits(binary.LittleEndian.Uint32(b))))
	case kindF32BE:
		return floatToS16(float64(math.Float32frombits(binary.BigEndian.Uint32(b))))
	case kindF64LE:
		return floatToS16(math.Float64frombits(binary.LittleEndian.Uint64(b)))
	}
	return floatToS16(math.Float64frombits(binary.BigEndian.Uint64(b)))
}

const pcmBuf = 8192

// pcmReader converts a stream of linear samples of any kind to PCM16LE.
// A partial sample at the end of the stream is dropped.
type pcmReader struct {
	r    io.Reader
	kind sampleKind
	w    int
	in   [pcmBuf]byte
	nin  int
	out  [2 * pcmBuf]byte
	opos int
	olen int
	err  error
}

func newPCMReader(r io.Reader, k sampleKind) *pcmReader {
	return &pcmReader{r: r, kind: k, w: k.width()}
}

func (c *pcmReader) Read(p []byte) (int, error) {
	for c.opos == c.olen {
		if c.err != nil {
			return 0, c.err
		}
		m, err := c.r.Read(c.in[c.nin:])
		c.nin += m
		if err != nil {
			if err != io.EOF {
				err = fmt.Errorf("codec: %w", err)
			}
			c.err = err
		}
		ns := c.nin / c.w
		for i := 0; i < ns; i++ {
			binary.LittleEndian.PutUint16(c.out[2*i:], uint16(c.kind.convert(c.in[i*c.w:])))
		}
		rest := copy(c.in[:], c.in[ns*c.w:c.nin])
		c.nin = rest
		c.opos, c.olen = 0, 2*ns
	}
	n := copy(p, c.out[c.opos:c.olen])
	c.opos += n
	return n, nil
}

// downmixReader averages interleaved PCM16LE frames of ch channels into
// mono PCM16LE (the same as sox "remix -" / "-c 1").
type downmixReader struct {
	r    io.Reader
	ch   int
	in   [pcmBuf]byte
	nin  int
	out  [pcmBuf]byte
	opos int
	olen int
	err  error
}

func newDownmixReader(r io.Reader, channels int) *downmixReader {
	return &downmixReader{r: r, ch: channels}
}

func (d *downmixReader) Read(p []byte) (int, error) {
	frame := 2 * d.ch
	for d.opos == d.olen {
		if d.err != nil {
			return 0, d.err
		}
		m, err := d.r.Read(d.in[d.nin:])
		d.nin += m
		if err != nil {
			d.err = err
		}
		nf := d.nin / frame
		for i := 0; i < nf; i++ {
			sum := 0
			f := d.in[i*frame : (i+1)*frame]
			for c := 0; c < d.ch; c++ {
				sum += int(int16(binary.LittleEndian.Uint16(f[2*c:])))
			}
			binary.LittleEndian.PutUint16(d.out[2*i:], uint16(int16(sum/d.ch)))
		}
		d.nin = copy(d.in[:], d.in[nf*frame:d.nin])
		d.opos, d.olen = 0, 2*nf
	}
	n := copy(p, d.out[d.opos:d.olen])
	d.opos += n
	return n, nil
}
