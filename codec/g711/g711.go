package g711

import (
	"math/bits"
	"sync"
)

// Law selects the companding law.
type Law int

const (
	// ULaw is G.711 µ-law (ITU-T G.711 Table 2), as used by audio/basic.
	ULaw Law = iota + 1
	// ALaw is G.711 A-law (ITU-T G.711 Table 1).
	ALaw
)

// String returns "µ-law" or "A-law".
func (l Law) String() string {
	switch l {
	case ULaw:
		return "µ-law"
	case ALaw:
		return "A-law"
	}
	return "unknown law"
}

const (
	ulawBias = 0x84 // ITU-T G.711 µ-law bias (33 on the 14-bit scale, 132 on 16 bits)
	alawAMI  = 0x55 // ITU-T G.711 A-law: the even bits of each code are inverted
)

// Immutable lookup tables (allowed by STYLE.md: immutable lookup
// tables). The encoding tables are indexed by the top 14 bits of the
// sample offset by 32768 ((s ^ 0x8000) >> 2): the two low bits never
// change a code (µ-law adds them to the bias 0x84, whose two low bits are
// 0, so nothing carries; A-law drops four bits). They are built on first
// use, so a process that does not encode G.711 pays nothing at start-up.
var (
	ulawEncTab = sync.OnceValue(func() *[encTabLen]byte { return buildEncTable(ulawEncode) })
	alawEncTab = sync.OnceValue(func() *[encTabLen]byte { return buildEncTable(alawEncode) })
	ulawDecTab = buildDecTable(ulawDecode) // µ-law code → linear
	alawDecTab = buildDecTable(alawDecode) // A-law code → linear
)

// encTabLen is the size of an encoding table: one entry per 14-bit value.
const encTabLen = 1 << 14

// encIndex returns the encoding table index of s.
func encIndex(s int16) uint16 { return (uint16(s) ^ 0x8000) >> 2 }

func buildEncTable(f func(int) byte) *[encTabLen]byte {
	var t [encTabLen]byte
	for i := range t {
		t[i] = f(i<<2 - 32768)
	}
	return &t
}

func buildDecTable(f func(byte) int16) *[256]int16 {
	var t [256]int16
	for i := range t {
		t[i] = f(byte(i))
	}
	return &t
}

// topBit returns the index of the most significant set bit, -1 for 0.
func topBit(x int) int { return bits.Len(uint(x)) - 1 }

// ulawEncode compresses a 16-bit linear sample (ITU-T G.711 Table 2:
// 14-bit magnitude with bias 33, on the 16-bit scale bias 132).
func ulawEncode(linear int) byte {
	mask := 0xFF
	if linear < 0 {
		linear = ulawBias - linear - 1
		mask = 0x7F
	} else {
		linear = ulawBias + linear
	}
	seg := topBit(linear|0xFF) - 7
	if seg >= 8 {
		return byte(0x7F ^ mask)
	}
	return byte(((seg << 4) | ((linear >> (seg + 3)) & 0x0F)) ^ mask)
}

// ulawDecode expands a µ-law code to 16-bit linear (ITU-T G.711 Table 2).
func ulawDecode(code byte) int16 {
	u := ^code
	t := ((int(u&0x0F) << 3) + ulawBias) << ((int(u) & 0x70) >> 4)
	if u&0x80 != 0 {
		return int16(ulawBias - t)
	}
	return int16(t - ulawBias)
}

// alawEncode compresses a 16-bit linear sample (ITU-T G.711 Table 1,
// 13-bit magnitude; even bits inverted).
func alawEncode(linear int) byte {
	mask := alawAMI | 0x80
	if linear < 0 {
		mask = alawAMI
		linear = -linear - 1
	}
	seg := topBit(linear|0xFF) - 7
	if seg >= 8 {
		return byte(0x7F ^ mask)
	}
	shift := 4
	if seg > 0 {
		shift = seg + 3
	}
	return byte(((seg << 4) | ((linear >> shift) & 0x0F)) ^ mask)
}

// alawDecode expands an A-law code to 16-bit linear (ITU-T G.711 Table 1).
func alawDecode(code byte) int16 {
	a := code ^ alawAMI
	i := int(a&0x0F) << 4
	seg := (int(a) & 0x70) >> 4
	if seg > 0 {
		i = (i + 0x108) << (seg - 1)
	} else {
		i += 8
	}
	if a&0x80 != 0 {
		return int16(i)
	}
	return int16(-i)
}

// EncodeULaw returns the µ-law code of a 16-bit linear sample.
func EncodeULaw(s int16) byte { return ulawEncTab()[encIndex(s)] }

// DecodeULaw returns the 16-bit linear value of a µ-law code.
func DecodeULaw(c byte) int16 { return ulawDecTab[c] }

// EncodeALaw returns the A-law code of a 16-bit linear sample.
func EncodeALaw(s int16) byte { return alawEncTab()[encIndex(s)] }

// DecodeALaw returns the 16-bit linear value of an A-law code.
func DecodeALaw(c byte) int16 { return alawDecTab[c] }

// Encode returns the code of s under law l (µ-law for any other value).
func (l Law) Encode(s int16) byte {
	if l == ALaw {
		return EncodeALaw(s)
	}
	return EncodeULaw(s)
}

// Decode returns the linear value of code c under law l (µ-law for any other value).
func (l Law) Decode(c byte) int16 {
	if l == ALaw {
		return DecodeALaw(c)
	}
	return DecodeULaw(c)
}

func (l Law) encTable() *[encTabLen]byte {
	if l == ALaw {
		return alawEncTab()
	}
	return ulawEncTab()
}

func (l Law) decTable() *[256]int16 {
	if l == ALaw {
		return alawDecTab
	}
	return ulawDecTab
}
