//go:build amd64 && !purego

#include "textflag.h"

// Micro-kernels for the packed SGEMM (see gemm_pack.go). Both compute
//   C[mr×nr] = alpha * sum_p A[p][0..mr) ⊗ B[p][0..nr) + beta*C
// from packed panels: A row p is mr floats, B row p is nr floats.
// beta == 0 (either sign) overwrites C without reading it.

// ---------------------------------------------------------------- AVX2 6×16
// Y0..Y11: accumulators, row r in Y(2r), Y(2r+1). Y12, Y13: B row. Y14, Y15: A broadcasts.

#define K6X16(ao, bo) \
	VMOVUPS      bo(DI), Y12;        \
	VMOVUPS      bo+32(DI), Y13;     \
	VBROADCASTSS ao(SI), Y14;        \
	VFMADD231PS  Y12, Y14, Y0;       \
	VFMADD231PS  Y13, Y14, Y1;       \
	VBROADCASTSS ao+4(SI), Y15;      \
	VFMADD231PS  Y12, Y15, Y2;       \
	VFMADD231PS  Y13, Y15, Y3;       \
	VBROADCASTSS ao+8(SI), Y14;      \
	VFMADD231PS  Y12, Y14, Y4;       \
	VFMADD231PS  Y13, Y14, Y5;       \
	VBROADCASTSS ao+12(SI), Y15;     \
	VFMADD231PS  Y12, Y15, Y6;       \
	VFMADD231PS  Y13, Y15, Y7;       \
	VBROADCASTSS ao+16(SI), Y14;     \
	VFMADD231PS  Y12, Y14, Y8;       \
	VFMADD231PS  Y13, Y14, Y9;       \
	VBROADCASTSS ao+20(SI), Y15;     \
	VFMADD231PS  Y12, Y15, Y10;      \
	VFMADD231PS  Y13, Y15, Y11

// C row = alpha*acc + beta*C; Y14 = alpha, Y15 = beta, DX = row, R8 = ldc bytes.
#define STORE16(r0, r1) \
	VMULPS      Y14, r0, r0;     \
	VFMADD231PS (DX), Y15, r0;   \
	VMOVUPS     r0, (DX);        \
	VMULPS      Y14, r1, r1;     \
	VFMADD231PS 32(DX), Y15, r1; \
	VMOVUPS     r1, 32(DX);      \
	ADDQ        R8, DX

#define STORE16Z(r0, r1) \
	VMULPS  Y14, r0, r0; \
	VMOVUPS r0, (DX);    \
	VMULPS  Y14, r1, r1; \
	VMOVUPS r1, 32(DX);  \
	ADDQ    R8, DX

// func sgemmMicroAVX2x6x16(kc int, a, b, c *float32, ldc int, alpha, beta float32)
TEXT ·sgemmMicroAVX2x6x16(SB), NOSPLIT, $0-48
	MOVQ kc+0(FP), CX
	MOVQ a+8(FP), SI
	MOVQ b+16(FP), DI
	MOVQ c+24(FP), DX
	MOVQ ldc+32(FP), R8
	SHLQ $2, R8

	// Fetch the C tile now so that the final update does not wait on memory.
	MOVQ       DX, R9
	PREFETCHT0 (R9)
	PREFETCHT0 63(R9)
	ADDQ       R8, R9
	PREFETCHT0 (R9)
	PREFETCHT0 63(R9)
	ADDQ       R8, R9
	PREFETCHT0 (R9)
	PREFETCHT0 63(R9)
	ADDQ       R8, R9
	PREFETCHT0 (R9)
	PREFETCHT0 63(R9)
	ADDQ       R8, R9
	PREFETCHT0 (R9)
	PREFETCHT0 63(R9)
	ADDQ       R8, R9
	PREFETCHT0 (R9)
	PREFETCHT0 63(R9)

	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	VXORPS Y2, Y2, Y2
	VXORPS Y3, Y3, Y3
	VXORPS Y4, Y4, Y4
	VXORPS Y5, Y5, Y5
	VXORPS Y6, Y6, Y6
	VXORPS Y7, Y7, Y7
	VXORPS Y8, Y8, Y8
	VXORPS Y9, Y9, Y9
	VXORPS Y10, Y10, Y10
	VXORPS Y11, Y11, Y11

	CMPQ CX, $4
	JLT  avx2tail

