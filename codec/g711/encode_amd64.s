//go:build !purego

#include "textflag.h"

// G.711 encoding of 16 PCM16LE samples per iteration with SSE2 (part of
// the amd64 baseline, so no CPU feature check is needed). Instead of a
// per-sample table lookup the segment and mantissa are read off the
// float32 representation of the magnitude: for a magnitude a >= 1,
// bits(float32(a)) >> 19 is (exponent << 4) | (the 4 bits after the
// leading one), which is exactly the segment/mantissa pair of G.711
// (ITU-T G.711 Tables 1 and 2), up to a constant. encode_test.go checks
// both laws against the scalar encoders on all 65,536 inputs.

// µ-law (ITU-T G.711 Table 2, 14-bit magnitude with bias 33):
//   m = x >> 15; a = min(((x ^ m) >> 2) + 33, 0x1FFF)
//   code = (2239 - (bits(float32(a)) >> 19)) | (^m & 0x80)
// (2239 = (139 << 4) | 15: 139 - exponent is 7 - segment, 15 - mantissa
// is the inverted mantissa.)
DATA ulaw33<>+0(SB)/8, $0x0021002100210021
DATA ulaw33<>+8(SB)/8, $0x0021002100210021
GLOBL ulaw33<>(SB), RODATA|NOPTR, $16
DATA ulawmax<>+0(SB)/8, $0x1fff1fff1fff1fff
DATA ulawmax<>+8(SB)/8, $0x1fff1fff1fff1fff
GLOBL ulawmax<>(SB), RODATA|NOPTR, $16
DATA ulaw2239<>+0(SB)/8, $0x000008bf000008bf
DATA ulaw2239<>+8(SB)/8, $0x000008bf000008bf
GLOBL ulaw2239<>(SB), RODATA|NOPTR, $16
DATA sign80<>+0(SB)/8, $0x0080008000800080
DATA sign80<>+8(SB)/8, $0x0080008000800080
GLOBL sign80<>(SB), RODATA|NOPTR, $16

// SIGNMAG leaves x >> 15 (0 or -1 per sample) in m and x ^ m (the
// one's-complement magnitude, as ITU-T G.711 takes it) in x.
#define SIGNMAG(x, m) \
	MOVO x, m; \
	PSRAW $15, m; \
	PXOR m, x

// FLOATBITS widens the 8 non-negative words of x to dwords (low four in x,
// high four in hi) and replaces each with bits(float32(v)) >> 19:
// (exponent << 4) | the 4 bits after the leading one.
#define FLOATBITS(x, hi) \
	MOVO x, hi; \
	PUNPCKLWL X15, x; \
	PUNPCKHWL X15, hi; \
	CVTPL2PS x, x; \
	CVTPL2PS hi, hi; \
	PSRLL $19, x; \
	PSRLL $19, hi

// ULAW8 encodes the 8 samples in register x (clobbering t1, t2, t3) into
// 8 words of x. Constants: Z zero, X10 33, X11 0x1FFF, X12 2239, X13 0x80.
#define ULAW8(x, t1, t2, t3) \
	SIGNMAG(x, t1); \
	PSRAW $2, x; \
	PADDW X10, x; \
	PMINSW X11, x; \
	FLOATBITS(x, t2); \
	MOVO X12, t3; \
	PSUBL x, t3; \
	MOVO X12, x; \
	PSUBL t2, x; \
	PACKSSLW x, t3; \
	PANDN X13, t1; \
	POR t1, t3; \
	MOVO t3, x

// BLOCK16 encodes the 16 samples at SI with ENC8 into the 16 codes at DI,
// advances SI and DI and counts CX down (flags set for the loop's JNZ).
#define BLOCK16(ENC8) \
	MOVOU (SI), X0; \
	MOVOU 16(SI), X4; \
	ENC8(X0, X1, X2, X3); \
	ENC8(X4, X5, X6, X7); \
	PACKUSWB X4, X0; \
	MOVOU X0, (DI); \
	ADDQ $32, SI; \
	ADDQ $16, DI; \
	DECQ CX

// func ulawSSE2(out, in []byte)
// len(out) is a multiple of 16 and len(in) == 2*len(out).
TEXT ·ulawSSE2(SB), NOSPLIT, $0-48
	MOVQ out_base+0(FP), DI
	MOVQ out_len+8(FP), CX
	MOVQ in_base+24(FP), SI
	SHRQ $4, CX
	JZ udone
	PXOR X15, X15
	MOVOU ulaw33<>(SB), X10
	MOVOU ulawmax<>(SB), X11
	MOVOU ulaw2239<>(SB), X12
	MOVOU sign80<>(SB), X13

uloop:
	BLOCK16(ULAW8)
	JNZ uloop

udone:
	RET

// A-law (ITU-T G.711 Table 1, 12-bit magnitude, even bits inverted):
//   m = x >> 15; i = (x ^ m) >> 4
//   r = i if i < 16, else (bits(float32(i)) >> 19) - 2080
//   code = (r | (^m & 0x80)) ^ 0x55
// (2080 = 130 << 4: exponent - 130 is the segment for i >= 16.)
DATA alaw15<>+0(SB)/8, $0x000f000f000f000f
DATA alaw15<>+8(SB)/8, $0x000f000f000f000f
GLOBL alaw15<>(SB), RODATA|NOPTR, $16
DATA alaw2080<>+0(SB)/8, $0x0000082000000820
DATA alaw2080<>+8(SB)/8, $0x0000082000000820
GLOBL alaw2080<>(SB), RODATA|NOPTR, $16
DATA alaw55<>+0(SB)/8, $0x0055005500550055
DATA alaw55<>+8(SB)/8, $0x0055005500550055
GLOBL alaw55<>(SB), RODATA|NOPTR, $16

// ALAW8: as ULAW8 for A-law. Constants: Z zero, X10 15, X11 2080,
// X12 0x55, X13 0x80.
#define ALAW8(x, t1, t2, t3) \
	SIGNMAG(x, t1); \
	PSRAW $4, x; \
	MOVO x, t3; \
	FLOATBITS(x, t2); \
	PSUBL X11, x; \
	PSUBL X11, t2; \
	PACKSSLW t2, x; \
	MOVO t3, t2; \
	PCMPGTW X10, t2; \
	PAND t2, x; \
	PANDN t3, t2; \
	POR t2, x; \
	PANDN X13, t1; \
	POR t1, x; \
	PXOR X12, x

// func alawSSE2(out, in []byte)
// len(out) is a multiple of 16 and len(in) == 2*len(out).
TEXT ·alawSSE2(SB), NOSPLIT, $0-48
	MOVQ out_base+0(FP), DI
	MOVQ out_len+8(FP), CX
	MOVQ in_base+24(FP), SI
	SHRQ $4, CX
	JZ adone
	PXOR X15, X15
	MOVOU alaw15<>(SB), X10
	MOVOU alaw2080<>(SB), X11
	MOVOU alaw55<>(SB), X12
	MOVOU sign80<>(SB), X13

aloop:
	BLOCK16(ALAW8)
	JNZ aloop

adone:
	RET
