package g726

import (
	"math/rand"
	"testing"
)

// refFmult is FMULT written out as in the Sun/spandsp reference code, to
// check the branch-free fmult.
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

func TestFmult(t *testing.T) {
	for an := -8192; an <= 8191; an += 97 {
		for srn := -32768; srn <= 32767; srn++ {
			if got, want := fmult(int16(an), int16(srn)), refFmult(int16(an), int16(srn)); int16(got) != want {
				t.Fatalf("fmult(%d, %#x) = %d, want %d", an, uint16(srn), got, want)
			}
		}
	}
}

// TestPredict checks the inlined FMULT copy in predict against fmult.
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

// TestFmultTab checks the table-driven FMULT against the reference.
func TestFmultTab(t *testing.T) {
	for an := -8192; an <= 8191; an += 31 {
		for srn := -32768; srn <= 32767; srn += 3 {
			if got, want := fmultTab(int16(an), int16(srn)), refFmult(int16(an), int16(srn)); int16(got) != want {
				t.Fatalf("fmultTab(%d, %#x) = %d, want %d", an, uint16(srn), got, want)
			}
		}
	}
}
