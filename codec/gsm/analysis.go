package gsm

// Encoder tables of GSM 06.10 §5.2.
var (
	// tableA: LAR quantisation slopes, table 5.1 (B and MIC are shared with decoding).
	tableA   = [8]int16{20480, 20480, 20480, 20480, 13964, 15360, 8534, 9036}
	tableMAC = [8]int16{31, 31, 15, 15, 7, 7, 3, 3}
	// tableDLB: LTP gain decision levels, table 5.3a.
	tableDLB = [4]int16{6554, 16384, 26214, 32767}
	// tableNRFAC: inverse mantissa, table 5.5.
	tableNRFAC = [8]int16{29128, 26215, 23832, 21846, 20165, 18725, 17476, 16384}
	// tableH: weighting filter impulse response, table 5.4 (H[2] = H[8] = 0).
	tableH = [11]int64{-134, -374, 0, 2054, 5741, 8192, 5741, 2054, 0, -374, -134}
)

// analysis is the encoder state of GSM 06.10 §4.2.
type analysis struct {
	z1  int16      // offset compensation
	lz2 int32      // offset compensation
	mp  int16      // pre-emphasis
	u   [8]int16   // short-term analysis filter state
	dp0 [280]int16 // reconstructed short-term residual dp[-120..159]
	e   [50]int16  // RPE residual e[-5..44]; the 5 guard values stay zero
	syn synth      // LAR interpolation state (larpp, j)
	so  [160]int16 // scratch: pre-processed / residual signal
	x   [40]int16  // scratch: weighted residual
	xm  [13]int16  // scratch
	xmp [13]int16  // scratch
	ep  [40]int16  // scratch
}

// encode analyses 160 samples into p, GSM 06.10 §4.2.
func (a *analysis) encode(in []int16, p *params) {
	a.preprocess(in)
	a.lpc(&p.larc)
	a.shortTermAnalysis(&p.larc)
	for j := 0; j < 4; j++ {
		d := a.so[j*40 : j*40+40]
		nc, bc := a.ltpParams(d, 120+j*40)
		p.nc[j], p.bc[j] = nc, bc
		// §4.2.12 long term analysis filtering; dpp is stored in dp0[120+40j+k].
		bp := tableQLB[bc]
		base := 120 + j*40
		for k := 0; k < 40; k++ {
			dpp := multR(bp, a.dp0[base+k-int(nc)])
			a.dp0[base+k] = dpp
			a.e[5+k] = sub(d[k], dpp)
		}
		a.rpeEncode(j, p)
		for k := 0; k < 40; k++ {
			a.dp0[base+k] = add(a.e[5+k], a.dp0[base+k])
		}
	}
	copy(a.dp0[:120], a.dp0[160:280])
}

// preprocess is GSM 06.10 §4.2.1-4.2.3: downscaling, offset compensation
// and pre-emphasis.
func (a *analysis) preprocess(in []int16) {
	z1, lz2, mp := a.z1, a.lz2, a.mp
	for k := 0; k < 160; k++ {
		so := (in[k] >> 3) << 2 // §4.2.1
		s1 := so - z1           // §4.2.2
		z1 = so
		ls2 := int32(s1) << 15
		msp := int16(lz2 >> 15)
		lsp := int16(lz2 - int32(msp)<<15)
		ls2 += int32(multR(lsp, 32735))
		lz2 = ladd(int32(msp)*32735, ls2)
		lt := ladd(lz2, 16384)
		m := multR(mp, -28180) // §4.2.3
		mp = int16(lt >> 15)
		a.so[k] = add(mp, m)
	}
	a.z1, a.lz2, a.mp = z1, lz2, mp
}

