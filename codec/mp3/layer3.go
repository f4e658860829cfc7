package mp3

import (
	"math"
	"sync"
)

// Layer III decoding of one frame's granules (11172-3 §2.4.3.4; 13818-3
// §2.4.3.4 for the lower sampling frequencies and MPEG-2.5): side
// information, scalefactors, Huffman decoding, requantisation, stereo
// processing, reordering, alias reduction, IMDCT and the synthesis filter
// bank. Malformed input never indexes out of range: the bit reader reads
// zeros past its end and every count is clipped.

// chSide is the side information of one granule of one channel.
type chSide struct {
	part23      int
	bigValues   int
	globalGain  int
	sfCompress  int
	winSwitch   bool
	blockType   int
	mixed       bool
	tableSelect [3]int
	subGain     [3]int
	region0     int
	region1     int
	preflag     int
	sfScale     int
	count1Table int
}

// frameSide is the side information of a frame.
type frameSide struct {
	mainDataBegin int
	scfsi         [2][4]int
	gr            [2][2]chSide
}

// hdr is a parsed frame header (11172-3 §2.4.2.3).
type hdr struct {
	v        version
	brIndex  int
	srIndex  int
	pad      int
	mode     int // 0 stereo, 1 joint stereo, 2 dual channel, 3 mono
	modeExt  int
	crc      bool
	channels int
	rate     int
	size     int // frame length in bytes
}

// parseHeader decodes 4 header bytes; ok is false for anything this
// decoder does not take (not Layer III, free format, reserved values).
func parseHeader(b []byte) (h hdr, ok bool) {
	if len(b) < 4 || b[0] != 0xFF || b[1]&0xE0 != 0xE0 {
		return h, false
	}
	h.v = version(b[1] >> 3 & 3)
	if h.v == 1 || (b[1]>>1)&3 != 1 {
		return h, false
	}
	h.crc = b[1]&1 == 0
	h.brIndex = int(b[2] >> 4)
	h.srIndex = int(b[2] >> 2 & 3)
	if h.brIndex == 0 || h.brIndex == 15 || h.srIndex == 3 {
		return h, false
	}
	h.pad = int(b[2] >> 1 & 1)
	h.mode = int(b[3] >> 6)
	h.modeExt = int(b[3] >> 4 & 3)
	h.channels = 2
	if h.mode == 3 {
		h.channels = 1
	}
	h.rate = sampleRates[h.v][h.srIndex]
	lsf := 0
	if h.v.lsf() {
		lsf = 1
	}
	br := bitrates[lsf][h.brIndex] * 1000
	h.size = 576*h.v.granules()/8*br/h.rate + h.pad
	return h, true
}

// sideLen returns the side information length in bytes.
func (h *hdr) sideLen() int {
	switch {
	case !h.v.lsf() && h.channels == 1:
		return 17
	case !h.v.lsf():
		return 32
	case h.channels == 1:
		return 9
	}
	return 17
}

// bitReader reads bits MSB first; past the end it reads zeros.
type bitReader struct {
	b   []byte
	pos int // in bits
}

func (r *bitReader) bits(n int) int {
	v := 0
	for i := 0; i < n; i++ {
		v <<= 1
		if p := r.pos >> 3; p < len(r.b) {
			v |= int(r.b[p]>>(7-uint(r.pos&7))) & 1
		}
		r.pos++
	}
	return v
}

func (r *bitReader) bit() int {
	v := 0
	if p := r.pos >> 3; p < len(r.b) {
		v = int(r.b[p]>>(7-uint(r.pos&7))) & 1
	}
	r.pos++
	return v
}

