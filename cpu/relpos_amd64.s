//go:build amd64 && !purego

#include "textflag.h"

// func relPosRowAVX2(row, hr, wr *float32, wh, ww int)
TEXT ·relPosRowAVX2(SB), NOSPLIT, $0-40
	MOVQ row+0(FP), DI
	MOVQ hr+8(FP), SI
	MOVQ wr+16(FP), DX
	MOVQ wh+24(FP), CX
	MOVQ ww+32(FP), BX

loopy:
	TESTQ CX, CX
	JZ    done
	VBROADCASTSS (SI), Y0
	XORQ AX, AX

loopx:
	VADDPS  (DX)(AX*4), Y0, Y1
	VADDPS  (DI)(AX*4), Y1, Y1
	VMOVUPS Y1, (DI)(AX*4)
	ADDQ    $8, AX
	CMPQ    AX, BX
	JLT     loopx
	LEAQ    (DI)(BX*4), DI
	ADDQ    $4, SI
	DECQ    CX
	JMP     loopy

done:
	VZEROUPPER
	RET
