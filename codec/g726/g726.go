package g726

import (
	"errors"
	"fmt"
	"math/bits"
	"sync"

	"github.com/vpim-milter/vpim-milter/codec/g711"
)

// predict (zz_generated_predict.go) is written from fmult below.
//go:generate go run gen.go

// ErrBadRate is returned for a bit rate other than 16, 24, 32 or 40 kbit/s.
var ErrBadRate = errors.New("g726: unsupported bit rate")

// Rate is the G.726 bit rate in kbit/s (16, 24, 32 or 40).
type Rate int

// The four G.726 rates (ITU-T G.726: 40, 32, 24 and 16 kbit/s).
const (
	Rate16 Rate = 16 // 2 bits per sample
	Rate24 Rate = 24 // 3 bits per sample
	Rate32 Rate = 32 // 4 bits per sample (G.721, audio/32KADPCM)
	Rate40 Rate = 40 // 5 bits per sample
)

// Bits returns the number of bits per code word, or 0 for an invalid rate.
func (r Rate) Bits() int {
	switch r {
	case Rate16, Rate24, Rate32, Rate40:
		return int(r) / 8
	}
	return 0
}

// Validate returns ErrBadRate (wrapped) if r is not a G.726 rate.
func (r Rate) Validate() error {
	if r.Bits() == 0 {
		return fmt.Errorf("%w: %d kbit/s", ErrBadRate, int(r))
	}
	return nil
}

// rateTables holds the per-rate constant tables of ITU-T G.726
// (quantizer decision and reconstruction levels, W(I), F(I)).
type rateTables struct {
	dqln   []int // IQUAN: code → normalised log magnitude of dq (ITU-T G.726 quantizer tables)
	wi     []int // FUNCTW: code → scale factor multiplier W(I), scaled by 32
	fi     []int // FUNCTF: code → F(I), scaled by 512
	qtab   []int // QUAN decision levels (normalised log domain)
	states int   // number of quantizer states used by QUAN
	sign   int   // sign bit of the code word
	dqMask int   // magnitude mask used by ADDB
	// qcode[dln-qlutMin] is the code word quantCode gives for DLN dln and
	// a positive difference, qcode[qlutLen+dln-qlutMin] for a negative one
	// (built from qtab by withLUT).
	qcode []uint8
	an    *[8192]uint16 // anTab, for predict
}

// qlutMin is the smallest DLN covered by the QUAN look-up tables; DLN
// stays within [-2048, 2047] because DL is at most 15<<7+127 and Y/4 at
// most 1280 (LIMB); other values fall back to the linear search.
const (
	qlutMin = -2048
	qlutLen = 4096
)

// withLUT fills t.qcode from t.qtab and returns t.
func (t *rateTables) withLUT() *rateTables {
	t.an = anTab()
	t.qcode = make([]uint8, 2*qlutLen)
	for k := 0; k < qlutLen; k++ {
		t.qcode[k] = uint8(quantCode(k+qlutMin, false, t))
		t.qcode[qlutLen+k] = uint8(quantCode(k+qlutMin, true, t))
	}
	return t
}

