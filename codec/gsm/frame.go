package gsm

// Frame and block sizes.
const (
	// FrameSamples is the number of 8 kHz samples in one GSM 06.10 frame (20 ms).
	FrameSamples = 160
	// FrameSize is the size of one raw .gsm frame in bytes (4-bit magic + 260 bits).
	FrameSize = 33
	// BlockSamples is the number of samples in one WAV49 block (two frames).
	BlockSamples = 2 * FrameSamples
	// BlockSize is the size of one WAV49 block in bytes (2 × 260 bits).
	BlockSize = 65

	magic = 0xD // raw .gsm frame signature nibble (libgsm GSM_MAGIC)
)

// params holds the 76 coded parameters of one frame, GSM 06.10 §1.7 table 1.1.
type params struct {
	larc  [8]int16     // LARc[1..8]: log area ratios
	nc    [4]int16     // Nc: LTP lag, per subframe
	bc    [4]int16     // bc: LTP gain
	mc    [4]int16     // Mc: RPE grid position
	xmaxc [4]int16     // xmaxc: block amplitude
	xmc   [4][13]int16 // xMc: RPE pulses
}

// larBits are the widths of LARc[1..8], GSM 06.10 table 1.1.
var larBits = [8]uint{6, 6, 5, 5, 4, 4, 3, 3}

// bitReader reads fields of a fixed-size bit string, either MSB-first
// (raw .gsm) or LSB-first (WAV49), through a 64-bit accumulator.
type bitReader struct {
	b   []byte
	pos uint // next byte to load
	acc uint64
	n   uint // valid bits in acc
	lsb bool
}

// newBitReader starts reading b at bit offset skip (< 8).
func newBitReader(b []byte, lsb bool, skip uint) bitReader {
	r := bitReader{b: b, lsb: lsb}
	if skip > 0 {
		r.get(skip)
	}
	return r
}

func (r *bitReader) get(n uint) int16 {
	for r.n < n {
		var c uint64
		if r.pos < uint(len(r.b)) {
			c = uint64(r.b[r.pos])
		}
		r.pos++
		if r.lsb {
			r.acc |= c << r.n
		} else {
			r.acc = r.acc<<8 | c
		}
		r.n += 8
	}
	mask := uint64(1)<<n - 1
	if r.lsb {
		v := r.acc & mask
		r.acc >>= n
		r.n -= n
		return int16(v)
	}
	r.n -= n
	return int16((r.acc >> r.n) & mask)
}

// bitWriter is the inverse of bitReader; b must be zeroed.
type bitWriter struct {
	b   []byte
	pos uint
	lsb bool
}

func (w *bitWriter) put(v int16, n uint) {
	for i := uint(0); i < n; i++ {
		p := w.pos + i
		if w.lsb {
			w.b[p>>3] |= byte((v>>i)&1) << (p & 7)
		} else {
			w.b[p>>3] |= byte((v>>(n-1-i))&1) << (7 - p&7)
		}
	}
	w.pos += n
}

// unpack reads the 260 parameter bits in the order of GSM 06.10 table 1.1.
func (p *params) unpack(r *bitReader) {
	for i := range p.larc {
		p.larc[i] = r.get(larBits[i])
	}
	for j := 0; j < 4; j++ {
		p.nc[j] = r.get(7)
		p.bc[j] = r.get(2)
		p.mc[j] = r.get(2)
		p.xmaxc[j] = r.get(6)
		for i := range p.xmc[j] {
			p.xmc[j][i] = r.get(3)
		}
	}
}

// pack writes the 260 parameter bits in the order of GSM 06.10 table 1.1.
func (p *params) pack(w *bitWriter) {
	for i := range p.larc {
		w.put(p.larc[i], larBits[i])
	}
	for j := 0; j < 4; j++ {
		w.put(p.nc[j], 7)
		w.put(p.bc[j], 2)
		w.put(p.mc[j], 2)
		w.put(p.xmaxc[j], 6)
		for i := range p.xmc[j] {
			w.put(p.xmc[j][i], 3)
		}
	}
}