// parseSide reads the side information (§2.4.1.7).
func parseSide(h *hdr, b []byte) frameSide {
	r := bitReader{b: b}
	var s frameSide
	lsf := h.v.lsf()
	if lsf {
		s.mainDataBegin = r.bits(8)
		r.bits(h.channels) // private_bits
	} else {
		s.mainDataBegin = r.bits(9)
		if h.channels == 1 {
			r.bits(5)
		} else {
			r.bits(3)
		}
		for ch := 0; ch < h.channels; ch++ {
			for i := 0; i < 4; i++ {
				s.scfsi[ch][i] = r.bit()
			}
		}
	}
	for g := 0; g < h.v.granules(); g++ {
		for ch := 0; ch < h.channels; ch++ {
			c := &s.gr[g][ch]
			c.part23 = r.bits(12)
			c.bigValues = min(r.bits(9), 288)
			c.globalGain = r.bits(8)
			if lsf {
				c.sfCompress = r.bits(9)
			} else {
				c.sfCompress = r.bits(4)
			}
			c.winSwitch = r.bit() == 1
			if c.winSwitch {
				c.blockType = r.bits(2)
				c.mixed = r.bit() == 1
				c.tableSelect[0] = r.bits(5)
				c.tableSelect[1] = r.bits(5)
				for w := 0; w < 3; w++ {
					c.subGain[w] = r.bits(3)
				}
				if c.blockType == 0 { // forbidden; treat as normal
					c.blockType = 1
				}
				c.region0, c.region1 = 7, 36
				if c.blockType == 2 && !c.mixed {
					c.region0 = 8
				}
			} else {
				for i := 0; i < 3; i++ {
					c.tableSelect[i] = r.bits(5)
				}
				c.region0 = r.bits(4)
				c.region1 = r.bits(3)
			}
			if !lsf {
				c.preflag = r.bit()
			}
			c.sfScale = r.bit()
			c.count1Table = r.bit()
		}
	}
	return s
}

// scalefactors of one granule and channel: long bands, short bands per
// window, and the largest value per band (the "illegal" intensity
// position of 13818-3 §2.4.3.2).
type scalefactors struct {
	l    [22]int
	s    [13][3]int
	lMax [22]int
	sMax [13]int
}

// readScalefactorsMPEG1 reads part 2 of an MPEG-1 granule (§2.4.2.7),
// reusing the first granule's values where scfsi says so.
func readScalefactorsMPEG1(r *bitReader, c *chSide, scfsi *[4]int, g int, sf *scalefactors) {
	s1, s2 := slen1[c.sfCompress], slen2[c.sfCompress]
	if c.winSwitch && c.blockType == 2 {
		sfb := 0
		if c.mixed {
			for ; sfb < 8; sfb++ {
				sf.l[sfb] = r.bits(s1)
			}
			sfb = 3
		}
		for ; sfb < 12; sfb++ {
			n := s1
			if sfb >= 6 {
				n = s2
			}
			for w := 0; w < 3; w++ {
				sf.s[sfb][w] = r.bits(n)
			}
		}
		return
	}
	groups := [5]int{0, 6, 11, 16, 21}
	for i := 0; i < 4; i++ {
		if g == 1 && scfsi[i] == 1 {
			continue // keep the first granule's
		}
		n := s1
		if i >= 2 {
			n = s2
		}
		for sfb := groups[i]; sfb < groups[i+1]; sfb++ {
			sf.l[sfb] = r.bits(n)
		}
	}
}

