package g726

import (
	"math/rand"
	"testing"
)

// refFmult is FMULT written out as in the Sun/spandsp reference code
// (branches, ANEXP and WANEXP as signed shifts): the test oracle for
// fmult and the generated predict. It is deliberately not derived from
// fmult, so that a mistake in fmult cannot hide in both.
func refFmult(an, srn int16) int16 {
	var anmag int
	if an > 0 {
		anmag = int(an)
	} else {
		anmag = (-int(an)) & 0x1FFF
	}
	anexp := topBit(anmag) - 5
	var anmant int
	switch {
	case anmag == 0:
		anmant = 32
	case anexp >= 0:
		anmant = anmag >> anexp
	default:
		anmant = anmag << -anexp
	}
	wanexp := anexp + ((int(srn) >> 6) & 0xF) - 13
	wanmant := (anmant*(int(srn)&0x3F) + 0x30) >> 4
	var r int
	if wanexp >= 0 {
		r = (wanmant << wanexp) & 0x7FFF
	} else {
		r = wanmant >> -wanexp
	}
	if (an ^ srn) < 0 {
		return int16(-r)
	}
	return int16(r)
}

// TestFmult compares fmult with refFmult on every input the coder can
// produce (an is A or B shifted right by two, so in [-8192, 8191]; srn is
// DQ or SR in the floating point format of FLOATA/FLOATB, so in
// [-1024, 1023]), then for every 16-bit srn with a sample of an.
func TestFmult(t *testing.T) {
	at := anTab()
	step := 1
	if raceEnabled {
		step = 61
	}
	for _, r := range []struct{ anStep, srnMin, srnMax int }{
		{step, -1024, 1023},
		{97 * step, -32768, 32767},
	} {
		for an := -8192; an <= 8191; an += r.anStep {
			for srn := r.srnMin; srn <= r.srnMax; srn++ {
				if got, want := fmult(at, int16(an), int16(srn)), refFmult(int16(an), int16(srn)); int16(got) != want {
					t.Fatalf("fmult(%d, %#x) = %d, want %d", an, uint16(srn), got, want)
				}
			}
		}
	}
}

// TestFloatRange checks the srn range TestFmult covers: FLOATA and
// FLOATB store toFloat of a 15-bit magnitude, minus 0x400 when the value
// is negative, so DQ and SR stay in [-1024, 1023] if toFloat stays in
// [0, 1023] (the reset value 32 is in range too).
func TestFloatRange(t *testing.T) {
	for mag := 0; mag <= 0x7FFF; mag++ {
		if f := toFloat(mag); f < 0 || f > 1023 {
			t.Fatalf("toFloat(%#x) = %d, outside [0, 1023]", mag, f)
		}
	}
}

// TestPredict checks the generated predict (eight copies of the body of
// fmult and the ACCUM sums) against refFmult on random states.
func TestPredict(t *testing.T) {
	rng := rand.New(rand.NewSource(7))
	var s State
	s.Reset(Rate32)
	for it := 0; it < 100000; it++ {
		for i := range s.b {
			s.b[i] = int16(rng.Intn(1<<15)) - 1<<14
			s.dq[i] = int16(rng.Intn(1 << 16))
		}
		for i := range s.a {
			s.a[i] = int16(rng.Intn(1<<15)) - 1<<14
			s.sr[i] = int16(rng.Intn(1 << 16))
		}
		zero := 0
		for i := 0; i < 6; i++ {
			zero += int(refFmult(s.b[i]>>2, s.dq[i]))
		}
		pole := int(refFmult(s.a[1]>>2, s.sr[1])) + int(refFmult(s.a[0]>>2, s.sr[0]))
		sezi, sei := s.predict()
		if sezi != int16(zero) || sei != int16(int(int16(zero))+pole) {
			t.Fatalf("predict = %d, %d; want %d, %d", sezi, sei, int16(zero), int16(int(int16(zero))+pole))
		}
	}
}

// BenchmarkPredict runs predict on 1024 random states per iteration.
func BenchmarkPredict(b *testing.B) {
	rng := rand.New(rand.NewSource(1))
	st := make([]State, 1024)
	for k := range st {
		s := &st[k]
		s.Reset(Rate32)
		for i := range s.b {
			s.b[i] = int16(rng.Intn(1<<15)) - 1<<14
			s.dq[i] = int16(rng.Intn(2048) - 1024)
		}
		for i := range s.a {
			s.a[i] = int16(rng.Intn(1<<15)) - 1<<14
			s.sr[i] = int16(rng.Intn(2048) - 1024)
		}
	}
	var sum int16
	for b.Loop() {
		for i := range st {
			sezi, sei := st[i].predict()
			sum += sezi ^ sei
		}
	}
	if sum == 1 {
		b.Log(sum) // keeps sum live
	}
}
