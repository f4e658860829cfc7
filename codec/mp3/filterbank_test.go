package mp3

import (
	"math"
	"math/rand/v2"
	"testing"
)

// TestDCT checks the fast DCT-II and DCT-III against their definitions.
func TestDCT(t *testing.T) {
	d := newDCT32()
	rng := rand.New(rand.NewPCG(1, 2))
	var x, y, scratch [32]float64
	for i := range x {
		x[i] = rng.Float64()*2 - 1
	}
	for _, typ := range []string{"II", "III"} {
		y = x
		if typ == "II" {
			d.dct2(y[:], scratch[:])
		} else {
			d.dct3(y[:], scratch[:])
		}
		for k := 0; k < 32; k++ {
			var want float64
			for n := 0; n < 32; n++ {
				if typ == "II" {
					want += x[n] * math.Cos(math.Pi*float64((2*n+1)*k)/64)
				} else {
					want += x[n] * math.Cos(math.Pi*float64(n*(2*k+1))/64)
				}
			}
			if math.Abs(y[k]-want) > 1e-12 {
				t.Fatalf("DCT-%s[%d] = %g, want %g", typ, k, y[k], want)
			}
		}
	}
}

// TestAnalysisMatrix checks the folded matrixing against the standard's
// 32x64 product.
func TestAnalysisMatrix(t *testing.T) {
	an := newAnalysis(newDCT32())
	rng := rand.New(rand.NewPCG(3, 4))
	x := make([]float64, 512)
	for i := range x {
		x[i] = rng.Float64()*2 - 1
	}
	var s [32]float64
	an.filter(x, &s)
	for k := 0; k < 32; k++ {
		var want float64
		for i := 0; i < 64; i++ {
			var y float64
			for j := 0; j < 8; j++ {
				y += an.win[i][j] * x[511-i-64*j]
			}
			want += math.Cos(float64((2*k+1)*(i-16))*math.Pi/64) * y
		}
		if math.Abs(s[k]-want) > 1e-12 {
			t.Fatalf("S[%d] = %g, want %g", k, s[k], want)
		}
	}
}

// TestMDCT checks the folded MDCT against Annex C's formula.
func TestMDCT(t *testing.T) {
	m := newMDCT()
	rng := rand.New(rand.NewPCG(5, 6))
	var prev, cur [18]float64
	for i := range prev {
		prev[i], cur[i] = rng.Float64()*2-1, rng.Float64()*2-1
	}
	var out [18]float64
	m.transform(&prev, &cur, out[:])
	for k := 0; k < 18; k++ {
		var want float64
		for n := 0; n < 36; n++ {
			z := prev[n%18]
			if n >= 18 {
				z = cur[n-18]
			}
			want += m.win[n] * z * math.Cos(math.Pi/72*float64((2*n+1+18)*(2*k+1)))
		}
		want *= mdctScale
		if math.Abs(out[k]-want) > 1e-12 {
			t.Fatalf("X[%d] = %g, want %g", k, out[k], want)
		}
	}
}

// TestPolyphaseReconstruction: analysis followed by synthesis gives the
// input back, delayed, to within the filter bank's design accuracy.
func TestPolyphaseReconstruction(t *testing.T) {
	d := newDCT32()
	an := newAnalysis(d)
	sy := &synthesis{dct: d}
	rng := rand.New(rand.NewPCG(7, 8))
	const n = 32 * 200
	in := make([]float64, 512+n)
	for i := 512; i < len(in); i++ {
		in[i] = rng.Float64() - 0.5
	}
	out := make([]float64, n)
	var s [32]float64
	for b := 0; b < n/32; b++ {
		an.filter(in[32*b+32:32*b+544], &s)
		sy.filter(&s, out[32*b:32*b+32])
	}
	best, lag := 0.0, 0
	for l := 0; l < 1024; l++ {
		var c float64
		for i := 2000; i < 4000; i++ {
			c += out[i] * in[512+i-l]
		}
		if c > best {
			best, lag = c, l
		}
	}
	var sig, noise, g float64
	for i := 1000; i < n; i++ {
		g += out[i] * in[512+i-lag]
		sig += in[512+i-lag] * in[512+i-lag]
	}
	g /= sig
	for i := 1000; i < n; i++ {
		e := out[i] - in[512+i-lag]
		noise += e * e
	}
	snr := 10 * math.Log10(sig/noise)
	t.Logf("lag %d, gain %.6f, SNR %.1f dB", lag, g, snr)
	if snr < 80 {
		t.Errorf("SNR %.1f dB", snr)
	}
}