// Immutable per-rate tables (ITU-T G.726 quantizer tables); never written
// after they are built, on first use of their rate (sync.OnceValue), so
// start-up of a process that does not use G.726 pays nothing.
var (
	tables16 = sync.OnceValue(func() *rateTables {
		return (&rateTables{
			// ITU-T G.726, 16 kbit/s quantizer
			dqln:   []int{116, 365, 365, 116},
			wi:     []int{-704, 14048, 14048, -704},
			fi:     []int{0x000, 0xE00, 0xE00, 0x000},
			qtab:   []int{261},
			states: 4, sign: 2, dqMask: 0x3FFF,
		}).withLUT()
	})
	tables24 = sync.OnceValue(func() *rateTables {
		return (&rateTables{
			// ITU-T G.726, 24 kbit/s quantizer
			dqln:   []int{-2048, 135, 273, 373, 373, 273, 135, -2048},
			wi:     []int{-128, 960, 4384, 18624, 18624, 4384, 960, -128},
			fi:     []int{0x000, 0x200, 0x400, 0xE00, 0xE00, 0x400, 0x200, 0x000},
			qtab:   []int{8, 218, 331},
			states: 7, sign: 4, dqMask: 0x3FFF,
		}).withLUT()
	})
	tables32 = sync.OnceValue(func() *rateTables {
		return (&rateTables{
			// ITU-T G.726, 32 kbit/s quantizer
			dqln: []int{-2048, 4, 135, 213, 273, 323, 373, 425,
				425, 373, 323, 273, 213, 135, 4, -2048},
			wi: []int{-384, 576, 1312, 2048, 3584, 6336, 11360, 35904,
				35904, 11360, 6336, 3584, 2048, 1312, 576, -384},
			fi: []int{0x000, 0x000, 0x000, 0x200, 0x200, 0x200, 0x600, 0xE00,
				0xE00, 0x600, 0x200, 0x200, 0x200, 0x000, 0x000, 0x000},
			qtab:   []int{-124, 80, 178, 246, 300, 349, 400},
			states: 15, sign: 8, dqMask: 0x3FFF,
		}).withLUT()
	})
	tables40 = sync.OnceValue(func() *rateTables {
		return (&rateTables{
			// ITU-T G.726, 40 kbit/s quantizer
			dqln: []int{-2048, -66, 28, 104, 169, 224, 274, 318,
				358, 395, 429, 459, 488, 514, 539, 566,
				566, 539, 514, 488, 459, 429, 395, 358,
				318, 274, 224, 169, 104, 28, -66, -2048},
			wi: []int{448, 448, 768, 1248, 1280, 1312, 1856, 3200,
				4512, 5728, 7008, 8960, 11456, 14080, 16928, 22272,
				22272, 16928, 14080, 11456, 8960, 7008, 5728, 4512,
				3200, 1856, 1312, 1280, 1248, 768, 448, 448},
			fi: []int{0x000, 0x000, 0x000, 0x000, 0x000, 0x200, 0x200, 0x200,
				0x200, 0x200, 0x400, 0x600, 0x800, 0xA00, 0xC00, 0xC00,
				0xC00, 0xC00, 0xA00, 0x800, 0x600, 0x400, 0x200, 0x200,
				0x200, 0x200, 0x200, 0x000, 0x000, 0x000, 0x000, 0x000},
			qtab: []int{-122, -16, 68, 139, 198, 250, 298, 339,
				378, 413, 445, 475, 502, 528, 553},
			states: 31, sign: 0x10, dqMask: 0x7FFF,
		}).withLUT()
	})
)

// State is one G.726 encoder or decoder (ITU-T G.726: the encoder
// contains a decoder; both share this state). The zero value is not
// usable: call NewState or Reset.
type State struct {
	t    *rateTables
	bits int

	yl  int32    // FILTE: steady-state step size multiplier
	yu  int16    // FILTD: unlocked step size multiplier
	dms int16    // FILTA: short-term average of F(I)
	dml int16    // FILTB: long-term average of F(I)
	ap  int16    // FILTC: speed control parameter
	a   [2]int16 // pole predictor coefficients
	b   [6]int16 // zero predictor coefficients
	pk  [2]int16 // signs of p(k)
	dq  [6]int16 // quantised difference signal, float format
	sr  [2]int16 // reconstructed signal, float format
	td  bool     // TONE: tone detector output
}

// NewState returns a coder for rate r in the reset state.
func NewState(r Rate) (*State, error) {
	s := &State{}
	if err := s.Reset(r); err != nil {
		return nil, err
	}
	return s, nil
}

// Reset puts s into the initial state of ITU-T G.726 (reset values of
// the delay elements) for rate r.
func (s *State) Reset(r Rate) error {
	var t *rateTables
	switch r {
	case Rate16:
		t = tables16()
	case Rate24:
		t = tables24()
	case Rate32:
		t = tables32()
	case Rate40:
		t = tables40()
	default:
		return r.Validate()
	}
	*s = State{t: t, bits: r.Bits(), yl: 34816, yu: 544}
	s.sr = [2]int16{32, 32}
	s.dq = [6]int16{32, 32, 32, 32, 32, 32}
	return nil
}

// Bits returns the number of bits per code word.
func (s *State) Bits() int { return s.bits }

