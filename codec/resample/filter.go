package resample

import "math"

// Filter design constants.
const (
	outRate     = 8000
	passEdge    = 3500.0 // Hz, end of the flat pass band
	stopEdge    = 4100.0 // Hz, start of the stop band of the final stage
	attenuation = 80.0   // dB, Kaiser design target (stop-band rejection)
)

// filter is one stage of the cascade.
type filter interface {
	// push appends in (len(in) <= the maxIn given at construction) and
	// writes every output whose window is complete to out, returning the count.
	push(in, out []float32) int
	// maxOut is the largest output of one push of n samples.
	maxOut(n int) int
}

// maxPhases bounds the polyphase table: ratios with more phases (odd input
// rates such as 47999 Hz) use the nearest of maxPhases+1 tabulated
// fractions, a timing error below 1/2048 sample (about -50 dB at 3.4 kHz).
const maxPhases = 1024

// stage is one FIR decimation stage: it evaluates the band-limited input at
// times n·M/L (in input samples) with a centred windowed-sinc kernel of 2W
// taps, tabulated for each of the L fractional phases.
type stage struct {
	l, m  int
	w     int         // half-width in input samples
	taps  int         // 2w
	coef  [][]float32 // [row][tap]; row = phase when l <= maxPhases
	rows  int         // tabulated phases (without the extra row for 1.0)
	x     []float32   // buffered input, fixed capacity
	pos   int         // local index of the current output's integer part
	phase int         // current fractional phase 0..l-1
}

// bessel0 is the modified Bessel function of the first kind, order 0.
func bessel0(x float64) float64 {
	sum, term := 1.0, 1.0
	for k := 1; k < 50; k++ {
		term *= (x / (2 * float64(k))) * (x / (2 * float64(k)))
		sum += term
		if term < sum*1e-17 {
			break
		}
	}
	return sum
}

// kaiser tabulates the Kaiser window I0(β·sqrt(1-s))/I0(β) over s = r² in
// [0, 1]; it is a smooth (entire) function of s, so linear interpolation on
// 2048 intervals is accurate to about 1e-5, far below the 80 dB design.
type kaiser []float64

func newKaiser(beta float64) kaiser {
	const n = 2048
	k := make(kaiser, n+2)
	i0b := bessel0(beta)
	for i := 0; i <= n; i++ {
		k[i] = bessel0(beta*math.Sqrt(1-float64(i)/n)) / i0b
	}
	k[n+1] = k[n]
	return k
}

// at returns the window at s = r², 0 <= s < 1.
func (k kaiser) at(s float64) float64 {
	x := s * float64(len(k)-2)
	i := int(x)
	f := x - float64(i)
	return k[i]*(1-f) + k[i+1]*f
}

// newStage designs a stage from rate to rate·l/m with the pass band ending at
// pass Hz and the stop band starting at stop Hz (both at the input rate's
// scale); maxIn is the largest block pushed at once.
func newStage(rate, l, m int, pass, stop float64, maxIn int) *stage {
	// Kaiser's formulas (Oppenheim & Schafer 7.6): length and beta for the
	// attenuation A and the normalised transition width.
	dw := 2 * math.Pi * (stop - pass) / float64(rate)
	n := (attenuation - 8) / (2.285 * dw)
	w := (int(math.Ceil(n/2)) + 3) &^ 3 // 2w taps, a multiple of 8 for dot
	beta := 0.1102 * (attenuation - 8.7)
	fc := (pass + stop) / 2 / float64(rate) // cycles per input sample
	s := &stage{l: l, m: m, w: w, taps: 2 * w, rows: min(l, maxPhases)}
	nrows := s.rows
	if s.rows < l {
		nrows++ // row rows is the kernel at fraction 1.0
	}
	s.coef = make([][]float32, nrows)
	win := newKaiser(beta)
	tmp := make([]float64, s.taps)
	for ph := 0; ph < nrows; ph++ {
		c := make([]float32, s.taps)
		var sum float64
		for k := range tmp {
			tmp[k] = 0
			u := float64(ph)/float64(s.rows) + float64(w-1-k) // t - j in input samples
			r := u / float64(w)
			if r <= -1 || r >= 1 {
				continue
			}
			arg := 2 * fc * u
			sinc := 1.0
			if arg != 0 {
				sinc = math.Sin(math.Pi*arg) / (math.Pi * arg)
			}
			tmp[k] = 2 * fc * sinc * win.at(r*r)
			sum += tmp[k]
		}
		for k := range tmp {
			c[k] = float32(tmp[k] / sum) // unit DC gain for every phase
		}
		s.coef[ph] = c
	}
	s.x = make([]float32, 0, maxIn+2*s.taps)
	s.reset()
	return s
}

// reset starts the stage with W-1 samples of silence before the signal.
func (s *stage) reset() {
	s.x = s.x[:s.w-1]
	clear(s.x)
	s.pos, s.phase = s.w-1, 0
}