// readScalefactorsLSF reads part 2 of an MPEG-2 granule (13818-3
// §2.4.3.2); isRight marks the intensity-coded right channel.
func readScalefactorsLSF(r *bitReader, c *chSide, isRight bool, sf *scalefactors) (intensityScale int) {
	var slen [4]int
	row := 0
	sfc := c.sfCompress
	if !isRight {
		switch {
		case sfc < 400:
			slen = [4]int{(sfc >> 4) / 5, (sfc >> 4) % 5, sfc % 16 >> 2, sfc % 4}
		case sfc < 500:
			x := sfc - 400
			slen = [4]int{(x >> 2) / 5, (x >> 2) % 5, x % 4, 0}
			row = 1
		default:
			x := sfc - 500
			slen = [4]int{x / 3, x % 3, 0, 0}
			row = 2
			c.preflag = 1
		}
	} else {
		intensityScale = sfc & 1
		x := sfc >> 1
		switch {
		case x < 180:
			slen = [4]int{x / 36, x % 36 / 6, x % 36 % 6, 0}
			row = 3
		case x < 244:
			x -= 180
			slen = [4]int{x % 64 >> 4, x % 16 >> 2, x % 4, 0}
			row = 4
		default:
			x -= 244
			slen = [4]int{x / 3, x % 3, 0, 0}
			row = 5
		}
	}
	blocks := 0
	if c.winSwitch && c.blockType == 2 {
		blocks = 1
		if c.mixed {
			blocks = 2
		}
	}
	nr := nrOfSfb[row][blocks]
	// Read the values in band order into a flat list, then place them.
	var vals [39]int
	var maxv [39]int
	k := 0
	for i := 0; i < 4; i++ {
		for j := 0; j < nr[i] && k < len(vals); j++ {
			vals[k] = r.bits(slen[i])
			maxv[k] = 1<<slen[i] - 1
			k++
		}
	}
	switch blocks {
	case 0:
		for sfb := 0; sfb < 21; sfb++ {
			sf.l[sfb], sf.lMax[sfb] = vals[sfb], maxv[sfb]
		}
	case 1:
		for i := 0; i < 36; i++ {
			sf.s[i/3][i%3], sf.sMax[i/3] = vals[i], maxv[i]
		}
	case 2:
		for sfb := 0; sfb < 6; sfb++ {
			sf.l[sfb], sf.lMax[sfb] = vals[sfb], maxv[sfb]
		}
		for i := 0; i+6 < len(vals) && 3+i/3 < 12; i++ {
			sf.s[3+i/3][i%3], sf.sMax[3+i/3] = vals[6+i], maxv[6+i]
		}
	}
	return intensityScale
}

// huffTree is a decoding tree: node i has children tree[i][0] and
// tree[i][1]; a negative child -1-v is a leaf with value v.
type huffTree [][2]int32

func buildTree(codes []hcode) huffTree {
	t := huffTree{{0, 0}}
	for v, c := range codes {
		n := int32(0)
		for i := int(c.len) - 1; i >= 0; i-- {
			bit := c.code >> uint(i) & 1
			if i == 0 {
				t[n][bit] = -1 - int32(v)
				break
			}
			if t[n][bit] == 0 {
				t = append(t, [2]int32{})
				t[n][bit] = int32(len(t) - 1)
			}
			n = t[n][bit]
		}
	}
	return t
}

// decode walks the tree; the second result is false for a code that
// leads nowhere (a malformed stream).
func (t huffTree) decode(r *bitReader) (int, bool) {
	n := int32(0)
	for depth := 0; depth < 32; depth++ {
		c := t[n][r.bit()]
		if c < 0 {
			return int(-1 - c), true
		}
		if c == 0 {
			return 0, false
		}
		n = c
	}
	return 0, false
}

// decoderTables are the shared read-only tables of the decoder.
type decoderTables struct {
	trees   [32]huffTree
	quads   [2]huffTree
	pow43   []float64 // i^(4/3), i = 0..maxIx
	imdctL  [36][18]float64
	imdctS  [12][6]float64
	windows [4][36]float64
	dct     *dct32
}

// sharedDecoderTables builds the decoder tables once per process; every
// Reader shares them (they are never written after construction).
var sharedDecoderTables = sync.OnceValue(newDecoderTables)

