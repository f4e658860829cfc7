package gsm

import "math/bits"

// Basic fixed-point operators of GSM 06.10 §5.1 (add, sub, mult, mult_r,
// abs, norm, div). word is a 16-bit value, longword a 32-bit one; results
// saturate where the standard says so.

const (
	minWord = -32768
	maxWord = 32767
)

// sat16 saturates a 32-bit value to the 16-bit range.
func sat16(x int32) int16 {
	if x > maxWord {
		return maxWord
	}
	if x < minWord {
		return minWord
	}
	return int16(x)
}

// add is GSM 06.10 §5.1 add(): saturating 16-bit addition.
func add(a, b int16) int16 { return sat16(int32(a) + int32(b)) }

// sub is GSM 06.10 §5.1 sub(): saturating 16-bit subtraction.
func sub(a, b int16) int16 { return sat16(int32(a) - int32(b)) }

// mult is GSM 06.10 §5.1 mult(): (a*b) >> 15 with mult(-32768,-32768) = 32767.
func mult(a, b int16) int16 {
	if a == minWord && b == minWord {
		return maxWord
	}
	return int16((int32(a) * int32(b)) >> 15)
}

// multR is GSM 06.10 §5.1 mult_r(): rounded (a*b + 16384) >> 15.
func multR(a, b int16) int16 {
	if a == minWord && b == minWord {
		return maxWord
	}
	return int16((int32(a)*int32(b) + 16384) >> 15)
}

// abs16 is GSM 06.10 §5.1 abs(): abs(-32768) = 32767.
func abs16(a int16) int16 {
	if a < 0 {
		if a == minWord {
			return maxWord
		}
		return -a
	}
	return a
}

// ladd is GSM 06.10 §5.1 L_add(): saturating 32-bit addition.
func ladd(a, b int32) int32 {
	s := int64(a) + int64(b)
	if s > 2147483647 {
		return 2147483647
	}
	if s < -2147483648 {
		return -2147483648
	}
	return int32(s)
}

// norm is GSM 06.10 §5.1 norm(): the number of left shifts needed to
// normalise a 32-bit value (0 for values <= -2^30, 31 for zero).
func norm(a int32) int {
	if a < 0 {
		if a <= -1073741824 {
			return 0
		}
		a = ^a
	}
	return bits.LeadingZeros32(uint32(a)) - 1
}

// div is GSM 06.10 §5.1 div(): 15-bit fractional division num/denum with
// 0 <= num <= denum.
func div(num, denum int16) int16 {
	if num == 0 {
		return 0
	}
	lnum, lden := int32(num), int32(denum)
	var d int16
	for k := 0; k < 15; k++ {
		d <<= 1
		lnum <<= 1
		if lnum >= lden {
			lnum -= lden
			d++
		}
	}
	return d
}

// asl and asr are the shifts of GSM 06.10 §5.1 with out-of-range counts.
func asl(a int16, n int) int16 {
	if n >= 16 {
		return 0
	}
	if n <= -16 {
		if a < 0 {
			return -1
		}
		return 0
	}
	if n < 0 {
		return asr(a, -n)
	}
	return int16(int32(a) << n)
}

func asr(a int16, n int) int16 {
	if n >= 16 {
		if a < 0 {
			return -1
		}
		return 0
	}
	if n <= -16 {
		return 0
	}
	if n < 0 {
		return int16(int32(a) << -n)
	}
	return a >> n
}