func (s *stage) maxOut(n int) int { return (n+s.taps)*s.l/s.m + 2 }

func (s *stage) push(in, out []float32) int {
	s.x = append(s.x, in...)
	x := s.x
	n := 0
	for s.pos+s.w < len(x) {
		win := x[s.pos-s.w+1 : s.pos+s.w+1]
		row := s.phase
		if s.rows < s.l { // nearest tabulated fraction, error <= 1/(2·maxPhases) sample
			row = (2*s.phase*s.rows + s.l) / (2 * s.l)
		}
		out[n] = dot(win, s.coef[row])
		n++
		s.phase += s.m
		for s.phase >= s.l {
			s.phase -= s.l
			s.pos++
		}
	}
	drop := s.pos - (s.w - 1)
	if drop > 0 {
		if drop > len(x) {
			drop = len(x)
		}
		k := copy(x, x[drop:])
		s.x = x[:k]
		s.pos -= drop
	}
	return n
}

// dotGeneric is the inner product of two equally long slices whose length is
// a multiple of 8 (array-pointer conversions drop the bounds checks). It is
// the portable version of dot.
func dotGeneric(a, b []float32) float32 {
	b = b[:len(a)]
	var s0, s1, s2, s3 float32
	for len(a) >= 8 {
		x := (*[8]float32)(a)
		y := (*[8]float32)(b)
		s0 += x[0]*y[0] + x[4]*y[4]
		s1 += x[1]*y[1] + x[5]*y[5]
		s2 += x[2]*y[2] + x[6]*y[6]
		s3 += x[3]*y[3] + x[7]*y[7]
		a, b = a[8:], b[8:]
	}
	return (s0 + s1) + (s2 + s3)
}

// halfband is a decimate-by-two stage whose cut-off is exactly a quarter of
// its input rate: every even tap but the centre is zero. With the input split
// into even samples e[i] = x[2i] and odd samples o[i] = x[2i+1], output m is
// c0·e[m] + Σ g[t]·o[m-k+t], one short dot product over contiguous memory.
type halfband struct {
	k    int       // odd taps per side: x[2m±1], x[2m±3], ..., x[2m±(2k-1)]
	g    []float32 // 2k symmetric taps on o, zero-padded to a multiple of 8
	c0   float32   // centre tap
	e, o []float32 // deinterleaved input; o starts with k samples of silence
	odd  bool      // the next input sample has an odd index
}

// newHalfband designs a halving stage for rate that keeps 0..pass Hz and
// rejects rate/2-pass..rate/2 (which would fold onto the kept band).
func newHalfband(rate int, pass float64, maxIn int) *halfband {
	stop := float64(rate)/2 - pass
	dw := 2 * math.Pi * (stop - pass) / float64(rate)
	n := (attenuation - 8) / (2.285 * dw)
	k := int(math.Ceil(math.Ceil(n/2) / 2))
	beta := 0.1102 * (attenuation - 8.7)
	i0b := bessel0(beta)
	span := float64(2 * k) // the window reaches zero at |u| = 2k
	h := make([]float64, k)
	sum := 0.5
	for j := range h {
		u := float64(2*j + 1)
		r := u / span
		win := bessel0(beta*math.Sqrt(1-r*r)) / i0b
		h[j] = math.Sin(math.Pi*u/2) / (math.Pi * u) * win
		sum += 2 * h[j]
	}
	taps := (2*k + 7) &^ 7
	hb := &halfband{k: k, g: make([]float32, taps), c0: float32(0.5 / sum)}
	for j := range h {
		c := float32(h[j] / sum)
		hb.g[k-1-j] = c // o[m-1-j] = x[2m-1-2j]
		hb.g[k+j] = c   // o[m+j] = x[2m+1+2j]
	}
	hb.e = make([]float32, 0, maxIn/2+taps+2)
	hb.o = make([]float32, k, maxIn/2+2*taps+2)
	return hb
}

func (hb *halfband) maxOut(n int) int { return n/2 + 2 }

func (hb *halfband) push(in, out []float32) int {
	e, o := hb.e, hb.o
	if hb.odd && len(in) > 0 {
		o = append(o, in[0])
		in = in[1:]
		hb.odd = false
	}
	for len(in) >= 2 {
		e = append(e, in[0])
		o = append(o, in[1])
		in = in[2:]
	}
	if len(in) == 1 {
		e = append(e, in[0])
		hb.odd = true
	}
	taps := len(hb.g)
	n := 0
	for n < len(e) && n+taps <= len(o) {
		out[n] = hb.c0*e[n] + dot(o[n:n+taps], hb.g)
		n++
	}
	hb.e = e[:copy(e, e[n:])]
	hb.o = o[:copy(o, o[n:])]
	return n
}
