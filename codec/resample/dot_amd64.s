#include "textflag.h"

// func dotSSE(a, b []float32) float32
// Inner product of a and b (len(b) == len(a), a multiple of 8), four lanes
// of MULPS/ADDPS with two accumulators.
TEXT ·dotSSE(SB), NOSPLIT, $0-52
	MOVQ a_base+0(FP), SI
	MOVQ a_len+8(FP), CX
	MOVQ b_base+24(FP), DI
	XORPS X0, X0
	XORPS X1, X1
	SHRQ $3, CX
	JZ done

loop:
	MOVUPS (SI), X2
	MOVUPS 16(SI), X3
	MOVUPS (DI), X4
	MOVUPS 16(DI), X5
	MULPS X4, X2
	MULPS X5, X3
	ADDPS X2, X0
	ADDPS X3, X1
	ADDQ $32, SI
	ADDQ $32, DI
	DECQ CX
	JNZ loop

done:
	ADDPS X1, X0
	MOVAPS X0, X1
	SHUFPS $0x4E, X1, X1
	ADDPS X1, X0
	MOVAPS X0, X1
	SHUFPS $0xB1, X1, X1
	ADDPS X1, X0
	MOVSS X0, ret+48(FP)
	RET
