package mp3

// Huffman coding of the quantised spectrum (11172-3 §2.4.2.7, §2.4.3.4.3,
// Annex C.1.5.4.4): big_values pairs in up to three regions, each with its
// own table, then quadruples of values 0/±1 (count1), then zeros (rzero).

// maxIx is the largest quantised magnitude Layer III can code: 15 plus
// 13 linbits.
const maxIx = 15 + 1<<13 - 1

// pairLen[t][x<<4|y] is the length in bits of the pair (x, y), x and y
// clipped to 15, in table t including sign bits and linbits: what a pair
// costs. Built from the code tables.
type lengthTables struct {
	pair  [32][256]uint8
	quadA [16]uint8 // with sign bits
	quadB [16]uint8
}

func newLengthTables() *lengthTables {
	lt := &lengthTables{}
	for t, h := range huffTables {
		if h.tab == nil {
			continue
		}
		for x := 0; x < h.dim; x++ {
			for y := 0; y < h.dim; y++ {
				n := int(h.tab[x*h.dim+y].len)
				for _, v := range [2]int{x, y} {
					if v != 0 {
						n++
					}
					if v == 15 && h.linbits > 0 {
						n += h.linbits
					}
				}
				lt.pair[t][x<<4|y] = uint8(n)
			}
		}
	}
	for q := 0; q < 16; q++ {
		signs := uint8(q&1 + q>>1&1 + q>>2&1 + q>>3&1)
		lt.quadA[q] = htab32[q].len + signs
		lt.quadB[q] = htab33[q].len + signs
	}
	return lt
}

// tableCandidates lists the tables that can code pairs whose largest
// magnitude is max, by max up to 15; larger values use the linbits
// tables chosen by escapeTables.
var tableCandidates = [16][]int{
	0:  {0},
	1:  {1},
	2:  {2, 3},
	3:  {5, 6},
	4:  {7, 8, 9},
	5:  {7, 8, 9},
	6:  {10, 11, 12},
	7:  {10, 11, 12},
	8:  {13, 15},
	9:  {13, 15},
	10: {13, 15},
	11: {13, 15},
	12: {13, 15},
	13: {13, 15},
	14: {13, 15},
	15: {13, 15},
}

// escapeTables returns the tables of the 16 and 24 families with the
// fewest linbits that still code max (> 15).
func escapeTables(max int32) (a, b int) {
	a, b = -1, -1
	for t := 16; t < 24; t++ {
		if int32(15+1<<huffTables[t].linbits-1) >= max {
			a = t
			break
		}
	}
	for t := 24; t < 32; t++ {
		if int32(15+1<<huffTables[t].linbits-1) >= max {
			b = t
			break
		}
	}
	return a, b
}

// regionMax returns the largest magnitude in ix[from:to].
func regionMax(ix []int32) int32 {
	var m int32
	for _, v := range ix {
		if v > m {
			m = v
		}
	}
	return m
}

// pairBits returns the bits of ix[from:to] (an even count of magnitudes)
// in table t.
func (lt *lengthTables) pairBits(ix []int32, t int) int {
	if t == 0 {
		return 0
	}
	p := &lt.pair[t]
	n := 0
	for i := 0; i+1 < len(ix); i += 2 {
		x, y := ix[i], ix[i+1]
		if x > 15 {
			x = 15
		}
		if y > 15 {
			y = 15
		}
		n += int(p[x<<4|y])
	}
	return n
}

// bestTable picks the cheapest table for the magnitudes ix and returns it
// with its cost.
func (lt *lengthTables) bestTable(ix []int32) (table, bits int) {
	m := regionMax(ix)
	if m == 0 {
		return 0, 0
	}
	var cands []int
	var esc [2]int
	if m <= 15 {
		cands = tableCandidates[m]
	} else {
		esc[0], esc[1] = escapeTables(m)
		cands = esc[:]
	}
	table, bits = -1, 1<<30
	for _, t := range cands {
		if t < 0 {
			continue
		}
		if b := lt.pairBits(ix, t); b < bits {
			table, bits = t, b
		}
	}
	return table, bits
}

// count1Bits returns the cost of ix (magnitudes 0/1, a multiple of 4 in
// length) in tables A and B.
func (lt *lengthTables) count1Bits(ix []int32) (a, b int) {
	for i := 0; i+3 < len(ix); i += 4 {
		q := ix[i]<<3 | ix[i+1]<<2 | ix[i+2]<<1 | ix[i+3]
		a += int(lt.quadA[q])
		b += int(lt.quadB[q])
	}
	return a, b
}

// bitWriter appends bits MSB first to a byte slice.
type bitWriter struct {
	buf  []byte
	acc  uint64
	nacc uint
}

// put writes the n (≤ 32) low bits of v.
func (w *bitWriter) put(v uint32, n uint) {
	if n == 0 {
		return
	}
	w.acc = w.acc<<n | uint64(v)&(1<<n-1)
	w.nacc += n
	for w.nacc >= 8 {
		w.nacc -= 8
		w.buf = append(w.buf, byte(w.acc>>w.nacc))
	}
}

// flush pads the last byte with zero bits.
func (w *bitWriter) flush() {
	if w.nacc > 0 {
		w.put(0, 8-w.nacc)
	}
}

// writePairs codes the pairs of ix (magnitudes) with signs from sign in
// table t.
func writePairs(w *bitWriter, ix []int32, neg []bool, t int) {
	if t == 0 {
		return
	}
	h := &huffTables[t]
	for i := 0; i+1 < len(ix); i += 2 {
		x, y := ix[i], ix[i+1]
		cx, cy := min(x, 15), min(y, 15)
		c := h.tab[int(cx)*h.dim+int(cy)]
		w.put(c.code, uint(c.len))
		if h.linbits > 0 && cx == 15 {
			w.put(uint32(x-15), uint(h.linbits))
		}
		if x != 0 {
			w.put(b2u(neg[i]), 1)
		}
		if h.linbits > 0 && cy == 15 {
			w.put(uint32(y-15), uint(h.linbits))
		}
		if y != 0 {
			w.put(b2u(neg[i+1]), 1)
		}
	}
}

// writeQuads codes the count1 region ix with table tab.
func writeQuads(w *bitWriter, ix []int32, neg []bool, tab *[16]hcode) {
	for i := 0; i+3 < len(ix); i += 4 {
		c := tab[ix[i]<<3|ix[i+1]<<2|ix[i+2]<<1|ix[i+3]]
		w.put(c.code, uint(c.len))
		for j := i; j < i+4; j++ {
			if ix[j] != 0 {
				w.put(b2u(neg[j]), 1)
			}
		}
	}
}

func b2u(b bool) uint32 {
	if b {
		return 1
	}
	return 0
}