avx2loop4:
	PREFETCHT0 384(SI)
	K6X16(0, 0)
	K6X16(24, 64)
	K6X16(48, 128)
	K6X16(72, 192)
	ADDQ $96, SI
	ADDQ $256, DI
	SUBQ $4, CX
	CMPQ CX, $4
	JGE  avx2loop4

avx2tail:
	TESTQ CX, CX
	JZ    avx2store

avx2loop1:
	K6X16(0, 0)
	ADDQ $24, SI
	ADDQ $64, DI
	DECQ CX
	JNZ  avx2loop1

avx2store:
	VBROADCASTSS alpha+40(FP), Y14
	MOVL         beta+44(FP), AX
	ANDL         $0x7fffffff, AX
	JZ           avx2overwrite
	VBROADCASTSS beta+44(FP), Y15
	STORE16(Y0, Y1)
	STORE16(Y2, Y3)
	STORE16(Y4, Y5)
	STORE16(Y6, Y7)
	STORE16(Y8, Y9)
	STORE16(Y10, Y11)
	VZEROUPPER
	RET

avx2overwrite:
	STORE16Z(Y0, Y1)
	STORE16Z(Y2, Y3)
	STORE16Z(Y4, Y5)
	STORE16Z(Y6, Y7)
	STORE16Z(Y8, Y9)
	STORE16Z(Y10, Y11)
	VZEROUPPER
	RET

// ------------------------------------------------------------- AVX-512 12×32
// Z0..Z23: accumulators, row r in Z(2r), Z(2r+1). Z24, Z25: B row.
// Z26..Z31: A broadcasts.

#define K12X32(ao, bo) \
	VMOVUPS      bo(DI), Z24;        \
	VMOVUPS      bo+64(DI), Z25;     \
	VBROADCASTSS ao(SI), Z26;        \
	VBROADCASTSS ao+4(SI), Z27;      \
	VBROADCASTSS ao+8(SI), Z28;      \
	VFMADD231PS  Z24, Z26, Z0;       \
	VFMADD231PS  Z25, Z26, Z1;       \
	VFMADD231PS  Z24, Z27, Z2;       \
	VFMADD231PS  Z25, Z27, Z3;       \
	VFMADD231PS  Z24, Z28, Z4;       \
	VFMADD231PS  Z25, Z28, Z5;       \
	VBROADCASTSS ao+12(SI), Z29;     \
	VBROADCASTSS ao+16(SI), Z30;     \
	VBROADCASTSS ao+20(SI), Z31;     \
	VFMADD231PS  Z24, Z29, Z6;       \
	VFMADD231PS  Z25, Z29, Z7;       \
	VFMADD231PS  Z24, Z30, Z8;       \
	VFMADD231PS  Z25, Z30, Z9;       \
	VFMADD231PS  Z24, Z31, Z10;      \
	VFMADD231PS  Z25, Z31, Z11;      \
	VBROADCASTSS ao+24(SI), Z26;     \
	VBROADCASTSS ao+28(SI), Z27;     \
	VBROADCASTSS ao+32(SI), Z28;     \
	VFMADD231PS  Z24, Z26, Z12;      \
	VFMADD231PS  Z25, Z26, Z13;      \
	VFMADD231PS  Z24, Z27, Z14;      \
	VFMADD231PS  Z25, Z27, Z15;      \
	VFMADD231PS  Z24, Z28, Z16;      \
	VFMADD231PS  Z25, Z28, Z17;      \
	VBROADCASTSS ao+36(SI), Z29;     \
	VBROADCASTSS ao+40(SI), Z30;     \
	VBROADCASTSS ao+44(SI), Z31;     \
	VFMADD231PS  Z24, Z29, Z18;      \
	VFMADD231PS  Z25, Z29, Z19;      \
	VFMADD231PS  Z24, Z30, Z20;      \
	VFMADD231PS  Z25, Z30, Z21;      \
	VFMADD231PS  Z24, Z31, Z22;      \
	VFMADD231PS  Z25, Z31, Z23

