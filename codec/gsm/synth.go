package gsm

// Tables of GSM 06.10 §5.2.
var (
	// tableB, tableMIC, tableINVA: LAR decoding, table 5.2 / 5.3.
	tableB    = [8]int16{0, 0, 2048, -2560, 94, -1792, -341, -1144}
	tableMIC  = [8]int16{-32, -32, -16, -16, -8, -8, -4, -4}
	tableINVA = [8]int16{13107, 13107, 13107, 13107, 19223, 17476, 31454, 29708}
	// tableFAC: normalised inverse mantissa, table 5.6.
	tableFAC = [8]int16{18431, 20479, 22527, 24575, 26623, 28671, 30719, 32767}
	// tableQLB: quantised LTP gains, table 5.3b.
	tableQLB = [4]int16{3277, 11469, 21299, 32767}
)

// synth is the decoder state of GSM 06.10 §4.3 (also used by the encoder
// for its LAR interpolation state).
type synth struct {
	dp0   [280]int16  // reconstructed long-term residual drp[-120..159]
	larpp [2][8]int16 // decoded LARs of the current and previous frame
	j     int         // which larpp is current
	nrp   int16       // last valid LTP lag
	v     [9]int16    // short-term synthesis filter state
	msr   int16       // de-emphasis state
	erp   [40]int16   // scratch: RPE residual
	wt    [160]int16  // scratch: excitation
	xmp   [13]int16   // scratch: dequantised RPE pulses
	larp  [8]int16    // scratch: interpolated LARs / reflection coefficients
}

func newSynth() synth { return synth{nrp: 40} }

// decodeLAR is GSM 06.10 §4.2.15 / §4.3.1: decoding of the coded log area ratios.
func decodeLAR(larc *[8]int16, larpp *[8]int16) {
	for i := 0; i < 8; i++ {
		t := int16(int32(add(larc[i], tableMIC[i])) << 10)
		t = sub(t, int16(int32(tableB[i])<<1))
		t = multR(tableINVA[i], t)
		larpp[i] = add(t, t)
	}
}

// interpolate is GSM 06.10 §4.2.9.1 (table 4.5): LARs for the four
// interpolation segments k = 0..12, 13..26, 27..39, 40..159.
func interpolate(seg int, prev, cur, out *[8]int16) {
	for i := 0; i < 8; i++ {
		switch seg {
		case 0:
			t := add(prev[i]>>2, cur[i]>>2)
			out[i] = add(t, prev[i]>>1)
		case 1:
			out[i] = add(prev[i]>>1, cur[i]>>1)
		case 2:
			t := add(prev[i]>>2, cur[i]>>2)
			out[i] = add(t, cur[i]>>1)
		default:
			out[i] = cur[i]
		}
	}
}

// larToRP is GSM 06.10 §4.2.9.2: conversion of LARs to reflection coefficients.
func larToRP(larp *[8]int16) {
	for i := 0; i < 8; i++ {
		neg := larp[i] < 0
		t := abs16(larp[i])
		switch {
		case t < 11059:
			t <<= 1
		case t < 20070:
			t += 11059
		default:
			t = add(t>>2, 26112)
		}
		if neg {
			t = -t
		}
		larp[i] = t
	}
}

// segBounds are the sample ranges of the four interpolation segments.
var segBounds = [5]int{0, 13, 27, 40, 160}

// expMant is GSM 06.10 §4.2.15: split xmaxc into exponent and mantissa.
func expMant(xmaxc int16) (exp, mant int16) {
	if xmaxc > 15 {
		exp = (xmaxc >> 3) - 1
	}
	mant = xmaxc - exp<<3
	if mant == 0 {
		return -4, 7
	}
	for mant <= 7 {
		mant = mant<<1 | 1
		exp--
	}
	return exp, mant - 8
}

// dequantize is GSM 06.10 §4.2.16: APCM inverse quantisation of xMc.
func dequantize(xmc *[13]int16, mant, exp int16, xmp *[13]int16) {
	t1 := tableFAC[mant]
	t2 := sub(6, exp)
	t3 := asl(1, int(sub(t2, 1)))
	for i := 0; i < 13; i++ {
		t := (xmc[i]<<1 - 7) << 12 // restore sign, 16-bit signed
		t = multR(t1, t)
		t = add(t, t3)
		xmp[i] = asr(t, int(t2))
	}
}

// gridPosition is GSM 06.10 §4.2.17: RPE grid positioning.
func gridPosition(mc int16, xmp *[13]int16, ep *[40]int16) {
	*ep = [40]int16{}
	for i := 0; i < 13; i++ {
		ep[int(mc)+3*i] = xmp[i]
	}
}