// topBit returns the index of the highest set bit of x as an unsigned
// 32-bit value, -1 for 0.
func topBit(x int) int { return bits.Len32(uint32(x)) - 1 }

func abs(x int) int {
	if x < 0 {
		return -x
	}
	return x
}

// fmult is FMULT (ITU-T G.726): the product of a predictor coefficient an
// (A or B shifted right by two, so at most 13 bits in magnitude) and a
// signal srn in the G.726 floating point format (sign in bit 15, 4-bit
// exponent SRNEXP, 6-bit mantissa SRNMANT), as a 16-bit value. at is
// anTab(), which holds the part that depends on |an| alone.
//
// This is the only definition of FMULT in the codec. predict, in
// zz_generated_predict.go, is this body written out eight times by
// internal/predictgen (go generate; the package comment there says why
// predict does not call fmult). The tests check fmult against refFmult,
// FMULT as the Sun/spandsp reference code writes it, on every input the
// coder can produce.
func fmult(at *[8192]uint16, an, srn int16) int {
	m := int(an^srn) >> 31 // -1 when the product is negative
	sm := an >> 15
	e := uint(at[uint16((an^sm)-sm)&0x1FFF]) // ANMANT, 38-(ANEXP+6) for |an|
	// WANMANT = (ANMANT*SRNMANT + 48) >> 4 and WANEXP = ANEXP + SRNEXP - 13;
	// WANMANT shifted left by WANEXP (right by -WANEXP when negative) is
	// WANMANT<<19 shifted right by 19-WANEXP = 38-(ANEXP+6)-SRNEXP > 0.
	r := int(((e&0xFF)*uint(srn&0x3F)+0x30)>>4<<19>>((e>>8-uint(srn>>6&0xF))&63)) & 0x7FFF
	return (r ^ m) - m
}

// anTab maps the 13-bit magnitude of a predictor coefficient (A or B
// shifted right by two) to the part of FMULT that depends on it alone:
// the 6-bit mantissa ANMANT in the low byte and 38 - (ANEXP + 6) above
// it. Built on first use of any rate (8 KiB), immutable afterwards.
var anTab = sync.OnceValue(buildAnTab)

func buildAnTab() *[8192]uint16 {
	var t [8192]uint16
	for anmag := range t {
		u := uint32(anmag)
		l := bits.Len32(u)                     // ANEXP + 6
		anmant := u<<6>>uint(l) | (u-1)>>31<<5 // 32 when anmag == 0
		t[anmag] = uint16(anmant | uint32(38-l)<<8)
	}
	return &t
}

// stepSize computes Y (ITU-T G.726 block MIX).
func (s *State) stepSize() int {
	if s.ap >= 256 {
		return int(s.yu)
	}
	y := int(s.yl >> 6)
	dif := int(s.yu) - y
	al := int(s.ap >> 2)
	if dif > 0 {
		y += (dif * al) >> 6
	} else if dif < 0 {
		y += (dif*al + 0x3F) >> 6
	}
	return y
}

// quantize maps the difference d to a code word (ITU-T G.726 blocks
// LOG, SUBTB, QUAN).
func quantize(d, y int, t *rateTables) int {
	m := d >> 63
	dqm := int(int16((d ^ m) - m)) // |d| as the 16-bit value of the reference
	exp := topBit(dqm>>1) + 1
	mant := ((dqm << 7) >> uint(exp&63)) & 0x7F
	dl := int(int16((exp << 7) + mant))
	dln := int(int16(dl - int(int16(y>>2))))
	if k := uint(dln - qlutMin); k < qlutLen {
		// Sign-specific QUAN result including the code mapping below.
		return int(t.qcode[k+uint(m&1)*qlutLen])
	}
	return quantCode(dln, d < 0, t)
}

// quantCode is QUAN by linear search plus the mapping of the decision
// interval to a code word; withLUT tabulates it for the usual DLN range.
func quantCode(dln int, neg bool, t *rateTables) int {
	size := (t.states - 1) >> 1
	i := 0
	for ; i < size; i++ {
		if dln < t.qtab[i] {
			break
		}
	}
	if neg {
		return (size << 1) + 1 - i
	}
	if i == 0 && t.states&1 != 0 {
		// Zero is not a valid code when the number of states is odd
		// (ITU-T G.726 40, 32 and 24 kbit/s quantizers: I = 0 is never emitted).
		return t.states
	}
	return i
}