// Z26 = alpha, Z27 = beta.
#define STORE32(r0, r1) \
	VMULPS      Z26, r0, r0;     \
	VFMADD231PS (DX), Z27, r0;   \
	VMOVUPS     r0, (DX);        \
	VMULPS      Z26, r1, r1;     \
	VFMADD231PS 64(DX), Z27, r1; \
	VMOVUPS     r1, 64(DX);      \
	ADDQ        R8, DX

#define STORE32Z(r0, r1) \
	VMULPS  Z26, r0, r0; \
	VMOVUPS r0, (DX);    \
	VMULPS  Z26, r1, r1; \
	VMOVUPS r1, 64(DX);  \
	ADDQ    R8, DX

#define ZERO2(r0, r1) VPXORD r0, r0, r0; VPXORD r1, r1, r1

// func sgemmMicroAVX512x12x32(kc int, a, b, c *float32, ldc int, alpha, beta float32)
TEXT ·sgemmMicroAVX512x12x32(SB), NOSPLIT, $0-48
	MOVQ kc+0(FP), CX
	MOVQ a+8(FP), SI
	MOVQ b+16(FP), DI
	MOVQ c+24(FP), DX
	MOVQ ldc+32(FP), R8
	SHLQ $2, R8

	ZERO2(Z0, Z1)
	ZERO2(Z2, Z3)
	ZERO2(Z4, Z5)
	ZERO2(Z6, Z7)
	ZERO2(Z8, Z9)
	ZERO2(Z10, Z11)
	ZERO2(Z12, Z13)
	ZERO2(Z14, Z15)
	ZERO2(Z16, Z17)
	ZERO2(Z18, Z19)
	ZERO2(Z20, Z21)
	ZERO2(Z22, Z23)

	CMPQ CX, $4
	JLT  avx512tail

avx512loop4:
	K12X32(0, 0)
	K12X32(48, 128)
	K12X32(96, 256)
	K12X32(144, 384)
	ADDQ $192, SI
	ADDQ $512, DI
	SUBQ $4, CX
	CMPQ CX, $4
	JGE  avx512loop4

avx512tail:
	TESTQ CX, CX
	JZ    avx512store

avx512loop1:
	K12X32(0, 0)
	ADDQ $48, SI
	ADDQ $128, DI
	DECQ CX
	JNZ  avx512loop1

avx512store:
	VBROADCASTSS alpha+40(FP), Z26
	MOVL         beta+44(FP), AX
	ANDL         $0x7fffffff, AX
	JZ           avx512overwrite
	VBROADCASTSS beta+44(FP), Z27
	STORE32(Z0, Z1)
	STORE32(Z2, Z3)
	STORE32(Z4, Z5)
	STORE32(Z6, Z7)
	STORE32(Z8, Z9)
	STORE32(Z10, Z11)
	STORE32(Z12, Z13)
	STORE32(Z14, Z15)
	STORE32(Z16, Z17)
	STORE32(Z18, Z19)
	STORE32(Z20, Z21)
	STORE32(Z22, Z23)
	VZEROUPPER
	RET

avx512overwrite:
	STORE32Z(Z0, Z1)
	STORE32Z(Z2, Z3)
	STORE32Z(Z4, Z5)
	STORE32Z(Z6, Z7)
	STORE32Z(Z8, Z9)
	STORE32Z(Z10, Z11)
	STORE32Z(Z12, Z13)
	STORE32Z(Z14, Z15)
	STORE32Z(Z16, Z17)
	STORE32Z(Z18, Z19)
	STORE32Z(Z20, Z21)
	STORE32Z(Z22, Z23)
	VZEROUPPER
	RET

