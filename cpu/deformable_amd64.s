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

// func deformCornersAVX2(offs *int, ws, locs, weights *float32, lanes *deformLanes, stride, groups int)
// deformCornersGo for groups of eight samples, one sample a lane: the same
// rounding steps, the floor by VROUNDPS, the masks by compares (false for
// NaN), the offsets in int32 (checkDeformArgs bounds them) widened to int.
// lanes: fw at 0, fh 32, xmax 64, ymax 96, base 128, row 160 (192 bytes).
TEXT ·deformCornersAVX2(SB), NOSPLIT, $0-56
	MOVQ         offs+0(FP), DI
	MOVQ         ws+8(FP), SI
	MOVQ         locs+16(FP), R8
	MOVQ         weights+24(FP), R9
	MOVQ         lanes+32(FP), R10
	MOVQ         stride+40(FP), AX
	MOVQ         groups+48(FP), CX
	LEAQ         deformConst<>(SB), R11
	VMOVQ        AX, X15
	VPBROADCASTD X15, Y15
	TESTQ        CX, CX
	JZ           cdone

cloop:
	// De-interleave (x, y) pairs: x0 x1 x4 x5 | x2 x3 x6 x7, then in order.
	VMOVUPS (R8), Y0
	VMOVUPS 32(R8), Y1
	VSHUFPS $0x88, Y1, Y0, Y2
	VSHUFPS $0xDD, Y1, Y0, Y3
	VPERMPD $0xD8, Y2, Y2
	VPERMPD $0xD8, Y3, Y3

	// x = ((2·lx − 1 + 1)·fw − 1)/2, y likewise with fh.
	VADDPS Y2, Y2, Y2
	VSUBPS (R11), Y2, Y2
	VADDPS (R11), Y2, Y2
	VMULPS (R10), Y2, Y2
	VSUBPS (R11), Y2, Y2
	VMULPS 32(R11), Y2, Y2
	VADDPS Y3, Y3, Y3
	VSUBPS (R11), Y3, Y3
	VADDPS (R11), Y3, Y3
	VMULPS 32(R10), Y3, Y3
	VSUBPS (R11), Y3, Y3
	VMULPS 32(R11), Y3, Y3

	// Y14: −1 < x < fw and −1 < y < fh (ordered compares: NaN fails).
	VCMPPS $0x1E, 64(R11), Y2, Y14
	VCMPPS $0x1E, 64(R11), Y3, Y0
	VANDPS Y0, Y14, Y14
	VCMPPS $0x11, (R10), Y2, Y0
	VANDPS Y0, Y14, Y14
	VCMPPS $0x11, 32(R10), Y3, Y0
	VANDPS Y0, Y14, Y14

	// Floors and the bilinear weights.
	VROUNDPS   $9, Y2, Y4   // x0f
	VROUNDPS   $9, Y3, Y5   // y0f
	VSUBPS     Y4, Y2, Y7   // wx1 = x − x0f
	VADDPS     (R11), Y4, Y6
	VSUBPS     Y2, Y6, Y6   // wx0 = (x0f + 1) − x
	VSUBPS     Y5, Y3, Y9   // wy1
	VADDPS     (R11), Y5, Y8
	VSUBPS     Y3, Y8, Y8   // wy0
	VCVTTPS2DQ Y4, Y4       // x0
	VCVTTPS2DQ Y5, Y5       // y0
	VMOVUPS    (R9), Y10    // attention weights

	// Which corners are inside: Y1 x0 ≥ 0, Y3 x0 < xmax, Y2 y0 ≥ 0, Y0 y0 < ymax (the last two with Y14).
	VPCMPEQD Y0, Y0, Y0
	VPCMPGTD Y0, Y4, Y1
	VPCMPGTD Y0, Y5, Y2
	VMOVDQU  64(R10), Y3
	VPCMPGTD Y4, Y3, Y3
	VMOVDQU  96(R10), Y0
	VPCMPGTD Y5, Y0, Y0
	VANDPS   Y14, Y2, Y2
	VANDPS   Y14, Y0, Y0

	// Y5 = base + y0·row + x0·stride, the nw corner's offset.
	VPMULLD 160(R10), Y5, Y5
	VPMULLD Y15, Y4, Y4
	VPADDD  Y4, Y5, Y5
	VPADDD  128(R10), Y5, Y5

	// nw: (x0, y0)
	VANDPS    Y1, Y2, Y12
	VMULPS    Y8, Y6, Y11
	VMULPS    Y10, Y11, Y11
	VANDPS    Y12, Y11, Y11
	VMOVUPS   Y11, (SI)
	VPAND     Y12, Y5, Y13
	VPMOVSXDQ X13, Y11
	VMOVDQU   Y11, (DI)
	VEXTRACTI128 $1, Y13, X13
	VPMOVSXDQ X13, Y13
	VMOVDQU   Y13, 32(DI)

	// ne: (x0+1, y0)
	VANDPS    Y3, Y2, Y12
	VMULPS    Y8, Y7, Y11
	VMULPS    Y10, Y11, Y11
	VANDPS    Y12, Y11, Y11
	VMOVUPS   Y11, 32(SI)
	VPADDD    Y15, Y5, Y13
	VPAND     Y12, Y13, Y13
	VPMOVSXDQ X13, Y11
	VMOVDQU   Y11, 64(DI)
	VEXTRACTI128 $1, Y13, X13
	VPMOVSXDQ X13, Y13
	VMOVDQU   Y13, 96(DI)

	// sw: (x0, y0+1)
	VANDPS    Y1, Y0, Y12
	VMULPS    Y9, Y6, Y11
	VMULPS    Y10, Y11, Y11
	VANDPS    Y12, Y11, Y11
	VMOVUPS   Y11, 64(SI)
	VPADDD    160(R10), Y5, Y5
	VPAND     Y12, Y5, Y13
	VPMOVSXDQ X13, Y11
	VMOVDQU   Y11, 128(DI)
	VEXTRACTI128 $1, Y13, X13
	VPMOVSXDQ X13, Y13
	VMOVDQU   Y13, 160(DI)

	// se: (x0+1, y0+1)
	VANDPS    Y3, Y0, Y12
	VMULPS    Y9, Y7, Y11
	VMULPS    Y10, Y11, Y11
	VANDPS    Y12, Y11, Y11
	VMOVUPS   Y11, 96(SI)
	VPADDD    Y15, Y5, Y13
	VPAND     Y12, Y13, Y13
	VPMOVSXDQ X13, Y11
	VMOVDQU   Y11, 192(DI)
	VEXTRACTI128 $1, Y13, X13
	VPMOVSXDQ X13, Y13
	VMOVDQU   Y13, 224(DI)

	ADDQ $64, R8
	ADDQ $32, R9
	ADDQ $192, R10
	ADDQ $128, SI
	ADDQ $256, DI
	DECQ CX
	JNZ  cloop