// lpc is GSM 06.10 §4.2.4-4.2.7: autocorrelation, Schur recursion,
// transformation to LARs and their quantisation.
func (a *analysis) lpc(larc *[8]int16) {
	s := &a.so
	// §4.2.4 autocorrelation with dynamic scaling.
	var smax int16
	for _, v := range s {
		if t := abs16(v); t > smax {
			smax = t
		}
	}
	scal := 0
	if smax != 0 {
		scal = 4 - norm(int32(smax)<<16)
	}
	if scal > 0 {
		f := int16(16384 >> (scal - 1))
		for k := range s {
			s[k] = multR(s[k], f)
		}
	}
	var acf [9]int64
	for k := 0; k < 9; k++ {
		var sum int64
		for i := k; i < 160; i++ {
			sum += int64(s[i]) * int64(s[i-k])
		}
		acf[k] = sum << 1
	}
	if scal > 0 {
		for k := range s {
			s[k] = int16(int32(s[k]) << scal) // wraps like the reference
		}
	}

	// §4.2.5 reflection coefficients (Schur recursion).
	var r [8]int16
	a.schur(&acf, &r)

	// §4.2.6 transformation of reflection coefficients to LARs.
	for i := range r {
		t := abs16(r[i])
		switch {
		case t < 22118:
			t >>= 1
		case t < 31130:
			t -= 11059
		default:
			t = (t - 26112) << 2
		}
		if r[i] < 0 {
			t = -t
		}
		r[i] = t
	}

	// §4.2.7 quantisation and coding of the LARs.
	for i := range r {
		t := mult(tableA[i], r[i])
		t = add(t, tableB[i])
		t = add(t, 256)
		t >>= 9
		switch {
		case t > tableMAC[i]:
			larc[i] = tableMAC[i] - tableMIC[i]
		case t < tableMIC[i]:
			larc[i] = 0
		default:
			larc[i] = t - tableMIC[i]
		}
	}
}

// schur is GSM 06.10 §4.2.5.
func (a *analysis) schur(lacf *[9]int64, r *[8]int16) {
	*r = [8]int16{}
	if lacf[0] == 0 {
		return
	}
	t := norm(int32(lacf[0]))
	var acf, p, k [9]int16
	for i := 0; i <= 8; i++ {
		acf[i] = int16((lacf[i] << t) >> 16)
	}
	for i := 1; i <= 7; i++ {
		k[i] = acf[i]
	}
	p = acf
	for n := 1; n <= 8; n++ {
		tmp := abs16(p[1])
		if p[0] < tmp {
			return // remaining coefficients stay zero
		}
		rn := div(tmp, p[0])
		if p[1] > 0 {
			rn = -rn
		}
		r[n-1] = rn
		if n == 8 {
			return
		}
		p[0] = add(p[0], multR(p[1], rn))
		for m := 1; m <= 8-n; m++ {
			p[m] = add(p[m+1], multR(k[m], rn))
			k[m] = add(k[m], multR(p[m+1], rn))
		}
	}
}

// shortTermAnalysis is GSM 06.10 §4.2.8-4.2.10: LAR decoding and
// interpolation, and short-term analysis filtering of so in place.
func (a *analysis) shortTermAnalysis(larc *[8]int16) {
	cur := &a.syn.larpp[a.syn.j]
	a.syn.j ^= 1
	prev := &a.syn.larpp[a.syn.j]
	decodeLAR(larc, cur)
	var rp [8]int16
	for seg := 0; seg < 4; seg++ {
		interpolate(seg, prev, cur, &rp)
		larToRP(&rp)
		shortTermAnalysis(&rp, &a.u, a.so[segBounds[seg]:segBounds[seg+1]])
	}
}

// shortTermAnalysis is the lattice filter of GSM 06.10 §4.2.10, in place,
// unrolled with the state in registers (rp never equals -32768).
func shortTermAnalysis(rp *[8]int16, u *[8]int16, s []int16) {
	r0, r1, r2, r3 := int32(rp[0]), int32(rp[1]), int32(rp[2]), int32(rp[3])
	r4, r5, r6, r7 := int32(rp[4]), int32(rp[5]), int32(rp[6]), int32(rp[7])
	u0, u1, u2, u3 := int32(u[0]), int32(u[1]), int32(u[2]), int32(u[3])
	u4, u5, u6, u7 := int32(u[4]), int32(u[5]), int32(u[6]), int32(u[7])
	for k, v := range s {
		di := int32(v)
		sav := di
		// stage i: ui = u[i]; u[i] = sav; sav = ui + rp·di; di += rp·ui
		t := u0
		u0 = sav
		sav = clamp(t + (r0*di+16384)>>15)
		di = clamp(di + (r0*t+16384)>>15)
		t = u1
		u1 = sav
		sav = clamp(t + (r1*di+16384)>>15)
		di = clamp(di + (r1*t+16384)>>15)
		t = u2
		u2 = sav
		sav = clamp(t + (r2*di+16384)>>15)
		di = clamp(di + (r2*t+16384)>>15)
		t = u3
		u3 = sav
		sav = clamp(t + (r3*di+16384)>>15)
		di = clamp(di + (r3*t+16384)>>15)
		t = u4
		u4 = sav
		sav = clamp(t + (r4*di+16384)>>15)
		di = clamp(di + (r4*t+16384)>>15)
		t = u5
		u5 = sav
		sav = clamp(t + (r5*di+16384)>>15)
		di = clamp(di + (r5*t+16384)>>15)
		t = u6
		u6 = sav
		sav = clamp(t + (r6*di+16384)>>15)
		di = clamp(di + (r6*t+16384)>>15)
		t = u7
		u7 = sav
		di = clamp(di + (r7*t+16384)>>15)
		s[k] = int16(di)
	}
	*u = [8]int16{int16(u0), int16(u1), int16(u2), int16(u3), int16(u4), int16(u5), int16(u6), int16(u7)}
}