// ------------------------------------------------- B packing, transposed B
// packBTransAVX2 packs a full nr-column panel (nr a multiple of 8) of a
// transposed (n×k) B: dst[p*nr + x] = src[x*ldb + p] for x < nr,
// p < 8*kc8, as 8×8 transposes.

// T8 transposes 8 rows of 8 floats at AX (row stride R9, R10 = 3*R9) into
// 8 rows at DX (row stride R12, BX = 3*R12).
#define T8 \
	LEAQ       (AX)(R9*4), R11;        \
	VMOVUPS    (AX), Y0;               \
	VMOVUPS    (AX)(R9*1), Y1;         \
	VMOVUPS    (AX)(R9*2), Y2;         \
	VMOVUPS    (AX)(R10*1), Y3;        \
	VMOVUPS    (R11), Y4;              \
	VMOVUPS    (R11)(R9*1), Y5;        \
	VMOVUPS    (R11)(R9*2), Y6;        \
	VMOVUPS    (R11)(R10*1), Y7;       \
	VUNPCKLPS  Y1, Y0, Y8;             \
	VUNPCKHPS  Y1, Y0, Y9;             \
	VUNPCKLPS  Y3, Y2, Y10;            \
	VUNPCKHPS  Y3, Y2, Y11;            \
	VUNPCKLPS  Y5, Y4, Y12;            \
	VUNPCKHPS  Y5, Y4, Y13;            \
	VUNPCKLPS  Y7, Y6, Y14;            \
	VUNPCKHPS  Y7, Y6, Y15;            \
	VSHUFPS    $0x44, Y10, Y8, Y0;     \
	VSHUFPS    $0xEE, Y10, Y8, Y1;     \
	VSHUFPS    $0x44, Y11, Y9, Y2;     \
	VSHUFPS    $0xEE, Y11, Y9, Y3;     \
	VSHUFPS    $0x44, Y14, Y12, Y4;    \
	VSHUFPS    $0xEE, Y14, Y12, Y5;    \
	VSHUFPS    $0x44, Y15, Y13, Y6;    \
	VSHUFPS    $0xEE, Y15, Y13, Y7;    \
	VPERM2F128 $0x20, Y4, Y0, Y8;      \
	VPERM2F128 $0x20, Y5, Y1, Y9;      \
	VPERM2F128 $0x20, Y6, Y2, Y10;     \
	VPERM2F128 $0x20, Y7, Y3, Y11;     \
	VPERM2F128 $0x31, Y4, Y0, Y12;     \
	VPERM2F128 $0x31, Y5, Y1, Y13;     \
	VPERM2F128 $0x31, Y6, Y2, Y14;     \
	VPERM2F128 $0x31, Y7, Y3, Y15;     \
	LEAQ       (DX)(R12*4), R11;       \
	VMOVUPS    Y8, (DX);               \
	VMOVUPS    Y9, (DX)(R12*1);        \
	VMOVUPS    Y10, (DX)(R12*2);       \
	VMOVUPS    Y11, (DX)(BX*1);        \
	VMOVUPS    Y12, (R11);             \
	VMOVUPS    Y13, (R11)(R12*1);      \
	VMOVUPS    Y14, (R11)(R12*2);      \
	VMOVUPS    Y15, (R11)(BX*1)

// func packBTransAVX2(dst, src *float32, ldb, kc8, nr int)
TEXT ·packBTransAVX2(SB), NOSPLIT, $0-40
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ ldb+16(FP), R9
	MOVQ kc8+24(FP), CX
	MOVQ nr+32(FP), R13
	SHLQ $2, R9
	LEAQ (R9)(R9*2), R10   // 3 source rows
	MOVQ R13, R12
	SHLQ $2, R12           // destination row stride in bytes
	LEAQ (R12)(R12*2), BX  // 3 destination rows
	SHRQ $3, R13           // 8-row groups per panel
	TESTQ CX, CX
	JZ    packbtdone

packbtloop:
	MOVQ SI, AX
	MOVQ DI, DX
	MOVQ R13, R8

