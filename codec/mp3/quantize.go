package mp3

import (
	"math"
	"sync"
)

// Quantisation and rate control (11172-3 §2.4.3.4.7 for the
// requantisation rule the decoder applies, Annex C.1.5.4 for the loops).
//
// The decoder reconstructs xr = sign·|ix|^(4/3)·2^((global_gain-210)/4)
// (no scalefactors here), so the encoder quantises
// ix = ⌊(|xr|/step)^(3/4) + 0.4054⌋ with step = 2^((global_gain-210)/4);
// 0.4054 puts the 0/1 decision at the linear midpoint 0.5^(3/4).
//
// Rate control aims at a waveform-fidelity target rather than a masking
// threshold: every coded line gets the same quantiser (which minimises the
// mean squared error for a given rate, "reverse water-filling"), and the
// granule's global_gain is the coarsest one whose in-band signal-to-noise
// ratio reaches a running target; the target rises while the bit
// reservoir fills and falls while it drains, which spends the bits of
// quiet and simple granules on busy ones. The bit budget of the granule
// (its share of the frame plus the reservoir) is a hard limit.

// quantTables are the read-only tables of rate control, built once per
// process and shared by every Writer.
type quantTables struct {
	lt    *lengthTables
	qf    [256]float64 // step^(-3/4) per global_gain
	step  [256]float64 // step per global_gain
	pow43 []float64    // i^(4/3), i = 0..maxIx+1
	mid   []float64    // mid[k]: the (3/4)-power of the linear midpoint of k and k+1
}

var sharedQuantTables = sync.OnceValue(func() *quantTables {
	t := &quantTables{lt: newLengthTables()}
	for g := range t.qf {
		t.qf[g] = math.Pow(2, -0.1875*float64(g-210))
		t.step[g] = math.Pow(2, 0.25*float64(g-210))
	}
	t.pow43 = make([]float64, maxIx+2)
	for i := range t.pow43 {
		t.pow43[i] = math.Pow(float64(i), 4.0/3)
	}
	t.mid = make([]float64, maxIx+1)
	for k := range t.mid {
		t.mid[k] = math.Pow((t.pow43[k]+t.pow43[k+1])/2, 0.75)
	}
	return t
})

// quantizer holds the tables and per-granule work buffers of rate control.
type quantizer struct {
	*quantTables
	sfb   *[23]int // long-block band boundaries of the stream's rate
	end   int      // lines coded: the lowpass, rounded up to a pair
	avoid int      // band index never used as a region boundary, or -1

	xr34 [576]float64 // |xr|^(3/4)
	axr  [576]float64 // |xr|
	neg  [576]bool    // sign of xr
	ix   [576]int32   // quantised magnitudes
}

func newQuantizer(sfb *[23]int, end int) *quantizer {
	q := &quantizer{quantTables: sharedQuantTables(), sfb: sfb, end: end, avoid: -1}
	if sfb[18] == 332 && sfb[17] == 278 {
		// 24 kHz: libavcodec (ffmpeg, Chromium) has bands 17 and 18 as
		// 52 and 64 lines wide, boundary 330, where the standard's table
		// (and mpg123, LAME, this package) has 54 and 62, boundary 332.
		// A Huffman region boundary there would decode differently, so
		// the encoder never puts one there. Scalefactors are not
		// affected: this encoder sends none.
		q.avoid = 18
	}
	return q
}

// granule is the side information of one coded granule (§2.4.1.7).
type granule struct {
	part23      int // part2_3_length: scalefactor plus Huffman bits
	bigValues   int
	globalGain  int
	sfCompress  int
	tableSelect [3]int
	region0     int
	region1     int
	count1Table int
	count1      int // quadruples in the count1 region
}

// load prepares xr for quantisation and returns its energy in the coded
// band.
func (q *quantizer) load(xr []float64) (energy float64) {
	for i := 0; i < q.end; i++ {
		v := xr[i]
		q.neg[i] = v < 0
		a := math.Abs(v)
		q.axr[i] = a
		q.xr34[i] = math.Sqrt(a * math.Sqrt(a))
		energy += a * a
	}
	return energy
}

// quantize fills ix for global_gain g and reports whether every value is
// codable.
func (q *quantizer) quantize(g int) bool {
	f := q.qf[g]
	ok := true
	for i := 0; i < q.end; i++ {
		v := q.xr34[i] * f
		if v >= maxIx {
			ok = ok && v < q.mid[maxIx]
			q.ix[i] = maxIx
			continue
		}
		k := int32(v)
		if v >= q.mid[k] {
			k++
		}
		q.ix[i] = k
	}
	return ok
}