// ltpParams is GSM 06.10 §4.2.11: calculation of the LTP lag Nc and gain
// code bc for the subframe d; dp0[base-120..base-1] holds the past residual.
func (a *analysis) ltpParams(d []int16, base int) (nc, bc int16) {
	var dmax int16
	for _, v := range d {
		if t := abs16(v); t > dmax {
			dmax = t
		}
	}
	t := 0
	if dmax != 0 {
		t = norm(int32(dmax) << 16)
	}
	scal := 0
	if t <= 6 {
		scal = 6 - t
	}
	var wt [40]int32
	for k := range wt {
		wt[k] = int32(d[k] >> scal)
	}
	var lmax int64
	nc = 40
	for lambda := 40; lambda <= 120; lambda++ {
		// |wt| < 2^9 after scaling, so the 40-term sum fits in 32 bits.
		dp := a.dp0[base-lambda : base-lambda+40]
		var s0, s1, s2, s3 int32
		for k := 0; k < 40; k += 4 {
			w := (*[4]int32)(wt[k:])
			d := (*[4]int16)(dp[k:])
			s0 += w[0] * int32(d[0])
			s1 += w[1] * int32(d[1])
			s2 += w[2] * int32(d[2])
			s3 += w[3] * int32(d[3])
		}
		if sum := int64(s0) + int64(s1) + int64(s2) + int64(s3); sum > lmax {
			nc = int16(lambda)
			lmax = sum
		}
	}
	lmax <<= 1
	lmax >>= 6 - scal
	var lpower int64
	for _, v := range a.dp0[base-int(nc) : base-int(nc)+40] {
		x := int64(v >> 3)
		lpower += x * x
	}
	lpower <<= 1
	if lmax <= 0 {
		return nc, 0
	}
	if lmax >= lpower {
		return nc, 3
	}
	t = norm(int32(lpower))
	r := int16((lmax << t) >> 16)
	s := int16((lpower << t) >> 16)
	for bc = 0; bc <= 2; bc++ {
		if r <= mult(s, tableDLB[bc]) {
			break
		}
	}
	return nc, bc
}

// rpeEncode is GSM 06.10 §4.2.13-4.2.18 for subframe j: weighting filter,
// grid selection, APCM quantisation, and the decoded residual written back
// into e[0..39].
func (a *analysis) rpeEncode(j int, p *params) {
	// §4.2.13 weighting filter over e[-5..44].
	for k := 0; k < 40; k++ {
		res := int64(4096)
		for i := 0; i < 11; i++ {
			res += int64(a.e[k+i]) * tableH[i]
		}
		res >>= 13
		a.x[k] = int16(min(max(res, minWord), maxWord))
	}
	// §4.2.14 RPE grid selection.
	var em int64
	var mc int16
	for m := 0; m < 4; m++ {
		var sum int64
		for i := 0; i < 13; i++ {
			t := int64(a.x[m+3*i] >> 2)
			sum += t * t
		}
		sum <<= 1
		if sum > em || m == 0 {
			mc, em = int16(m), sum
		}
	}
	for i := range a.xm {
		a.xm[i] = a.x[int(mc)+3*i]
	}
	// §4.2.15 APCM quantisation of xmax and xM.
	var xmax int16
	for _, v := range a.xm {
		if t := abs16(v); t > xmax {
			xmax = t
		}
	}
	var exp int16
	t := xmax >> 9
	itest := false
	for i := 0; i <= 5; i++ {
		itest = itest || t <= 0
		t >>= 1
		if !itest {
			exp++
		}
	}
	xmaxc := add(xmax>>(exp+5), exp<<3)
	exp, mant := expMant(xmaxc)
	t1 := 6 - exp
	t2 := tableNRFAC[mant]
	for i, v := range a.xm {
		x := int16(int32(v) << t1) // wraps like the reference
		x = mult(x, t2)
		p.xmc[j][i] = x>>12 + 4
	}
	p.mc[j], p.xmaxc[j] = mc, xmaxc
	// §4.2.16-4.2.17 inverse quantisation and grid positioning.
	dequantize(&p.xmc[j], mant, exp, &a.xmp)
	gridPosition(mc, &a.xmp, &a.ep)
	copy(a.e[5:45], a.ep[:])
}
