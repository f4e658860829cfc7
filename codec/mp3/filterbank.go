package mp3

import "math"

// The hybrid filter bank of Layer III: a 32-band polyphase filter bank
// (11172-3 §2.4.3.2 and Annex C.1.3) followed by an 18-line MDCT per
// subband with aliasing butterflies between neighbouring subbands
// (Annex C.1.5.3.3, decoder side §2.4.3.4.10). The matrixing of both the
// analysis and the synthesis filter is done with a 32-point fast DCT
// (Lee's factorisation) instead of the 32x64 and 64x32 products the
// standard writes out; the MDCT folds its 36 inputs to an 18-point DCT-IV.

// dct32 holds the 1/(2cos) factors of Lee's recursion for sizes 32..2.
type dct32 struct {
	fac [6][]float64 // fac[log2 n][k] = 1/(2cos(π(2k+1)/(2n)))
}

func newDCT32() *dct32 {
	d := &dct32{}
	for n := 2; n <= 32; n *= 2 {
		l := log2(n)
		d.fac[l] = make([]float64, n/2)
		for k := range d.fac[l] {
			d.fac[l][k] = 0.5 / math.Cos(math.Pi*float64(2*k+1)/float64(2*n))
		}
	}
	return d
}

func log2(n int) int {
	l := 0
	for n > 1 {
		n >>= 1
		l++
	}
	return l
}

// dct3 computes y[k] = Σ_n x[n]·cos(π·n·(2k+1)/(2N)) in place, N =
// len(x) a power of two, using scratch of at least N values.
func (d *dct32) dct3(x, scratch []float64) {
	n := len(x)
	if n == 1 {
		return
	}
	h := n / 2
	e, o := scratch[:h], scratch[h:n]
	prev := 0.0
	for m := 0; m < h; m++ {
		e[m] = x[2*m]
		o[m] = x[2*m+1] + prev
		prev = x[2*m+1]
	}
	d.dct3(e, x[:h])
	d.dct3(o, x[h:])
	f := d.fac[log2(n)]
	for k := 0; k < h; k++ {
		t := f[k] * o[k]
		x[k] = e[k] + t
		x[n-1-k] = e[k] - t
	}
}

// dct2 computes y[k] = Σ_n x[n]·cos(π·(2n+1)·k/(2N)) in place.
func (d *dct32) dct2(x, scratch []float64) {
	n := len(x)
	if n == 1 {
		return
	}
	h := n / 2
	u, v := scratch[:h], scratch[h:n]
	f := d.fac[log2(n)]
	for i := 0; i < h; i++ {
		a, b := x[i], x[n-1-i]
		u[i] = a + b
		v[i] = (a - b) * f[i]
	}
	d.dct2(u, x[:h])
	d.dct2(v, x[h:])
	for k := 0; k < h; k++ {
		x[2*k] = u[k]
	}
	for k := 0; k < h-1; k++ {
		x[2*k+1] = v[k] + v[k+1]
	}
	x[n-1] = v[h-1]
}

// analysis is the polyphase analysis filter bank of Annex C.1.3 for one
// channel. Input samples are in [-1, 1).
type analysis struct {
	// win[i][j] = C[i+64j]: the analysis window (Table 3-C.1), C = D/32,
	// grouped so Y[i] = Σ_j win[i][j]·X[i+64j].
	win [64][8]float64
	dct *dct32
	y   [64]float64
	a   [32]float64
}

func newAnalysis(d *dct32) *analysis {
	an := &analysis{dct: d}
	for i := 0; i < 64; i++ {
		for j := 0; j < 8; j++ {
			an.win[i][j] = synthWindow[i+64*j] / 32
		}
	}
	return an
}

// filter computes the 32 subband samples for the newest 32 input samples.
// x holds the last 512 samples in time order: x[511] is the newest, so
// X[i] of the standard is x[511-i].
func (an *analysis) filter(x []float64, s *[32]float64) {
	x = x[:512]
	for i := 0; i < 64; i++ {
		w := &an.win[i]
		b := 511 - i
		an.y[i] = w[0]*x[b] + w[1]*x[b-64] + w[2]*x[b-128] + w[3]*x[b-192] +
			w[4]*x[b-256] + w[5]*x[b-320] + w[6]*x[b-384] + w[7]*x[b-448]
	}
	// Matrixing S[k] = Σ_i cos((2k+1)(i-16)π/64)·Y[i] folded to a
	// 32-point DCT-III: the cosine is even in (i-16) and changes sign
	// about i-16 = 32.
	y := &an.y
	a := an.a[:]
	a[0] = y[16]
	for n := 1; n <= 16; n++ {
		a[n] = y[16+n] + y[16-n]
	}
	for n := 17; n < 32; n++ {
		a[n] = y[16+n] - y[80-n]
	}
	var scratch [32]float64
	an.dct.dct3(a, scratch[:])
	copy(s[:], a)
}