// noise returns the squared error of the quantised lines.
func (q *quantizer) noise(g int) float64 {
	s := q.step[g]
	var n float64
	for i := 0; i < q.end; i++ {
		e := q.axr[i] - q.pow43[q.ix[i]]*s
		n += e * e
	}
	return n
}

// partition finds the rzero, count1 and big_values regions of ix
// (Annex C.1.5.4.4.1) and returns the count1 start and end (both in lines).
func (q *quantizer) partition() (bvEnd, c1End int) {
	i := q.end
	for i > 1 && q.ix[i-1] == 0 && q.ix[i-2] == 0 {
		i -= 2
	}
	if i&1 == 1 { // q.end is even, but keep the pair rule regardless
		i++
	}
	c1End = i
	for i > 3 && q.ix[i-1] <= 1 && q.ix[i-2] <= 1 && q.ix[i-3] <= 1 && q.ix[i-4] <= 1 {
		i -= 4
	}
	return i, c1End
}

// search picks global_gain for the loaded granule: the coarsest quantiser
// that reaches the noise target, unless that needs more than avail bits,
// then the finest one that fits (Annex C.1.5.4.3's inner loop as a
// bisection). It leaves ix quantised with the result and gr describing
// it, region split searched.
func (q *quantizer) search(gr *granule, target float64, avail int) int {
	var peak float64
	for _, v := range q.xr34[:q.end] {
		peak = max(peak, v)
	}
	// Smallest gain with every value codable: peak·qf[g] < mid[maxIx].
	gmin := int(math.Ceil(210 - math.Log2((maxIx-0.5)/peak)/0.1875))
	gmin = min(max(gmin, 0), 255)
	lo, hi := gmin, 255
	if q.quantize(lo); q.noise(lo) > target {
		hi = lo
	}
	for lo < hi {
		m := (lo + hi + 1) / 2
		q.quantize(m)
		if q.noise(m) <= target {
			lo = m
		} else {
			hi = m - 1
		}
	}
	g := lo
	q.quantize(g)
	if q.bits(gr, false) <= avail {
		q.bits(gr, true)
		return g
	}
	// Finest gain that fits with the fixed region split.
	lo, hi = g+1, 255
	for lo < hi {
		m := (lo + hi) / 2
		q.quantize(m)
		if q.bits(gr, false) <= avail {
			hi = m
		} else {
			lo = m + 1
		}
	}
	g = lo
	q.quantize(g)
	q.bits(gr, true)
	// The searched region split is cheaper than the fixed one: try finer
	// steps while they fit.
	for g > gmin {
		var try granule
		q.quantize(g - 1)
		if q.bits(&try, true) > avail {
			q.quantize(g)
			break
		}
		g--
		*gr = try
	}
	return g
}

// bits counts the Huffman bits of ix into gr. With best, the region split
// is searched; otherwise a fixed split is used (cheap, for the loops).
func (q *quantizer) bits(gr *granule, best bool) int {
	bvEnd, c1End := q.partition()
	if bvEnd > 576 || c1End > 576 {
		panic("mp3: partition out of range")
	}
	gr.bigValues = bvEnd / 2
	gr.count1 = (c1End - bvEnd) / 4
	a, b := q.lt.count1Bits(q.ix[bvEnd:c1End])
	n := a
	gr.count1Table = 0
	if b < a {
		n, gr.count1Table = b, 1
	}
	if best {
		n += q.bestSplit(gr, bvEnd)
	} else {
		n += q.fixedSplit(gr, bvEnd)
	}
	gr.part23 = n
	return n
}

// bandsBelow returns the number of scalefactor bands starting below end.
func (q *quantizer) bandsBelow(end int) int {
	nb := 0
	for nb < 22 && q.sfb[nb] < end {
		nb++
	}
	return nb
}

// fixedSplit codes the big_values region with region boundaries at about
// a third and two thirds of its bands.
func (q *quantizer) fixedSplit(gr *granule, bvEnd int) int {
	if bvEnd == 0 {
		gr.region0, gr.region1, gr.tableSelect = 0, 0, [3]int{}
		return 0
	}
	nb := q.bandsBelow(bvEnd)
	a := min(max(nb/3, 1), 16)
	if a == q.avoid {
		a--
	}
	b := min(max(2*nb/3, a+1), a+8, 22)
	if b == q.avoid {
		b--
		if b == a {
			b += 2
		}
	}
	gr.region0, gr.region1 = a-1, b-a-1
	return q.regionBits(gr, bvEnd)
}

