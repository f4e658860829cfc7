// Command segsnr compares a decoded signal with its 8 kHz source, in band:
// both are cut to 0..band Hz with an FFT brick-wall over the whole signal
// (the decoded signal is band-limited to 8 kHz the same way, so rates of
// 8000·2^k Hz are exact), the lag within ±maxlag that maximises the
// cross-correlation and the least-squares gain are applied, and the
// segmental SNR is the mean over 20 ms frames (160 samples) whose source
// energy is within 40 dB of the loudest frame of the per-frame SNR clamped
// to [-10, 35] dB. This is the method of the project's audio recipes
// (recipes/audio/snr.py) with the band and gain options on.
//
// Usage:
//
//	segsnr [-band 3400] [-maxlag 800] [-rate 16000] [-frame 160] REF.s16 DEG.s16
//
// REF is raw PCM16LE at 8 kHz mono, DEG raw PCM16LE mono at -rate Hz.
// Output is one line: lag=… gain=… n=… snr=…dB segsnr=…dB frames=a/b.
package main

import (
	"encoding/binary"
	"flag"
	"fmt"
	"math"
	"math/bits"
	"math/cmplx"
	"os"
)

func main() {
	band := flag.Float64("band", 3400, "upper band edge in Hz")
	maxLag := flag.Int("maxlag", 800, "largest lag searched, in 8 kHz samples")
	rate := flag.Int("rate", 8000, "sample rate of DEG in Hz (8000·2^k)")
	frame := flag.Int("frame", 160, "segment length in 8 kHz samples")
	flag.Parse()
	if flag.NArg() != 2 {
		flag.Usage()
		os.Exit(2)
	}
	k := *rate / 8000
	if k < 1 || *rate != 8000*k || k&(k-1) != 0 {
		fail(fmt.Errorf("rate %d Hz is not 8000·2^k", *rate))
	}
	ref, err := load(flag.Arg(0))
	if err != nil {
		fail(err)
	}
	deg, err := load(flag.Arg(1))
	if err != nil {
		fail(err)
	}
	n := max(len(ref), (len(deg)+k-1)/k) + 2**maxLag
	m := 1 << bits.Len(uint(n-1))
	// Spectra at the same bin spacing: 8000/m Hz.
	R := fft(pad(ref, m), false)
	D := fft(pad(deg, m*k), false)
	cut := int(*band * float64(m) / 8000)
	Db := make([]complex128, m)
	for i := 0; i <= cut && i < m/2; i++ {
		Db[i] = D[i] / complex(float64(k), 0)
		if i > 0 {
			Db[m-i] = cmplx.Conj(Db[i])
		}
		if i == 0 {
			Db[0] = complex(real(Db[0]), 0)
		}
	}
	Rb := make([]complex128, m)
	for i := 0; i <= cut && i < m/2; i++ {
		Rb[i] = R[i]
		if i > 0 {
			Rb[m-i] = R[m-i]
		}
	}
	// Cross-correlation c[l] = Σ ref[i]·deg[i+l].
	C := make([]complex128, m)
	for i := range C {
		C[i] = Db[i] * cmplx.Conj(Rb[i])
	}
	c := fft(C, true)
	lag, best := 0, math.Inf(-1)
	for l := -*maxLag; l <= *maxLag; l++ {
		if v := real(c[(l+m)%m]); v > best {
			best, lag = v, l
		}
	}
	r := real1(fft(Rb, true))[:len(ref)]
	d := real1(fft(Db, true))[:(len(deg)+k-1)/k]
	if lag >= 0 {
		d = d[min(lag, len(d)):]
	} else {
		r = r[min(-lag, len(r)):]
	}
	cnt := min(len(r), len(d))
	r, d = r[:cnt], d[:cnt]
	var rd, dd float64
	for i := range r {
		rd += r[i] * d[i]
		dd += d[i] * d[i]
	}
	g := 1.0
	if dd > 0 {
		g = rd / dd
	}
	var sig, noise float64
	F := *frame
	frames := cnt / F
	re := make([]float64, frames)
	ee := make([]float64, frames)
	for i := 0; i < frames*F; i++ {
		e := r[i] - g*d[i]
		re[i/F] += r[i] * r[i]
		ee[i/F] += e * e
	}
	for i := range r {
		e := r[i] - g*d[i]
		sig += r[i] * r[i]
		noise += e * e
	}
	peak := 0.0
	for _, v := range re {
		peak = max(peak, v)
	}
	var seg float64
	active := 0
	for i := range re {
		if re[i] > peak*1e-4 {
			s := 10 * math.Log10((re[i]+1e-9)/(ee[i]+1e-9))
			seg += min(max(s, -10), 35)
			active++
		}
	}
	if active > 0 {
		seg /= float64(active)
	}
	fmt.Printf("lag=%d gain=%.4f n=%d snr=%.2fdB segsnr=%.2fdB frames=%d/%d\n",
		lag, g, cnt, 10*math.Log10(sig/math.Max(noise, 1e-9)), seg, active, frames)
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "segsnr:", err)
	os.Exit(1)
}

func load(name string) ([]float64, error) {
	b, err := os.ReadFile(name)
	if err != nil {
		return nil, err
	}
	x := make([]float64, len(b)/2)
	for i := range x {
		x[i] = float64(int16(binary.LittleEndian.Uint16(b[2*i:])))
	}
	return x, nil
}

func pad(x []float64, n int) []complex128 {
	c := make([]complex128, n)
	for i, v := range x {
		c[i] = complex(v, 0)
	}
	return c
}

func real1(c []complex128) []float64 {
	x := make([]float64, len(c))
	for i, v := range c {
		x[i] = real(v)
	}
	return x
}

// fft is an in-place iterative radix-2 FFT; inverse scales by 1/n.
func fft(a []complex128, inverse bool) []complex128 {
	n := len(a)
	for i, j := 1, 0; i < n; i++ {
		bit := n >> 1
		for ; j&bit != 0; bit >>= 1 {
			j ^= bit
		}
		j ^= bit
		if i < j {
			a[i], a[j] = a[j], a[i]
		}
	}
	sign := -1.0
	if inverse {
		sign = 1
	}
	for size := 2; size <= n; size <<= 1 {
		ang := sign * 2 * math.Pi / float64(size)
		wl := complex(math.Cos(ang), math.Sin(ang))
		half := size / 2
		// Twiddles for this stage, computed once.
		tw := make([]complex128, half)
		w := complex(1, 0)
		for j := range tw {
			tw[j] = w
			w *= wl
			if j%64 == 63 {
				w = cmplx.Rect(1, ang*float64(j+1))
			}
		}
		for i := 0; i < n; i += size {
			for j := 0; j < half; j++ {
				u, v := a[i+j], a[i+j+half]*tw[j]
				a[i+j], a[i+j+half] = u+v, u-v
			}
		}
	}
	if inverse {
		s := complex(1/float64(n), 0)
		for i := range a {
			a[i] *= s
		}
	}
	return a
}