// reconstruct computes DQ from the code (ITU-T G.726 blocks
// IQUAN (the table look-up), ADDA, ANTILOG).
func reconstruct(sign bool, dqln, y int) int16 {
	dql := int16(dqln + (y >> 2)) // ADDA
	if dql < 0 {
		if sign {
			return -0x8000
		}
		return 0
	}
	dex := (int(dql) >> 7) & 15 // ANTILOG
	dqt := 128 + (int(dql) & 127)
	dq := int16((dqt << 7) >> (14 - dex))
	if sign {
		return int16(int(dq) - 0x8000)
	}
	return dq
}

// update adapts the state after one code (ITU-T G.726 blocks
// FUNCTW, FILTD, LIMB, FILTE, UPA1, UPA2, LIMC, LIMD, UPB, FLOATA, FLOATB,
// TONE, TRANS, FILTA, FILTB, SUBTC, FILTC). The tests on signs of the
// speech signal are written without branches (a mispredicted branch
// costs more than the arithmetic); the clamps are min/max.
func (s *State) update(y, wi, fi, dq, sr, dqsez int) {
	pk0 := (dqsez >> 63) & 1 // sign of DQ + SEZ
	mag := dq & 0x7FFF

	// TRANS (ITU-T G.726)
	tr := false
	if s.td {
		ylint := int(s.yl >> 15)
		ylfrac := int((s.yl >> 10) & 0x1F)
		var thr int
		if ylint > 9 {
			thr = 31 << 10
		} else {
			thr = int(int16((32 + ylfrac) << uint(ylint&15)))
		}
		dqthr := int(int16((thr + (thr >> 1)) >> 1))
		tr = mag > dqthr
	}

	// FUNCTW, FILTD, LIMB (ITU-T G.726)
	yu := min(max(int(int16(y+((wi-y)>>5))), 544), 5120)
	s.yu = int16(yu)
	// FILTE
	s.yl += int32(yu) + ((-s.yl) >> 6)

	a2p := 0
	if tr {
		// Transition detected: reset the predictor (ITU-T G.726 block TRIGB).
		s.a = [2]int16{}
		s.b = [6]int16{}
	} else {
		// UPA2 (ITU-T G.726); n is -1 when PK0 == PK1 (PKS1 = 0), else 0
		n := (pk0 ^ int(s.pk[0])) - 1
		a0, a1 := int(s.a[0]), int(s.a[1])
		a2p = a1 - (a1 >> 7)
		a0 -= a0 >> 8 // UPA1 leak
		if dqsez != 0 {
			fa1 := (int(s.a[0]) ^ n) - n // -A1 (before UPA1) when PKS1 = 0
			a2p += min(max(fa1>>5, -0x100), 0xFF)
			// LIMC: -0x80 when PK0 != PK2, +0x80 otherwise, then clamp
			m := -(pk0 ^ int(s.pk[1]))
			a2p = min(max(a2p+(0x80^m)-m, -12288), 12288)
			// UPA1: +192 when PKS1 = 0, else -192
			a0 += (-192 ^ n) - n
		}
		s.a[1] = int16(a2p)
		// LIMD
		a1ul := 15360 - a2p
		s.a[0] = int16(min(max(int(int16(a0)), -a1ul), a1ul))

		// UPB: 40 kbit/s uses a leak factor of 2^-9 (ITU-T G.726)
		shift := uint(8)
		if s.bits == 5 {
			shift = 9
		}
		// UGBn is +128 when DQ and DQ(k-n) have the same sign (m = 0),
		// -128 otherwise (m = -1), and 0 when DQ is 0: the second loop
		// is the first without that term. One loop with the term masked
		// to 0 executes about 24 more instructions per sample (cachegrind,
		// BenchmarkG726Encode and BenchmarkG726Decode, go1.26.8 amd64).
		if mag != 0 {
			for i := range s.b {
				bi := int(s.b[i])
				m := (dq ^ int(s.dq[i])) >> 63
				s.b[i] = int16(bi - (bi >> shift) + (128 ^ m) - m)
			}
		} else {
			for i := range s.b {
				bi := int(s.b[i])
				s.b[i] = int16(bi - (bi >> shift))
			}
		}
	}

	// DELAY and FLOATA: dq in 4-bit exponent, 6-bit mantissa format
	s.dq[5], s.dq[4], s.dq[3], s.dq[2], s.dq[1] = s.dq[4], s.dq[3], s.dq[2], s.dq[1], s.dq[0]
	s.dq[0] = int16(toFloat(mag) - 0x400&(dq>>63))

	// FLOATB (-32768 has magnitude 0 in 15 bits, as in the reference)
	m := sr >> 63
	s.sr[1] = s.sr[0]
	s.sr[0] = int16(toFloat(((sr^m)-m)&0x7FFF) - 0x400&m)

	// DELAY
	s.pk[1] = s.pk[0]
	s.pk[0] = int16(pk0)

	// TONE (ITU-T G.726); A2P is 0 after a transition
	s.td = a2p < -11776

	// FILTA, FILTB (ITU-T G.726)
	s.dms = int16(int(s.dms) + ((int(int16(fi)) - int(s.dms)) >> 5))
	s.dml = int16(int(s.dml) + ((int(int16(fi<<2)) - int(s.dml)) >> 7))

	// SUBTC, FILTC
	switch {
	case tr:
		s.ap = 256
	case y < 1536, s.td, abs((int(s.dms)<<2)-int(s.dml)) >= int(s.dml)>>3:
		s.ap = int16(int(s.ap) + ((0x200 - int(s.ap)) >> 4))
	default:
		s.ap = int16(int(s.ap) + ((-int(s.ap)) >> 4))
	}
}