packbtgroup:
	T8
	LEAQ (AX)(R9*8), AX
	ADDQ $32, DX
	DECQ R8
	JNZ  packbtgroup

	ADDQ $32, SI
	LEAQ (DI)(R12*8), DI
	DECQ CX
	JNZ  packbtloop

packbtdone:
	VZEROUPPER
	RET

// ------------------------------------------------------- A packing, mr = 6
// packA6AVX2 packs six rows of A (row stride lda) into a 6-row panel:
// dst[p*6 + r] = src[r*lda + p] for p < 8*kc8. Each group of 8 columns is an
// 8×8 transpose (two zero rows) stored as eight overlapping 8-float writes in
// increasing order, so each write's two spare floats are overwritten by the
// next; the last one writes 2 floats past the panel (callers leave room).

// func packA6AVX2(dst, src *float32, lda, kc8 int)
TEXT ·packA6AVX2(SB), NOSPLIT, $0-32
	MOVQ   dst+0(FP), DI
	MOVQ   src+8(FP), AX
	MOVQ   lda+16(FP), R9
	MOVQ   kc8+24(FP), CX
	SHLQ   $2, R9
	LEAQ   (R9)(R9*2), R10
	LEAQ   (AX)(R9*4), R11
	VXORPS Y6, Y6, Y6
	VXORPS Y7, Y7, Y7
	TESTQ  CX, CX
	JZ     packa6done

packa6loop:
	VMOVUPS    (AX), Y0
	VMOVUPS    (AX)(R9*1), Y1
	VMOVUPS    (AX)(R9*2), Y2
	VMOVUPS    (AX)(R10*1), Y3
	VMOVUPS    (R11), Y4
	VMOVUPS    (R11)(R9*1), Y5
	VUNPCKLPS  Y1, Y0, Y8
	VUNPCKHPS  Y1, Y0, Y9
	VUNPCKLPS  Y3, Y2, Y10
	VUNPCKHPS  Y3, Y2, Y11
	VUNPCKLPS  Y5, Y4, Y12
	VUNPCKHPS  Y5, Y4, Y13
	VSHUFPS    $0x44, Y10, Y8, Y0
	VSHUFPS    $0xEE, Y10, Y8, Y1
	VSHUFPS    $0x44, Y11, Y9, Y2
	VSHUFPS    $0xEE, Y11, Y9, Y3
	VSHUFPS    $0x44, Y6, Y12, Y4
	VSHUFPS    $0xEE, Y6, Y12, Y5
	VSHUFPS    $0x44, Y6, Y13, Y14
	VSHUFPS    $0xEE, Y6, Y13, Y15
	VPERM2F128 $0x20, Y4, Y0, Y8
	VPERM2F128 $0x20, Y5, Y1, Y9
	VPERM2F128 $0x20, Y14, Y2, Y10
	VPERM2F128 $0x20, Y15, Y3, Y11
	VPERM2F128 $0x31, Y4, Y0, Y12
	VPERM2F128 $0x31, Y5, Y1, Y13
	VPERM2F128 $0x31, Y14, Y2, Y0
	VPERM2F128 $0x31, Y15, Y3, Y1
	VMOVUPS    Y8, (DI)
	VMOVUPS    Y9, 24(DI)
	VMOVUPS    Y10, 48(DI)
	VMOVUPS    Y11, 72(DI)
	VMOVUPS    Y12, 96(DI)
	VMOVUPS    Y13, 120(DI)
	VMOVUPS    Y0, 144(DI)
	VMOVUPS    Y1, 168(DI)
	ADDQ       $32, AX
	ADDQ       $32, R11
	ADDQ       $192, DI
	DECQ       CX
	JNZ        packa6loop

packa6done:
	VZEROUPPER
	RET

// ------------------------------------------- B packing, row-major B, nr = 16
// packB16AVX2 copies a full 16-column panel of a row-major (k×n) B:
// dst[p*16 + x] = src[p*ldb + x] for x < 16, p < kc, two rows a step.