func newDecoderTables() *decoderTables {
	d := &decoderTables{dct: newDCT32()}
	for i, h := range huffTables {
		if h.tab != nil && (i < 16 || i == 16 || i == 24) {
			d.trees[i] = buildTree(h.tab)
		}
	}
	for i := 17; i < 24; i++ {
		d.trees[i] = d.trees[16]
	}
	for i := 25; i < 32; i++ {
		d.trees[i] = d.trees[24]
	}
	d.quads[0] = buildTree(htab32[:])
	d.quads[1] = buildTree(htab33[:])
	d.pow43 = make([]float64, maxIx+1)
	for i := range d.pow43 {
		d.pow43[i] = math.Pow(float64(i), 4.0/3)
	}
	for i := 0; i < 36; i++ {
		for k := 0; k < 18; k++ {
			d.imdctL[i][k] = math.Cos(math.Pi / 72 * float64((2*i+1+18)*(2*k+1)))
		}
	}
	for i := 0; i < 12; i++ {
		for k := 0; k < 6; k++ {
			d.imdctS[i][k] = math.Cos(math.Pi / 24 * float64((2*i+1+6)*(2*k+1)))
		}
	}
	// Windows of §2.4.3.4.10.3: block types 0 (normal), 1 (start),
	// 2 (short, per 12-sample window), 3 (stop).
	for i := 0; i < 36; i++ {
		d.windows[0][i] = math.Sin(math.Pi / 36 * (float64(i) + 0.5))
	}
	for i := 0; i < 18; i++ {
		d.windows[1][i] = d.windows[0][i]
	}
	for i := 18; i < 24; i++ {
		d.windows[1][i] = 1
	}
	for i := 24; i < 30; i++ {
		d.windows[1][i] = math.Sin(math.Pi / 12 * (float64(i-18) + 0.5))
	}
	for i := 0; i < 12; i++ {
		d.windows[2][i] = math.Sin(math.Pi / 12 * (float64(i) + 0.5))
	}
	for i := 6; i < 12; i++ {
		d.windows[3][i] = math.Sin(math.Pi / 12 * (float64(i-6) + 0.5))
	}
	for i := 12; i < 18; i++ {
		d.windows[3][i] = 1
	}
	for i := 18; i < 36; i++ {
		d.windows[3][i] = d.windows[0][i]
	}
	return d
}

// chState is the per-channel state carried between granules.
type chState struct {
	overlap [32][18]float64
	syn     synthesis
	sf      scalefactors // kept for MPEG-1 scfsi
}

// huffmanDecode reads part 3 of a granule into is (signed values) and
// returns the index after the last value decoded (rzero starts there).
func (d *decoderTables) huffmanDecode(r *bitReader, end int, c *chSide, h *hdr, is *[576]int32) int {
	for i := range is {
		is[i] = 0
	}
	bv := 2 * c.bigValues
	var r1, r2 int
	sfl := &sfbLong[h.v][h.srIndex]
	if c.winSwitch {
		if c.blockType == 2 && !c.mixed {
			r1 = 3 * sfbShort[h.v][h.srIndex][3]
		} else {
			r1 = sfl[8]
		}
		r2 = 576
	} else {
		r1 = sfl[min(c.region0+1, 22)]
		r2 = sfl[min(c.region0+c.region1+2, 22)]
	}
	r1, r2 = min(r1, bv), min(r2, bv)
	i := 0
	for i < bv && r.pos < end {
		t := c.tableSelect[2]
		if i < r1 {
			t = c.tableSelect[0]
		} else if i < r2 {
			t = c.tableSelect[1]
		}
		if t == 0 || d.trees[t] == nil {
			is[i], is[i+1] = 0, 0
			i += 2
			continue
		}
		v, ok := d.trees[t].decode(r)
		if !ok {
			return i
		}
		lb := huffTables[t].linbits
		dim := huffTables[t].dim
		x, y := int32(v/dim), int32(v%dim)
		if lb > 0 && x == 15 {
			x += int32(r.bits(lb))
		}
		if x != 0 && r.bit() == 1 {
			x = -x
		}
		if lb > 0 && y == 15 {
			y += int32(r.bits(lb))
		}
		if y != 0 && r.bit() == 1 {
			y = -y
		}
		is[i], is[i+1] = x, y
		i += 2
	}
	q := d.quads[c.count1Table]
	for i+4 <= 576 && r.pos < end {
		v, ok := q.decode(r)
		if !ok {
			break
		}
		for j := 0; j < 4; j++ {
			if v>>(3-uint(j))&1 == 1 {
				val := int32(1)
				if r.bit() == 1 {
					val = -1
				}
				is[i+j] = val
			}
		}
		i += 4
	}
	if r.pos > end && i >= 4 {
		// The last quadruple ran past part2_3_length: discard it
		// (as ISO's reference decoder does).
		i -= 4
		for j := 0; j < 4; j++ {
			is[i+j] = 0
		}
	}
	return i
}

