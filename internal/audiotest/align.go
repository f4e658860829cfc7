package audiotest

import "math"

// Align finds the lag (deg[i+lag] ~ ref[i]) within ±maxLag that maximises
// the cross-correlation of ref's first window samples with deg (window <=
// 0: all of ref), and returns it with the SNR in dB of deg against ref at
// that lag over their overlap, without gain matching (the method of
// recipes/audio/snr.py). It is how the codec tests line a decoder's
// output up with a reference tool's.
func Align(ref, deg []float64, window, maxLag int) (lag int, snr float64) {
	n := len(ref)
	if window > 0 {
		n = min(n, window)
	}
	best := math.Inf(-1)
	for l := -maxLag; l <= maxLag; l++ {
		var c float64
		for i := 0; i < n; i++ {
			if j := i + l; j >= 0 && j < len(deg) {
				c += ref[i] * deg[j]
			}
		}
		if c > best {
			best, lag = c, l
		}
	}
	var sig, noise float64
	for i := range ref {
		j := i + lag
		if j < 0 || j >= len(deg) {
			continue
		}
		e := ref[i] - deg[j]
		sig += ref[i] * ref[i]
		noise += e * e
	}
	return lag, 10 * math.Log10(sig/math.Max(noise, 1e-9))
}

// Locate finds where ref starts in rec, a recording of it (a call's audio):
// the lag in [0, maxLag] at which ref's first window samples (window <= 0:
// all of ref) have the highest normalised correlation with rec. It returns
// the lag, and the normalised correlation and the SNR in dB of rec against
// ref over their overlap from there (rec may end before ref does).
func Locate(ref, rec []int16, window, maxLag int) (lag int, ncc, snr float64) {
	w := len(ref)
	if window > 0 {
		w = min(w, window)
	}
	var eref float64
	for _, v := range ref[:w] {
		eref += float64(v) * float64(v)
	}
	best := math.Inf(-1)
	for l := 0; l <= maxLag && l+w <= len(rec); l++ {
		var dot, erec float64
		for i, v := range ref[:w] {
			r := float64(rec[l+i])
			dot += float64(v) * r
			erec += r * r
		}
		if erec == 0 {
			continue
		}
		if c := dot / math.Sqrt(eref*erec); c > best {
			best, lag = c, l
		}
	}
	n := min(len(ref), len(rec)-lag)
	var sxy, sxx, syy, noise float64
	for i := 0; i < n; i++ {
		x, y := float64(ref[i]), float64(rec[lag+i])
		sxy += x * y
		sxx += x * x
		syy += y * y
		noise += (x - y) * (x - y)
	}
	snr = math.Inf(1)
	if noise > 0 {
		snr = 10 * math.Log10(sxx/noise)
	}
	return lag, sxy / math.Sqrt(sxx*syy), snr
}