cdone:
	VZEROUPPER
	RET

// deformConst: eight 1.0, eight 0.5, eight −1.0.
DATA deformConst<>+0(SB)/8, $0x3f8000003f800000
DATA deformConst<>+8(SB)/8, $0x3f8000003f800000
DATA deformConst<>+16(SB)/8, $0x3f8000003f800000
DATA deformConst<>+24(SB)/8, $0x3f8000003f800000
DATA deformConst<>+32(SB)/8, $0x3f0000003f000000
DATA deformConst<>+40(SB)/8, $0x3f0000003f000000
DATA deformConst<>+48(SB)/8, $0x3f0000003f000000
DATA deformConst<>+56(SB)/8, $0x3f0000003f000000
DATA deformConst<>+64(SB)/8, $0xbf800000bf800000
DATA deformConst<>+72(SB)/8, $0xbf800000bf800000
DATA deformConst<>+80(SB)/8, $0xbf800000bf800000
DATA deformConst<>+88(SB)/8, $0xbf800000bf800000
GLOBL deformConst<>(SB), RODATA|NOPTR, $96

// func deformGather32AVX2(acc, v *float32, offs *int, ws *float32, n int, pv *float32, poffs *int)
// acc[0:32] = Σ_i ws[i]·v[offs[i] : offs[i]+32], summed in order i = 0, 1, …
// (the four accumulators are one 32-float row; each term is one FMA),
// prefetching meanwhile the rows pv[poffs[i] : poffs[i]+32] that the next
// gather reads (poffs has n entries too).
TEXT ·deformGather32AVX2(SB), NOSPLIT, $0-56
	MOVQ   acc+0(FP), DI
	MOVQ   v+8(FP), SI
	MOVQ   offs+16(FP), R8
	MOVQ   ws+24(FP), R9
	MOVQ   n+32(FP), CX
	MOVQ   pv+40(FP), R11
	MOVQ   poffs+48(FP), R10
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	VXORPS Y2, Y2, Y2
	VXORPS Y3, Y3, Y3
	TESTQ  CX, CX
	JZ     pdone

ploop:
	MOVQ         (R10), DX
	MOVQ         (R8), AX
	PREFETCHT0   (R11)(DX*4)
	PREFETCHT0   64(R11)(DX*4)
	VBROADCASTSS (R9), Y4
	VFMADD231PS  (SI)(AX*4), Y4, Y0
	VFMADD231PS  32(SI)(AX*4), Y4, Y1
	VFMADD231PS  64(SI)(AX*4), Y4, Y2
	VFMADD231PS  96(SI)(AX*4), Y4, Y3
	ADDQ         $8, R8
	ADDQ         $8, R10
	ADDQ         $4, R9
	DECQ         CX
	JNZ          ploop

pdone:
	VMOVUPS Y0, (DI)
	VMOVUPS Y1, 32(DI)
	VMOVUPS Y2, 64(DI)
	VMOVUPS Y3, 96(DI)
	VZEROUPPER
	RET
