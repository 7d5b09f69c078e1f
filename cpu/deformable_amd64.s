//go:build amd64 && !purego

#include "textflag.h"

// func axpy4AVX2(acc, r0, r1, r2, r3 *float32, w *[4]float32, n int)
// acc[i] += w[0]·r0[i] + w[1]·r1[i] + w[2]·r2[i] + w[3]·r3[i] for i < n, n % 8 == 0.
TEXT ·axpy4AVX2(SB), NOSPLIT, $0-56
	MOVQ acc+0(FP), DI
	MOVQ r0+8(FP), R8
	MOVQ r1+16(FP), R9
	MOVQ r2+24(FP), R10
	MOVQ r3+32(FP), R11
	MOVQ w+40(FP), AX
	MOVQ n+48(FP), CX
	VBROADCASTSS 0(AX), Y0
	VBROADCASTSS 4(AX), Y1
	VBROADCASTSS 8(AX), Y2
	VBROADCASTSS 12(AX), Y3
	XORQ BX, BX
	SHLQ $2, CX

loop:
	CMPQ BX, CX
	JGE  done
	VMOVUPS     (DI)(BX*1), Y4
	VFMADD231PS (R8)(BX*1), Y0, Y4
	VFMADD231PS (R9)(BX*1), Y1, Y4
	VFMADD231PS (R10)(BX*1), Y2, Y4
	VFMADD231PS (R11)(BX*1), Y3, Y4
	VMOVUPS     Y4, (DI)(BX*1)
	ADDQ        $32, BX
	JMP         loop

done:
	VZEROUPPER
	RET

// func deformGather32AVX2(acc, v *float32, offs *int, ws *float32, n int)
// acc[0:32] = Σ_i ws[i]·v[offs[i] : offs[i]+32], summed in order i = 0, 1, …
// (the four accumulators are one 32-float row; each term is one FMA).
TEXT ·deformGather32AVX2(SB), NOSPLIT, $0-40
	MOVQ   acc+0(FP), DI
	MOVQ   v+8(FP), SI
	MOVQ   offs+16(FP), R8
	MOVQ   ws+24(FP), R9
	MOVQ   n+32(FP), CX
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	VXORPS Y2, Y2, Y2
	VXORPS Y3, Y3, Y3
	TESTQ  CX, CX
	JZ     gdone

gloop:
	MOVQ         (R8), AX
	VBROADCASTSS (R9), Y4
	VFMADD231PS  (SI)(AX*4), Y4, Y0
	VFMADD231PS  32(SI)(AX*4), Y4, Y1
	VFMADD231PS  64(SI)(AX*4), Y4, Y2
	VFMADD231PS  96(SI)(AX*4), Y4, Y3
	ADDQ         $8, R8
	ADDQ         $4, R9
	DECQ         CX
	JNZ          gloop

gdone:
	VMOVUPS Y0, (DI)
	VMOVUPS Y1, 32(DI)
	VMOVUPS Y2, 64(DI)
	VMOVUPS Y3, 96(DI)
	VZEROUPPER
	RET