// decode synthesises 160 samples from one frame, GSM 06.10 §4.3.
func (s *synth) decode(p *params, out []int16) {
	drp := s.dp0[120:]
	for j := 0; j < 4; j++ {
		// §4.3.1 RPE decoding.
		exp, mant := expMant(p.xmaxc[j])
		dequantize(&p.xmc[j], mant, exp, &s.xmp)
		gridPosition(p.mc[j]&3, &s.xmp, &s.erp)

		// §4.3.2 long term synthesis filtering.
		nr := p.nc[j]
		if nr < 40 || nr > 120 {
			nr = s.nrp
		}
		s.nrp = nr
		brp := tableQLB[p.bc[j]&3]
		for k := 0; k < 40; k++ {
			drpp := multR(brp, s.dp0[120+k-int(nr)])
			drp[k] = add(s.erp[k], drpp)
		}
		copy(s.dp0[:120], s.dp0[40:160])
		copy(s.wt[j*40:j*40+40], drp[:40])
	}

	// §4.3.3 short term synthesis filtering.
	cur := &s.larpp[s.j]
	s.j ^= 1
	prev := &s.larpp[s.j]
	decodeLAR(&p.larc, cur)
	for seg := 0; seg < 4; seg++ {
		interpolate(seg, prev, cur, &s.larp)
		larToRP(&s.larp)
		shortTermSynthesis(&s.larp, &s.v, s.wt[segBounds[seg]:segBounds[seg+1]], out[segBounds[seg]:segBounds[seg+1]])
	}

	// §4.3.4-4.3.6 de-emphasis, truncation and upscaling.
	msr := int32(s.msr)
	out = out[:160]
	for k, v := range out {
		msr = clamp(int32(v) + (msr*28180+16384)>>15)
		out[k] = int16(clamp(msr+msr) &^ 7)
	}
	s.msr = int16(msr)
}

// clamp saturates to the 16-bit range. Saturation is rare, so a predicted
// branch keeps it off the filter's dependency chain (CMOVs would not).
func clamp(x int32) int32 {
	if int32(int16(x)) != x {
		if x > 0 {
			return maxWord
		}
		return minWord
	}
	return x
}

// shortTermSynthesis is the lattice filter of GSM 06.10 §4.3.3 (eq. 4.2-10
// reversed), unrolled with the state in registers. The reflection
// coefficients rp never equal -32768 (larToRP saturates at ±32767), so
// mult_r needs no special case here.
func shortTermSynthesis(rp *[8]int16, v *[9]int16, wt, out []int16) {
	r0, r1, r2, r3 := int32(rp[0]), int32(rp[1]), int32(rp[2]), int32(rp[3])
	r4, r5, r6, r7 := int32(rp[4]), int32(rp[5]), int32(rp[6]), int32(rp[7])
	v0, v1, v2, v3 := int32(v[0]), int32(v[1]), int32(v[2]), int32(v[3])
	v4, v5, v6, v7 := int32(v[4]), int32(v[5]), int32(v[6]), int32(v[7])
	v8 := int32(v[8])
	out = out[:len(wt)]
	for k, w := range wt {
		sri := int32(w)
		sri = clamp(sri - (r7*v7+16384)>>15)
		v8 = clamp(v7 + (r7*sri+16384)>>15)
		sri = clamp(sri - (r6*v6+16384)>>15)
		v7 = clamp(v6 + (r6*sri+16384)>>15)
		sri = clamp(sri - (r5*v5+16384)>>15)
		v6 = clamp(v5 + (r5*sri+16384)>>15)
		sri = clamp(sri - (r4*v4+16384)>>15)
		v5 = clamp(v4 + (r4*sri+16384)>>15)
		sri = clamp(sri - (r3*v3+16384)>>15)
		v4 = clamp(v3 + (r3*sri+16384)>>15)
		sri = clamp(sri - (r2*v2+16384)>>15)
		v3 = clamp(v2 + (r2*sri+16384)>>15)
		sri = clamp(sri - (r1*v1+16384)>>15)
		v2 = clamp(v1 + (r1*sri+16384)>>15)
		sri = clamp(sri - (r0*v0+16384)>>15)
		v1 = clamp(v0 + (r0*sri+16384)>>15)
		v0 = sri
		out[k] = int16(sri)
	}
	*v = [9]int16{int16(v0), int16(v1), int16(v2), int16(v3), int16(v4), int16(v5), int16(v6), int16(v7), int16(v8)}
}