// requantize computes xr from is (§2.4.3.4.7).
func (d *decoderTables) requantize(c *chSide, sf *scalefactors, h *hdr, is *[576]int32, xr *[576]float64, n int) {
	sfMult := 0.5 * float64(1+c.sfScale)
	gain := float64(c.globalGain - 210)
	sfl := &sfbLong[h.v][h.srIndex]
	sfs := &sfbShort[h.v][h.srIndex]
	for i := range xr {
		xr[i] = 0
	}
	pow := func(v int32, exp float64) float64 {
		a := v
		if a < 0 {
			a = -a
		}
		if a > maxIx {
			a = maxIx
		}
		x := d.pow43[a] * math.Exp2(exp)
		if v < 0 {
			return -x
		}
		return x
	}
	longEnd := 576
	if c.winSwitch && c.blockType == 2 {
		longEnd = 0
		if c.mixed {
			longEnd = sfl[8]
			if h.v.lsf() {
				longEnd = sfl[6]
			}
		}
	}
	sfb := 0
	for i := 0; i < min(n, longEnd); i++ {
		for sfb < 21 && i >= sfl[sfb+1] {
			sfb++
		}
		if is[i] == 0 {
			continue
		}
		s := sf.l[sfb]
		if c.preflag == 1 {
			s += pretab[sfb]
		}
		xr[i] = pow(is[i], gain/4-sfMult*float64(s))
	}
	if longEnd < 576 {
		// Short bands: in the bitstream band by band, window by window.
		start := 0
		if c.mixed {
			start = 3
		}
		i := longEnd
		for sb := start; sb < 13 && i < n; sb++ {
			width := sfs[sb+1] - sfs[sb]
			for w := 0; w < 3; w++ {
				s := 0
				if sb < 12 {
					s = sf.s[sb][w]
				}
				exp := (gain-8*float64(c.subGain[w]))/4 - sfMult*float64(s)
				for j := 0; j < width && i < 576; j++ {
					if is[i] != 0 {
						xr[i] = pow(is[i], exp)
					}
					i++
				}
			}
		}
	}
}

// reorder puts short-block lines from band/window/frequency order into
// the subband/window/frequency order of the IMDCT: xr[18sb+6w+f] holds
// window w's line 6sb+f.
func reorder(c *chSide, h *hdr, xr *[576]float64) {
	if !c.winSwitch || c.blockType != 2 {
		return
	}
	sfs := &sfbShort[h.v][h.srIndex]
	var tmp [576]float64
	start, sb0 := 0, 0
	if c.mixed {
		sb0 = 3
		start = 3 * sfs[3]
		copy(tmp[:36], xr[:36])
	}
	i := start
	for sb := sb0; sb < 13; sb++ {
		width := sfs[sb+1] - sfs[sb]
		for w := 0; w < 3; w++ {
			for j := 0; j < width; j++ {
				f := sfs[sb] + j // frequency within the window
				dst := 18*(f/6) + 6*w + f%6
				if dst < 576 && i < 576 {
					tmp[dst] = xr[i]
				}
				i++
			}
		}
	}
	if c.mixed {
		// Subbands 0 and 1 stay long; the short part starts at line 36.
		for k := 36; k < 576; k++ {
			xr[k] = tmp[k]
		}
		return
	}
	*xr = tmp
}

// antialias applies the decoder butterflies (§2.4.3.4.9).
func antialias(c *chSide, xr *[576]float64) {
	bands := 32
	if c.winSwitch && c.blockType == 2 {
		if !c.mixed {
			return
		}
		bands = 2
	}
	for sb := 1; sb < bands; sb++ {
		for i := 0; i < 8; i++ {
			bu, bd := xr[18*sb-1-i], xr[18*sb+i]
			xr[18*sb-1-i] = bu*aliasCs[i] - bd*aliasCa[i]
			xr[18*sb+i] = bd*aliasCs[i] + bu*aliasCa[i]
		}
	}
}