// toFloat converts a magnitude of up to 15 bits to the unsigned G.726
// floating point format (4-bit exponent, 6-bit mantissa; 0 becomes 0x20
// as in FLOATA and FLOATB).
func toFloat(mag int) int {
	exp := bits.Len32(uint32(mag))
	z := ((mag - 1) >> 63) & 0x20 // 0x20 when mag == 0
	return exp<<6 + (mag<<6)>>uint(exp&31) + z
}

// encode runs one step of the encoder on a 14-bit linear sample.
func (s *State) encode(sl int) int {
	t := s.t
	sezi, sei := s.predict()
	se := int(sei >> 1)
	d := int(int16(sl - se))
	y := s.stepSize()
	i := quantize(d, y, t)
	dq := int(reconstruct(i&t.sign != 0, t.dqln[i], y))
	var sr int
	if dq < 0 {
		sr = int(int16(se - (dq & t.dqMask)))
	} else {
		sr = int(int16(se + dq))
	}
	dqsez := int(int16(sr + int(sezi>>1) - se))
	s.update(y, t.wi[i], t.fi[i], dq, sr, dqsez)
	return i
}

// decode runs one step of the decoder and returns the reconstructed
// signal SR (16-bit, as the state uses it), the same sum without the
// 16-bit wrap (for clamped output), the signal estimate SE and the step
// size Y.
func (s *State) decode(code int) (sr, full, se, y int) {
	t := s.t
	code &= (1 << s.bits) - 1
	sezi, sei := s.predict()
	y = s.stepSize()
	dq := int(reconstruct(code&t.sign != 0, t.dqln[code], y))
	se = int(sei >> 1)
	if dq < 0 {
		full = se - (dq & t.dqMask) // ADDB
	} else {
		full = se + dq
	}
	sr = int(int16(full))
	dqsez := int(int16(sr + int(sezi>>1) - se))
	s.update(y, t.wi[code], t.fi[code], dq, sr, dqsez)
	return sr, full, se, y
}

// EncodeLinear encodes one 16-bit linear sample and returns its code word.
// The two least significant bits are dropped (G.726 works on 14 bits).
func (s *State) EncodeLinear(x int16) uint8 { return uint8(s.encode(int(x) >> 2)) }

// EncodeULaw encodes one G.711 µ-law sample (ITU-T G.726 block EXPAND).
func (s *State) EncodeULaw(c byte) uint8 {
	return uint8(s.encode(int(g711.DecodeULaw(c)) >> 2))
}