// func packB16AVX2(dst, src *float32, ldb, kc int)
TEXT ·packB16AVX2(SB), NOSPLIT, $0-32
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ ldb+16(FP), R9
	MOVQ kc+24(FP), CX
	SHLQ $2, R9
	CMPQ CX, $2
	JLT  packb16tail

packb16loop2:
	VMOVUPS (SI), Y0
	VMOVUPS 32(SI), Y1
	VMOVUPS (SI)(R9*1), Y2
	VMOVUPS 32(SI)(R9*1), Y3
	VMOVUPS Y0, (DI)
	VMOVUPS Y1, 32(DI)
	VMOVUPS Y2, 64(DI)
	VMOVUPS Y3, 96(DI)
	LEAQ    (SI)(R9*2), SI
	ADDQ    $128, DI
	SUBQ    $2, CX
	CMPQ    CX, $2
	JGE     packb16loop2

packb16tail:
	TESTQ CX, CX
	JZ    packb16done
	VMOVUPS (SI), Y0
	VMOVUPS 32(SI), Y1
	VMOVUPS Y0, (DI)
	VMOVUPS Y1, 32(DI)

packb16done:
	VZEROUPPER
	RET

// ----------------------------------------- A packing, transposed A, mr = 6
// packAT6AVX2 packs a full 6-row panel of a transposed (k×m) A:
// dst[p*6 + r] = src[p*lda + r] for r < 6, p < kc: each p is a 4-float and a
// 2-float copy, two p a step. Reads and writes stay inside the panel.

// func packAT6AVX2(dst, src *float32, lda, kc int)
TEXT ·packAT6AVX2(SB), NOSPLIT, $0-32
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ lda+16(FP), R9
	MOVQ kc+24(FP), CX
	SHLQ $2, R9
	CMPQ CX, $2
	JLT  packat6tail

packat6loop2:
	VMOVUPS (SI), X0
	VMOVQ   16(SI), X1
	VMOVUPS (SI)(R9*1), X2
	VMOVQ   16(SI)(R9*1), X3
	VMOVUPS X0, (DI)
	VMOVQ   X1, 16(DI)
	VMOVUPS X2, 24(DI)
	VMOVQ   X3, 40(DI)
	LEAQ    (SI)(R9*2), SI
	ADDQ    $48, DI
	SUBQ    $2, CX
	CMPQ    CX, $2
	JGE     packat6loop2

packat6tail:
	TESTQ CX, CX
	JZ    packat6done
	VMOVUPS (SI), X0
	VMOVQ   16(SI), X1
	VMOVUPS X0, (DI)
	VMOVQ   X1, 16(DI)

packat6done:
	RET

// packB16RowsAVX2 packs np adjacent full 16-column panels of a row-major B
// row by row (so that each source row is read as one contiguous run):
// dst[q*16*kc + p*16 + x] = src[p*ldb + q*16 + x] for q < np, p < kc, x < 16.

// func packB16RowsAVX2(dst, src *float32, ldb, kc, np int)
TEXT ·packB16RowsAVX2(SB), NOSPLIT, $0-40
	MOVQ  dst+0(FP), DI
	MOVQ  src+8(FP), SI
	MOVQ  ldb+16(FP), R9
	MOVQ  kc+24(FP), CX
	MOVQ  np+32(FP), R11
	SHLQ  $2, R9
	MOVQ  CX, R10
	SHLQ  $6, R10 // panel stride in bytes: 16*kc floats
	TESTQ CX, CX
	JZ    packb16rdone
	TESTQ R11, R11
	JZ    packb16rdone

packb16rrow:
	MOVQ SI, AX
	MOVQ DI, DX
	MOVQ R11, R8

packb16rpanel:
	VMOVUPS (AX), Y0
	VMOVUPS 32(AX), Y1
	VMOVUPS Y0, (DX)
	VMOVUPS Y1, 32(DX)
	ADDQ    $64, AX
	ADDQ    R10, DX
	DECQ    R8
	JNZ     packb16rpanel

	ADDQ R9, SI
	ADDQ $64, DI
	DECQ CX
	JNZ  packb16rrow

packb16rdone:
	VZEROUPPER
	RET