// hybrid runs the IMDCT with windowing and overlap-add and the frequency
// inversion, leaving 18 time samples per subband in out (§2.4.3.4.10).
func (d *decoderTables) hybrid(c *chSide, st *chState, xr *[576]float64, out *[32][18]float64) {
	for sb := 0; sb < 32; sb++ {
		bt := c.blockType
		if !c.winSwitch || (c.mixed && sb < 2) {
			bt = 0
		}
		var y [36]float64
		x := xr[18*sb : 18*sb+18]
		if bt == 2 {
			for w := 0; w < 3; w++ {
				for i := 0; i < 12; i++ {
					var s float64
					row := &d.imdctS[i]
					for k := 0; k < 6; k++ {
						s += row[k] * x[6*w+k]
					}
					y[6+6*w+i] += s * d.windows[2][i]
				}
			}
		} else {
			nz := false
			for _, v := range x {
				if v != 0 {
					nz = true
					break
				}
			}
			if nz {
				win := &d.windows[bt]
				for i := 0; i < 36; i++ {
					var s float64
					row := &d.imdctL[i]
					for k := 0; k < 18; k++ {
						s += row[k] * x[k]
					}
					y[i] = s * win[i]
				}
			}
		}
		ov := &st.overlap[sb]
		for i := 0; i < 18; i++ {
			out[sb][i] = y[i] + ov[i]
			ov[i] = y[18+i]
		}
		if sb&1 == 1 {
			for i := 1; i < 18; i += 2 {
				out[sb][i] = -out[sb][i]
			}
		}
	}
}

// stereo undoes mid/side and intensity stereo in place (§2.4.3.4.9.2,
// 13818-3 §2.4.3.2). n is the number of decoded lines per channel.
func stereo(h *hdr, c *[2]chSide, sf *[2]scalefactors, isScale int, xr *[2][576]float64, n [2]int) {
	if h.mode != 1 || h.channels != 2 {
		return
	}
	ms := h.modeExt&2 != 0
	intensity := h.modeExt&1 != 0
	isStart := 576
	isPos := func(int) (int, bool) { return 0, false }
	if intensity {
		// Intensity stereo above the last non-zero right-channel line,
		// in whole scalefactor bands (long blocks; short blocks use the
		// same bound, per band of the last window with content).
		last := -1
		for i := 575; i >= 0; i-- {
			if xr[1][i] != 0 {
				last = i
				break
			}
		}
		long := !(c[1].winSwitch && c[1].blockType == 2)
		sfl := &sfbLong[h.v][h.srIndex]
		if long {
			sfb := 0
			for sfb < 22 && sfl[sfb] <= last {
				sfb++
			}
			isStart = sfl[min(sfb, 22)]
			isPos = func(i int) (int, bool) {
				b := 0
				for b < 21 && i >= sfl[b+1] {
					b++
				}
				p := sf[1].l[min(b, 20)]
				if b == 21 {
					p = sf[1].l[20] // band 21 uses band 20's position
				}
				if !h.v.lsf() {
					return p, p != 7
				}
				mx := sf[1].lMax[min(b, 20)]
				return p, p != mx
			}
		} else {
			// Short blocks: the lines are already in IMDCT order; treat
			// the whole granule above the bound per 6-line group.
			isStart = 576 // intensity on short blocks is left coded as plain stereo
		}
	}
	for i := 0; i < 576; i++ {
		l, r := xr[0][i], xr[1][i]
		if i >= isStart {
			if p, ok := isPos(i); ok {
				if !h.v.lsf() {
					ratio := math.Tan(float64(p) * math.Pi / 12)
					kl, kr := ratio/(1+ratio), 1/(1+ratio)
					if p == 6 {
						kl, kr = 1, 0
					}
					xr[0][i], xr[1][i] = l*kl, l*kr
				} else {
					i0 := math.Pow(2, -0.25)
					if isScale == 1 {
						i0 = math.Sqrt(0.5)
					}
					if p&1 == 1 {
						xr[0][i], xr[1][i] = l*math.Pow(i0, float64(p+1)/2), l
					} else {
						xr[0][i], xr[1][i] = l, l*math.Pow(i0, float64(p)/2)
					}
				}
				continue
			}
		}
		if ms {
			xr[0][i], xr[1][i] = (l+r)*math.Sqrt2/2, (l-r)*math.Sqrt2/2
		}
	}
	_ = n
}