// EncodeALaw encodes one G.711 A-law sample (ITU-T G.726 block EXPAND).
func (s *State) EncodeALaw(c byte) uint8 {
	return uint8(s.encode(int(g711.DecodeALaw(c)) >> 2))
}

// DecodeLinear decodes one code word to a 16-bit linear sample, clamped
// to [-32768, 32767] instead of wrapping.
func (s *State) DecodeLinear(code uint8) int16 {
	_, full, _, _ := s.decode(int(code))
	return clamp16(full << 2)
}

// DecodeULaw decodes one code word to a µ-law sample with the synchronous
// tandem adjustment (ITU-T G.726 blocks COMPRESS and SYNC).
func (s *State) DecodeULaw(code uint8) byte {
	sr, _, se, y := s.decode(int(code))
	return s.tandemULaw(sr, se, y, int(code)&((1<<s.bits)-1))
}

// DecodeALaw decodes one code word to an A-law sample with the synchronous
// tandem adjustment (ITU-T G.726 blocks COMPRESS and SYNC).
func (s *State) DecodeALaw(code uint8) byte {
	sr, _, se, y := s.decode(int(code))
	return s.tandemALaw(sr, se, y, int(code)&((1<<s.bits)-1))
}

func clamp16(v int) int16 {
	if v > 32767 {
		return 32767
	}
	if v < -32768 {
		return -32768
	}
	return int16(v)
}

// compressULaw is the µ-law COMPRESS block of ITU-T G.726. Unlike
// the G.711 encoder of the ITU-T STL (and g711.EncodeULaw) it takes the
// magnitude of a negative value as -x rather than -x-1; the G.726 test
// sequences depend on this.
func compressULaw(x int) byte {
	const bias = 0x84
	mask := 0xFF
	if x < 0 {
		x = bias - x
		mask = 0x7F
	} else {
		x += bias
	}
	seg := topBit(x|0xFF) - 7
	if seg >= 8 {
		return byte(0x7F ^ mask)
	}
	return byte(((seg << 4) | ((x >> (seg + 3)) & 0x0F)) ^ mask)
}

// tandemULaw implements COMPRESS and SYNC for µ-law (ITU-T G.726).
func (s *State) tandemULaw(sr, se, y, i int) byte {
	if sr <= -32768 {
		sr = 0
	}
	sp := compressULaw(sr << 2)
	dx := int(int16((int(g711.DecodeULaw(sp)) >> 2) - se))
	id := quantize(dx, y, s.t)
	if id == i {
		return sp
	}
	sign := s.t.sign
	if (id ^ sign) > (i ^ sign) {
		// next lower value
		if sp&0x80 != 0 {
			if sp == 0xFF {
				return 0x7E
			}
			return sp + 1
		}
		if sp == 0x00 {
			return 0x00
		}
		return sp - 1
	}
	// next higher value
	if sp&0x80 != 0 {
		if sp == 0x80 {
			return 0x80
		}
		return sp - 1
	}
	if sp == 0x7F {
		return 0xFE
	}
	return sp + 1
}

// tandemALaw implements COMPRESS and SYNC for A-law (ITU-T G.726).
func (s *State) tandemALaw(sr, se, y, i int) byte {
	if sr <= -32768 {
		sr = -1
	}
	sp := g711.EncodeALaw(clamp16((sr >> 1) << 3))
	dx := int(int16((int(g711.DecodeALaw(sp)) >> 2) - se))
	id := quantize(dx, y, s.t)
	if id == i {
		return sp
	}
	sign := s.t.sign
	if (id ^ sign) > (i ^ sign) {
		// next lower value
		if sp&0x80 != 0 {
			if sp == 0xD5 {
				return 0x55
			}
			return ((sp ^ 0x55) - 1) ^ 0x55
		}
		if sp == 0x2A {
			return 0x2A
		}
		return ((sp ^ 0x55) + 1) ^ 0x55
	}
	// next higher value
	if sp&0x80 != 0 {
		if sp == 0xAA {
			return 0xAA
		}
		return ((sp ^ 0x55) + 1) ^ 0x55
	}
	if sp == 0x55 {
		return 0xD5
	}
	return ((sp ^ 0x55) - 1) ^ 0x55
}