// regionBits chooses the best table for each region of gr and returns
// the big_values bits.
func (q *quantizer) regionBits(gr *granule, bvEnd int) int {
	s1 := min(q.sfb[gr.region0+1], bvEnd)
	s2 := min(q.sfb[gr.region0+gr.region1+2], bvEnd)
	n := 0
	for r, lim := range [3][2]int{{0, s1}, {s1, s2}, {s2, bvEnd}} {
		t, b := q.lt.bestTable(q.ix[lim[0]:lim[1]])
		gr.tableSelect[r] = t
		n += b
	}
	return n
}

// bestSplit searches region0_count and region1_count for the fewest
// big_values bits (Annex C.1.5.4.4.5 leaves the choice to the encoder).
func (q *quantizer) bestSplit(gr *granule, bvEnd int) int {
	if bvEnd == 0 {
		gr.region0, gr.region1, gr.tableSelect = 0, 0, [3]int{}
		return 0
	}
	nb := q.bandsBelow(bvEnd)
	// cost[b][t]: bits of band b (clipped to bvEnd) in table t, or
	// impossible; band maxima decide which tables are possible.
	const impossible = 1 << 24
	var bandMax [22]int32
	var cost [22][32]int32
	for b := 0; b < nb; b++ {
		lo, hi := q.sfb[b], min(q.sfb[b+1], bvEnd)
		band := q.ix[lo:hi]
		m := regionMax(band)
		bandMax[b] = m
		for t := range huffTables {
			h := &huffTables[t]
			switch {
			case t == 0:
				if m == 0 {
					cost[b][t] = 0
				} else {
					cost[b][t] = impossible
				}
			case h.tab == nil, h.linbits == 0 && m >= int32(h.dim), h.linbits > 0 && m > int32(15+1<<h.linbits-1):
				cost[b][t] = impossible
			default:
				cost[b][t] = int32(q.lt.pairBits(band, t))
			}
		}
	}
	// best[lo][hi], bestT[lo][hi]: the cheapest table for bands lo..hi-1
	// and its cost, from prefix sums over the bands.
	var cum [32][23]int32
	for t := 0; t < 32; t++ {
		for b := 0; b < nb; b++ {
			cum[t][b+1] = cum[t][b] + cost[b][t]
		}
	}
	var best [23][23]int32
	var bestT [23][23]int8
	for lo := 0; lo < nb; lo++ {
		for hi := lo + 1; hi <= nb; hi++ {
			m, mt := int32(impossible), 0
			for t := 0; t < 32; t++ {
				if c := cum[t][hi] - cum[t][lo]; c < m {
					m, mt = c, t
				}
			}
			best[lo][hi], bestT[lo][hi] = m, int8(mt)
		}
	}
	regionCost := func(lo, hi int) (int, int32) {
		if lo >= hi {
			return 0, 0
		}
		return int(bestT[lo][hi]), best[lo][hi]
	}
	bestBits := int32(1 << 30)
	for r0 := 0; r0 < 16; r0++ {
		a := r0 + 1
		if a > nb && r0 > 0 {
			break
		}
		if a == q.avoid {
			continue
		}
		t0, c0 := regionCost(0, min(a, nb))
		for r1 := 0; r1 < 8 && r0+r1+2 <= 22; r1++ {
			b := r0 + r1 + 2
			if b > nb && r1 > 0 {
				break
			}
			if b == q.avoid {
				continue
			}
			t1, c1 := regionCost(min(a, nb), min(b, nb))
			t2, c2 := regionCost(min(b, nb), nb)
			if c := c0 + c1 + c2; c < bestBits {
				bestBits = c
				gr.region0, gr.region1 = r0, r1
				gr.tableSelect = [3]int{t0, t1, t2}
			}
		}
	}
	// Regions are cut at bvEnd, which need not be a band boundary: the
	// band costs above were computed on the clipped bands, so they match.
	return int(bestBits)
}

// write codes ix (the Huffman part, part 3) as described by gr.
func (q *quantizer) write(w *bitWriter, gr *granule) {
	bvEnd := 2 * gr.bigValues
	s1 := min(q.sfb[gr.region0+1], bvEnd)
	s2 := min(q.sfb[gr.region0+gr.region1+2], bvEnd)
	writePairs(w, q.ix[:s1], q.neg[:s1], gr.tableSelect[0])
	writePairs(w, q.ix[s1:s2], q.neg[s1:s2], gr.tableSelect[1])
	writePairs(w, q.ix[s2:bvEnd], q.neg[s2:bvEnd], gr.tableSelect[2])
	c1End := bvEnd + 4*gr.count1
	writeQuads(w, q.ix[bvEnd:c1End], q.neg[bvEnd:c1End], count1Tables[gr.count1Table])
}