// synthesis is the polyphase synthesis filter bank of §2.4.3.2 (Figure
// A.2) for one channel.
type synthesis struct {
	v   [1024]float64 // V, newest 64 values first, as a ring
	pos int           // index of V[0] in v
	dct *dct32
}

// filter turns 32 subband samples into 32 output samples.
func (sy *synthesis) filter(s *[32]float64, out []float64) {
	// V[i] = Σ_k cos((16+i)(2k+1)π/64)·S[k] = X[16+i] with X the DCT-II
	// of S, X[64-t] = -X[t], X[32] = 0, X[t+64] = -X[t].
	var x, scratch [32]float64
	x = *s
	sy.dct.dct2(x[:], scratch[:])
	sy.pos = (sy.pos - 64) & 1023
	v := sy.v[sy.pos:]
	for i := 0; i < 64; i++ {
		t := 16 + i
		var val float64
		switch {
		case t < 32:
			val = x[t]
		case t == 32:
			val = 0
		case t < 64:
			val = -x[64-t]
		default:
			val = -x[t-64]
		}
		v[i] = val
	}
	// U[64i+j] = V[128i+j], U[64i+32+j] = V[128i+96+j]; out[j] = Σ_i
	// U[j+32i]·D[j+32i].
	for j := 0; j < 32; j++ {
		var sum float64
		for i := 0; i < 8; i++ {
			sum += sy.v[(sy.pos+128*i+j)&1023] * synthWindow[64*i+j]
			sum += sy.v[(sy.pos+128*i+96+j)&1023] * synthWindow[64*i+32+j]
		}
		out[j] = sum
	}
}

// mdct is the 36-point MDCT of long blocks (Annex C.1.5.3.3):
// X[k] = Σ_n z[n]·cos(π/72·(2n+1+18)·(2k+1)), z = window·input, folded
// to an 18-point DCT-IV.
type mdct struct {
	win [36]float64     // sine window of block type 0
	cos [18][18]float64 // DCT-IV matrix times mdctScale
}

func newMDCT() *mdct {
	m := &mdct{}
	for n := range m.win {
		m.win[n] = math.Sin(math.Pi / 36 * (float64(n) + 0.5))
	}
	for k := 0; k < 18; k++ {
		for n := 0; n < 18; n++ {
			m.cos[k][n] = mdctScale * math.Cos(math.Pi/18*(float64(n)+0.5)*(float64(k)+0.5))
		}
	}
	return m
}

// mdctScale is the forward MDCT's gain: the decoder's IMDCT (§2.4.3.4.10.2)
// has none, and windowed overlap-add of the unscaled pair gives 9 (= N/2)
// times the input.
const mdctScale = 1.0 / 9

// transform computes 18 coefficients from 36 windowed inputs: prev (the
// previous granule's 18 subband samples) and cur.
func (m *mdct) transform(prev, cur *[18]float64, out []float64) {
	// z = [a b c d] in quarters of 9; MDCT(z) = DCT-IV(-c_r - d, a - b_r).
	var u [18]float64
	w := &m.win
	for n := 0; n < 9; n++ {
		c := cur[8-n] * w[26-n]
		d := cur[9+n] * w[27+n]
		u[n] = -c - d
		a := prev[n] * w[n]
		b := prev[17-n] * w[17-n]
		u[9+n] = a - b
	}
	for k := 0; k < 18; k++ {
		row := &m.cos[k]
		var s float64
		for n := 0; n < 18; n++ {
			s += row[n] * u[n]
		}
		out[k] = s
	}
}

// Aliasing butterfly coefficients cs[i], ca[i] (11172-3 Table 3-B.9).
var aliasCs, aliasCa = func() (cs, ca [8]float64) {
	c := [8]float64{-0.6, -0.535, -0.33, -0.185, -0.095, -0.041, -0.0142, -0.0037}
	for i, v := range c {
		sq := math.Sqrt(1 + v*v)
		cs[i], ca[i] = 1/sq, v/sq
	}
	return
}()

// aliasReduce applies the encoder butterflies to xr across subbands
// 0..bands-1 (Annex C.1.5.3.3, Figure C.8).
func aliasReduce(xr []float64, bands int) {
	for sb := 1; sb < bands; sb++ {
		for i := 0; i < 8; i++ {
			bu, bd := xr[18*sb-1-i], xr[18*sb+i]
			xr[18*sb-1-i] = bu*aliasCs[i] + bd*aliasCa[i]
			xr[18*sb+i] = bd*aliasCs[i] - bu*aliasCa[i]
		}
	}
}
