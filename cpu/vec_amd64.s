//go:build amd64 && !purego

#include "textflag.h"

// Elementwise and row kernels (exp, softmax passes, GELU, LayerNorm passes)
// for AVX2+FMA. Every routine takes n a multiple of 8 (n may be 0, except
// maxAVX2 which needs n ≥ 8); the Go wrappers do the tails. Constants are
// broadcast 8-lane vectors in vconst below.

#define C_LOG2E  vconst<>+0(SB)
#define C_LN2HI  vconst<>+32(SB)
#define C_LN2LO  vconst<>+64(SB)
#define C_E5     vconst<>+96(SB)
#define C_E4     vconst<>+128(SB)
#define C_E3     vconst<>+160(SB)
#define C_E2     vconst<>+192(SB)
#define C_E1     vconst<>+224(SB)
#define C_E0     vconst<>+256(SB)
#define C_ONE    vconst<>+288(SB)
#define C_EXPHI  vconst<>+320(SB)
#define C_EXPLO  vconst<>+352(SB)
#define C_RSQRT2 vconst<>+384(SB)
#define C_FOUR   vconst<>+416(SB)
#define C_MFOUR  vconst<>+448(SB)
#define C_HALF   vconst<>+480(SB)
#define C_P0     vconst<>+512(SB)
#define C_P1     vconst<>+544(SB)
#define C_P2     vconst<>+576(SB)
#define C_P3     vconst<>+608(SB)
#define C_P4     vconst<>+640(SB)
#define C_P5     vconst<>+672(SB)
#define C_P6     vconst<>+704(SB)
#define C_Q0     vconst<>+736(SB)
#define C_Q1     vconst<>+768(SB)
#define C_Q2     vconst<>+800(SB)
#define C_Q3     vconst<>+832(SB)
#define C_Q4     vconst<>+864(SB)
#define C_I127   vconst<>+896(SB)
#define C_NINF   vconst<>+928(SB)

// EXP8 replaces X by e^X, X already clamped to [-104, 89] (NaN kept): k =
// round(X·log2 e), r = X - k·ln2 (two parts), e^r by the Cephes polynomial,
// times 2^k built as 2^(k>>1)·2^(k-(k>>1)) so that k from -150 to 128 needs
// no branch (subnormal results round once, k = 128 overflows to +Inf).
#define EXP8(X, K, P, T) \
	VMULPS       C_LOG2E, X, K \
	VROUNDPS     $0, K, K \
	VFNMADD231PS C_LN2HI, K, X \
	VFNMADD231PS C_LN2LO, K, X \
	VMOVUPS      C_E5, P \
	VFMADD213PS  C_E4, X, P \
	VFMADD213PS  C_E3, X, P \
	VFMADD213PS  C_E2, X, P \
	VFMADD213PS  C_E1, X, P \
	VFMADD213PS  C_E0, X, P \
	VMULPS       X, X, T \
	VFMADD213PS  X, T, P \
	VADDPS       C_ONE, P, P \
	VCVTPS2DQ    K, K \
	VPSRAD       $1, K, T \
	VPSUBD       T, K, K \
	VPADDD       C_I127, T, T \
	VPSLLD       $23, T, T \
	VPADDD       C_I127, K, K \
	VPSLLD       $23, K, K \
	VMULPS       T, P, P \
	VMULPS       K, P, X

// CLAMPEXP clamps X to [-104, 89] keeping NaN (X is the second source, which
// MINPS/MAXPS return when either is NaN); HI and LO hold the bounds.
#define CLAMPEXP(X, HI, LO) \
	VMINPS X, HI, X \
	VMAXPS X, LO, X

// func expSumAVX2(dst, src *float32, n int, m float32) float32
// dst[i] = e^(src[i]-m); returns the float32 sum of dst.
TEXT ·expSumAVX2(SB), NOSPLIT, $0-36
	MOVQ         dst+0(FP), DI
	MOVQ         src+8(FP), SI
	MOVQ         n+16(FP), CX
	VBROADCASTSS m+24(FP), Y15
	VXORPS       Y14, Y14, Y14
	VXORPS       Y11, Y11, Y11
	VMOVUPS      C_EXPHI, Y13
	VMOVUPS      C_EXPLO, Y12

loop16:
	CMPQ    CX, $16
	JLT     loop8
	VMOVUPS (SI), Y0
	VMOVUPS 32(SI), Y4
	VSUBPS  Y15, Y0, Y0
	VSUBPS  Y15, Y4, Y4
	CLAMPEXP(Y0, Y13, Y12)
	CLAMPEXP(Y4, Y13, Y12)
	EXP8(Y0, Y1, Y2, Y3)
	EXP8(Y4, Y5, Y6, Y7)
	VMOVUPS Y0, (DI)
	VMOVUPS Y4, 32(DI)
	VADDPS  Y0, Y14, Y14
	VADDPS  Y4, Y11, Y11
	ADDQ    $64, SI
	ADDQ    $64, DI
	SUBQ    $16, CX
	JMP     loop16

loop8:
	CMPQ    CX, $8
	JLT     done
	VMOVUPS (SI), Y0
	VSUBPS  Y15, Y0, Y0
	CLAMPEXP(Y0, Y13, Y12)
	EXP8(Y0, Y1, Y2, Y3)
	VMOVUPS Y0, (DI)
	VADDPS  Y0, Y14, Y14
	ADDQ    $32, SI
	ADDQ    $32, DI
	SUBQ    $8, CX
	JMP     loop8

done:
	VADDPS       Y11, Y14, Y14
	VEXTRACTF128 $1, Y14, X1
	VADDPS       X1, X14, X0
	VHADDPS      X0, X0, X0
	VHADDPS      X0, X0, X0
	VMOVSS       X0, ret+32(FP)
	VZEROUPPER
	RET

// func maxAVX2(x *float32, n int) float32
// Largest element, ignoring NaN (as v > m in Go); -Inf if none. n ≥ 8.
TEXT ·maxAVX2(SB), NOSPLIT, $0-20
	MOVQ    x+0(FP), SI
	MOVQ    n+8(FP), CX
	VMOVUPS C_NINF, Y0
	VMOVUPS C_NINF, Y1

max16:
	CMPQ    CX, $16
	JLT     max8
	VMOVUPS (SI), Y2
	VMOVUPS 32(SI), Y3
	VMAXPS  Y0, Y2, Y0 // (x > m) ? x : m
	VMAXPS  Y1, Y3, Y1
	ADDQ    $64, SI
	SUBQ    $16, CX
	JMP     max16

max8:
	CMPQ    CX, $8
	JLT     maxdone
	VMOVUPS (SI), Y2
	VMAXPS  Y0, Y2, Y0
	ADDQ    $32, SI
	SUBQ    $8, CX
	JMP     max8

maxdone:
	VMAXPS       Y1, Y0, Y0
	VEXTRACTF128 $1, Y0, X1
	VMAXPS       X1, X0, X0
	VPERMILPS    $0x4e, X0, X1
	VMAXPS       X1, X0, X0
	VPERMILPS    $0xb1, X0, X1
	VMAXPS       X1, X0, X0
	VMOVSS       X0, ret+16(FP)
	VZEROUPPER
	RET

// func scaleAVX2(x *float32, n int, s float32)
TEXT ·scaleAVX2(SB), NOSPLIT, $0-20
	MOVQ         x+0(FP), SI
	MOVQ         n+8(FP), CX
	VBROADCASTSS s+16(FP), Y15

scale16:
	CMPQ    CX, $16
	JLT     scale8
	VMULPS  (SI), Y15, Y0
	VMULPS  32(SI), Y15, Y1
	VMOVUPS Y0, (SI)
	VMOVUPS Y1, 32(SI)
	ADDQ    $64, SI
	SUBQ    $16, CX
	JMP     scale16

scale8:
	CMPQ    CX, $8
	JLT     scaledone
	VMULPS  (SI), Y15, Y0
	VMOVUPS Y0, (SI)
	ADDQ    $32, SI
	SUBQ    $8, CX
	JMP     scale8

scaledone:
	VZEROUPPER
	RET

// func divAVX2(x *float32, n int, d float32)
// x[i] /= d for i < n, n % 8 == 0 (VDIVPS: the same IEEE quotient as a
// scalar division).
TEXT ·divAVX2(SB), NOSPLIT, $0-20
	MOVQ         x+0(FP), SI
	MOVQ         n+8(FP), CX
	VBROADCASTSS d+16(FP), Y15

div16:
	CMPQ    CX, $16
	JLT     div8
	VMOVUPS (SI), Y0
	VMOVUPS 32(SI), Y1
	VDIVPS  Y15, Y0, Y0
	VDIVPS  Y15, Y1, Y1
	VMOVUPS Y0, (SI)
	VMOVUPS Y1, 32(SI)
	ADDQ    $64, SI
	SUBQ    $16, CX
	JMP     div16

div8:
	CMPQ    CX, $8
	JLT     divdone
	VMOVUPS (SI), Y0
	VDIVPS  Y15, Y0, Y0
	VMOVUPS Y0, (SI)
	ADDQ    $32, SI
	SUBQ    $8, CX
	JMP     div8

divdone:
	VZEROUPPER
	RET

// GELU8 replaces X by 0.5·X·(1 + erf(X/√2)), erf the Eigen/XLA float32
// rational on [-4, 4]. Uses Z, Z2, P, Q; HI and LO hold ±4.
#define GELU8(X, Z, Z2, P, Q, HI, LO) \
	VMULPS      C_RSQRT2, X, Z \
	VMINPS      Z, HI, Z \
	VMAXPS      Z, LO, Z \
	VMULPS      Z, Z, Z2 \
	VMOVUPS     C_P0, P \
	VFMADD213PS C_P1, Z2, P \
	VFMADD213PS C_P2, Z2, P \
	VFMADD213PS C_P3, Z2, P \
	VFMADD213PS C_P4, Z2, P \
	VFMADD213PS C_P5, Z2, P \
	VFMADD213PS C_P6, Z2, P \
	VMULPS      Z, P, P \
	VMOVUPS     C_Q0, Q \
	VFMADD213PS C_Q1, Z2, Q \
	VFMADD213PS C_Q2, Z2, Q \
	VFMADD213PS C_Q3, Z2, Q \
	VFMADD213PS C_Q4, Z2, Q \
	VDIVPS      Q, P, P \
	VMULPS      C_HALF, X, X \
	VFMADD231PS P, X, X

// func geluAVX2(x *float32, n int)
TEXT ·geluAVX2(SB), NOSPLIT, $0-16
	MOVQ    x+0(FP), SI
	MOVQ    n+8(FP), CX
	VMOVUPS C_FOUR, Y15
	VMOVUPS C_MFOUR, Y14

gelu16:
	CMPQ    CX, $16
	JLT     gelu8
	VMOVUPS (SI), Y0
	VMOVUPS 32(SI), Y5
	GELU8(Y0, Y1, Y2, Y3, Y4, Y15, Y14)
	GELU8(Y5, Y6, Y7, Y8, Y9, Y15, Y14)
	VMOVUPS Y0, (SI)
	VMOVUPS Y5, 32(SI)
	ADDQ    $64, SI
	SUBQ    $16, CX
	JMP     gelu16

gelu8:
	CMPQ    CX, $8
	JLT     geludone
	VMOVUPS (SI), Y0
	GELU8(Y0, Y1, Y2, Y3, Y4, Y15, Y14)
	VMOVUPS Y0, (SI)
	ADDQ    $32, SI
	SUBQ    $8, CX
	JMP     gelu8

geludone:
	VZEROUPPER
	RET

// func sumF64AVX2(x *float32, n int) float64
// Σ x[i] accumulated in float64 (four lanes × two accumulators).
TEXT ·sumF64AVX2(SB), NOSPLIT, $0-24
	MOVQ   x+0(FP), SI
	MOVQ   n+8(FP), CX
	VXORPD Y0, Y0, Y0
	VXORPD Y1, Y1, Y1

sum8:
	CMPQ      CX, $8
	JLT       sumdone
	VCVTPS2PD (SI), Y2
	VCVTPS2PD 16(SI), Y3
	VADDPD    Y2, Y0, Y0
	VADDPD    Y3, Y1, Y1
	ADDQ      $32, SI
	SUBQ      $8, CX
	JMP       sum8

sumdone:
	VADDPD       Y1, Y0, Y0
	VEXTRACTF128 $1, Y0, X1
	VADDPD       X1, X0, X0
	VHADDPD      X0, X0, X0
	VMOVSD       X0, ret+16(FP)
	VZEROUPPER
	RET

// func sqDevF64AVX2(x *float32, n int, mean float64) float64
// Σ (x[i]-mean)² accumulated in float64.
TEXT ·sqDevF64AVX2(SB), NOSPLIT, $0-32
	MOVQ         x+0(FP), SI
	MOVQ         n+8(FP), CX
	VBROADCASTSD mean+16(FP), Y15
	VXORPD       Y0, Y0, Y0
	VXORPD       Y1, Y1, Y1

sq8:
	CMPQ        CX, $8
	JLT         sqdone
	VCVTPS2PD   (SI), Y2
	VCVTPS2PD   16(SI), Y3
	VSUBPD      Y15, Y2, Y2
	VSUBPD      Y15, Y3, Y3
	VFMADD231PD Y2, Y2, Y0
	VFMADD231PD Y3, Y3, Y1
	ADDQ        $32, SI
	SUBQ        $8, CX
	JMP         sq8

sqdone:
	VADDPD       Y1, Y0, Y0
	VEXTRACTF128 $1, Y0, X1
	VADDPD       X1, X0, X0
	VHADDPD      X0, X0, X0
	VMOVSD       X0, ret+24(FP)
	VZEROUPPER
	RET

// func normApplyAVX2(dst, src, w, b *float32, n int, mean, inv float64)
// dst[i] = float32((float64(src[i])-mean)·inv)·w[i] + b[i].
TEXT ·normApplyAVX2(SB), NOSPLIT, $0-56
	MOVQ         dst+0(FP), DI
	MOVQ         src+8(FP), SI
	MOVQ         w+16(FP), R8
	MOVQ         b+24(FP), R9
	MOVQ         n+32(FP), CX
	VBROADCASTSD mean+40(FP), Y15
	VBROADCASTSD inv+48(FP), Y14

norm8:
	CMPQ        CX, $8
	JLT         normdone
	VCVTPS2PD   (SI), Y0
	VCVTPS2PD   16(SI), Y1
	VSUBPD      Y15, Y0, Y0
	VSUBPD      Y15, Y1, Y1
	VMULPD      Y14, Y0, Y0
	VMULPD      Y14, Y1, Y1
	VCVTPD2PSY  Y0, X0
	VCVTPD2PSY  Y1, X1
	VINSERTF128 $1, X1, Y0, Y0
	VMULPS      (R8), Y0, Y0
	VADDPS      (R9), Y0, Y0
	VMOVUPS     Y0, (DI)
	ADDQ        $32, SI
	ADDQ        $32, DI
	ADDQ        $32, R8
	ADDQ        $32, R9
	SUBQ        $8, CX
	JMP         norm8

normdone:
	VZEROUPPER
	RET

DATA vconst<>+0(SB)/4, $0x3fb8aa3b
DATA vconst<>+4(SB)/4, $0x3fb8aa3b
DATA vconst<>+8(SB)/4, $0x3fb8aa3b
DATA vconst<>+12(SB)/4, $0x3fb8aa3b
DATA vconst<>+16(SB)/4, $0x3fb8aa3b
DATA vconst<>+20(SB)/4, $0x3fb8aa3b
DATA vconst<>+24(SB)/4, $0x3fb8aa3b
DATA vconst<>+28(SB)/4, $0x3fb8aa3b
DATA vconst<>+32(SB)/4, $0x3f318000
DATA vconst<>+36(SB)/4, $0x3f318000
DATA vconst<>+40(SB)/4, $0x3f318000
DATA vconst<>+44(SB)/4, $0x3f318000
DATA vconst<>+48(SB)/4, $0x3f318000
DATA vconst<>+52(SB)/4, $0x3f318000
DATA vconst<>+56(SB)/4, $0x3f318000
DATA vconst<>+60(SB)/4, $0x3f318000
DATA vconst<>+64(SB)/4, $0xb95e8083
DATA vconst<>+68(SB)/4, $0xb95e8083
DATA vconst<>+72(SB)/4, $0xb95e8083
DATA vconst<>+76(SB)/4, $0xb95e8083
DATA vconst<>+80(SB)/4, $0xb95e8083
DATA vconst<>+84(SB)/4, $0xb95e8083
DATA vconst<>+88(SB)/4, $0xb95e8083
DATA vconst<>+92(SB)/4, $0xb95e8083
DATA vconst<>+96(SB)/4, $0x39506967
DATA vconst<>+100(SB)/4, $0x39506967
DATA vconst<>+104(SB)/4, $0x39506967
DATA vconst<>+108(SB)/4, $0x39506967
DATA vconst<>+112(SB)/4, $0x39506967
DATA vconst<>+116(SB)/4, $0x39506967
DATA vconst<>+120(SB)/4, $0x39506967
DATA vconst<>+124(SB)/4, $0x39506967
DATA vconst<>+128(SB)/4, $0x3ab743ce
DATA vconst<>+132(SB)/4, $0x3ab743ce
DATA vconst<>+136(SB)/4, $0x3ab743ce
DATA vconst<>+140(SB)/4, $0x3ab743ce
DATA vconst<>+144(SB)/4, $0x3ab743ce
DATA vconst<>+148(SB)/4, $0x3ab743ce
DATA vconst<>+152(SB)/4, $0x3ab743ce
DATA vconst<>+156(SB)/4, $0x3ab743ce
DATA vconst<>+160(SB)/4, $0x3c088908
DATA vconst<>+164(SB)/4, $0x3c088908
DATA vconst<>+168(SB)/4, $0x3c088908
DATA vconst<>+172(SB)/4, $0x3c088908
DATA vconst<>+176(SB)/4, $0x3c088908
DATA vconst<>+180(SB)/4, $0x3c088908
DATA vconst<>+184(SB)/4, $0x3c088908
DATA vconst<>+188(SB)/4, $0x3c088908
DATA vconst<>+192(SB)/4, $0x3d2aa9c1
DATA vconst<>+196(SB)/4, $0x3d2aa9c1
DATA vconst<>+200(SB)/4, $0x3d2aa9c1
DATA vconst<>+204(SB)/4, $0x3d2aa9c1
DATA vconst<>+208(SB)/4, $0x3d2aa9c1
DATA vconst<>+212(SB)/4, $0x3d2aa9c1
DATA vconst<>+216(SB)/4, $0x3d2aa9c1
DATA vconst<>+220(SB)/4, $0x3d2aa9c1
DATA vconst<>+224(SB)/4, $0x3e2aaaaa
DATA vconst<>+228(SB)/4, $0x3e2aaaaa
DATA vconst<>+232(SB)/4, $0x3e2aaaaa
DATA vconst<>+236(SB)/4, $0x3e2aaaaa
DATA vconst<>+240(SB)/4, $0x3e2aaaaa
DATA vconst<>+244(SB)/4, $0x3e2aaaaa
DATA vconst<>+248(SB)/4, $0x3e2aaaaa
DATA vconst<>+252(SB)/4, $0x3e2aaaaa
DATA vconst<>+256(SB)/4, $0x3f000000
DATA vconst<>+260(SB)/4, $0x3f000000
DATA vconst<>+264(SB)/4, $0x3f000000
DATA vconst<>+268(SB)/4, $0x3f000000
DATA vconst<>+272(SB)/4, $0x3f000000
DATA vconst<>+276(SB)/4, $0x3f000000
DATA vconst<>+280(SB)/4, $0x3f000000
DATA vconst<>+284(SB)/4, $0x3f000000
DATA vconst<>+288(SB)/4, $0x3f800000
DATA vconst<>+292(SB)/4, $0x3f800000
DATA vconst<>+296(SB)/4, $0x3f800000
DATA vconst<>+300(SB)/4, $0x3f800000
DATA vconst<>+304(SB)/4, $0x3f800000
DATA vconst<>+308(SB)/4, $0x3f800000
DATA vconst<>+312(SB)/4, $0x3f800000
DATA vconst<>+316(SB)/4, $0x3f800000
DATA vconst<>+320(SB)/4, $0x42b20000
DATA vconst<>+324(SB)/4, $0x42b20000
DATA vconst<>+328(SB)/4, $0x42b20000
DATA vconst<>+332(SB)/4, $0x42b20000
DATA vconst<>+336(SB)/4, $0x42b20000
DATA vconst<>+340(SB)/4, $0x42b20000
DATA vconst<>+344(SB)/4, $0x42b20000
DATA vconst<>+348(SB)/4, $0x42b20000
DATA vconst<>+352(SB)/4, $0xc2d00000
DATA vconst<>+356(SB)/4, $0xc2d00000
DATA vconst<>+360(SB)/4, $0xc2d00000
DATA vconst<>+364(SB)/4, $0xc2d00000
DATA vconst<>+368(SB)/4, $0xc2d00000
DATA vconst<>+372(SB)/4, $0xc2d00000
DATA vconst<>+376(SB)/4, $0xc2d00000
DATA vconst<>+380(SB)/4, $0xc2d00000
DATA vconst<>+384(SB)/4, $0x3f3504f3
DATA vconst<>+388(SB)/4, $0x3f3504f3
DATA vconst<>+392(SB)/4, $0x3f3504f3
DATA vconst<>+396(SB)/4, $0x3f3504f3
DATA vconst<>+400(SB)/4, $0x3f3504f3
DATA vconst<>+404(SB)/4, $0x3f3504f3
DATA vconst<>+408(SB)/4, $0x3f3504f3
DATA vconst<>+412(SB)/4, $0x3f3504f3
DATA vconst<>+416(SB)/4, $0x40800000
DATA vconst<>+420(SB)/4, $0x40800000
DATA vconst<>+424(SB)/4, $0x40800000
DATA vconst<>+428(SB)/4, $0x40800000
DATA vconst<>+432(SB)/4, $0x40800000
DATA vconst<>+436(SB)/4, $0x40800000
DATA vconst<>+440(SB)/4, $0x40800000
DATA vconst<>+444(SB)/4, $0x40800000
DATA vconst<>+448(SB)/4, $0xc0800000
DATA vconst<>+452(SB)/4, $0xc0800000
DATA vconst<>+456(SB)/4, $0xc0800000
DATA vconst<>+460(SB)/4, $0xc0800000
DATA vconst<>+464(SB)/4, $0xc0800000
DATA vconst<>+468(SB)/4, $0xc0800000
DATA vconst<>+472(SB)/4, $0xc0800000
DATA vconst<>+476(SB)/4, $0xc0800000
DATA vconst<>+480(SB)/4, $0x3f000000
DATA vconst<>+484(SB)/4, $0x3f000000
DATA vconst<>+488(SB)/4, $0x3f000000
DATA vconst<>+492(SB)/4, $0x3f000000
DATA vconst<>+496(SB)/4, $0x3f000000
DATA vconst<>+500(SB)/4, $0x3f000000
DATA vconst<>+504(SB)/4, $0x3f000000
DATA vconst<>+508(SB)/4, $0x3f000000
DATA vconst<>+512(SB)/4, $0xaf95df0b
DATA vconst<>+516(SB)/4, $0xaf95df0b
DATA vconst<>+520(SB)/4, $0xaf95df0b
DATA vconst<>+524(SB)/4, $0xaf95df0b
DATA vconst<>+528(SB)/4, $0xaf95df0b
DATA vconst<>+532(SB)/4, $0xaf95df0b
DATA vconst<>+536(SB)/4, $0xaf95df0b
DATA vconst<>+540(SB)/4, $0xaf95df0b
DATA vconst<>+544(SB)/4, $0x32edffee
DATA vconst<>+548(SB)/4, $0x32edffee
DATA vconst<>+552(SB)/4, $0x32edffee
DATA vconst<>+556(SB)/4, $0x32edffee
DATA vconst<>+560(SB)/4, $0x32edffee
DATA vconst<>+564(SB)/4, $0x32edffee
DATA vconst<>+568(SB)/4, $0x32edffee
DATA vconst<>+572(SB)/4, $0x32edffee
DATA vconst<>+576(SB)/4, $0xb60cff51
DATA vconst<>+580(SB)/4, $0xb60cff51
DATA vconst<>+584(SB)/4, $0xb60cff51
DATA vconst<>+588(SB)/4, $0xb60cff51
DATA vconst<>+592(SB)/4, $0xb60cff51
DATA vconst<>+596(SB)/4, $0xb60cff51
DATA vconst<>+600(SB)/4, $0xb60cff51
DATA vconst<>+604(SB)/4, $0xb60cff51
DATA vconst<>+608(SB)/4, $0xb86ec2d2
DATA vconst<>+612(SB)/4, $0xb86ec2d2
DATA vconst<>+616(SB)/4, $0xb86ec2d2
DATA vconst<>+620(SB)/4, $0xb86ec2d2
DATA vconst<>+624(SB)/4, $0xb86ec2d2
DATA vconst<>+628(SB)/4, $0xb86ec2d2
DATA vconst<>+632(SB)/4, $0xb86ec2d2
DATA vconst<>+636(SB)/4, $0xb86ec2d2
DATA vconst<>+640(SB)/4, $0xba40ac63
DATA vconst<>+644(SB)/4, $0xba40ac63
DATA vconst<>+648(SB)/4, $0xba40ac63
DATA vconst<>+652(SB)/4, $0xba40ac63
DATA vconst<>+656(SB)/4, $0xba40ac63
DATA vconst<>+660(SB)/4, $0xba40ac63
DATA vconst<>+664(SB)/4, $0xba40ac63
DATA vconst<>+668(SB)/4, $0xba40ac63
DATA vconst<>+672(SB)/4, $0xbb41a1f6
DATA vconst<>+676(SB)/4, $0xbb41a1f6
DATA vconst<>+680(SB)/4, $0xbb41a1f6
DATA vconst<>+684(SB)/4, $0xbb41a1f6
DATA vconst<>+688(SB)/4, $0xbb41a1f6
DATA vconst<>+692(SB)/4, $0xbb41a1f6
DATA vconst<>+696(SB)/4, $0xbb41a1f6
DATA vconst<>+700(SB)/4, $0xbb41a1f6
DATA vconst<>+704(SB)/4, $0xbc83dbd4
DATA vconst<>+708(SB)/4, $0xbc83dbd4
DATA vconst<>+712(SB)/4, $0xbc83dbd4
DATA vconst<>+716(SB)/4, $0xbc83dbd4
DATA vconst<>+720(SB)/4, $0xbc83dbd4
DATA vconst<>+724(SB)/4, $0xbc83dbd4
DATA vconst<>+728(SB)/4, $0xbc83dbd4
DATA vconst<>+732(SB)/4, $0xbc83dbd4
DATA vconst<>+736(SB)/4, $0xb77460cd
DATA vconst<>+740(SB)/4, $0xb77460cd
DATA vconst<>+744(SB)/4, $0xb77460cd
DATA vconst<>+748(SB)/4, $0xb77460cd
DATA vconst<>+752(SB)/4, $0xb77460cd
DATA vconst<>+756(SB)/4, $0xb77460cd
DATA vconst<>+760(SB)/4, $0xb77460cd
DATA vconst<>+764(SB)/4, $0xb77460cd
DATA vconst<>+768(SB)/4, $0xb95fbd29
DATA vconst<>+772(SB)/4, $0xb95fbd29
DATA vconst<>+776(SB)/4, $0xb95fbd29
DATA vconst<>+780(SB)/4, $0xb95fbd29
DATA vconst<>+784(SB)/4, $0xb95fbd29
DATA vconst<>+788(SB)/4, $0xb95fbd29
DATA vconst<>+792(SB)/4, $0xb95fbd29
DATA vconst<>+796(SB)/4, $0xb95fbd29
DATA vconst<>+800(SB)/4, $0xbadc924e
DATA vconst<>+804(SB)/4, $0xbadc924e
DATA vconst<>+808(SB)/4, $0xbadc924e
DATA vconst<>+812(SB)/4, $0xbadc924e
DATA vconst<>+816(SB)/4, $0xbadc924e
DATA vconst<>+820(SB)/4, $0xbadc924e
DATA vconst<>+824(SB)/4, $0xbadc924e
DATA vconst<>+828(SB)/4, $0xbadc924e
DATA vconst<>+832(SB)/4, $0xbbf19bf8
DATA vconst<>+836(SB)/4, $0xbbf19bf8
DATA vconst<>+840(SB)/4, $0xbbf19bf8
DATA vconst<>+844(SB)/4, $0xbbf19bf8
DATA vconst<>+848(SB)/4, $0xbbf19bf8
DATA vconst<>+852(SB)/4, $0xbbf19bf8
DATA vconst<>+856(SB)/4, $0xbbf19bf8
DATA vconst<>+860(SB)/4, $0xbbf19bf8
DATA vconst<>+864(SB)/4, $0xbc69b6a7
DATA vconst<>+868(SB)/4, $0xbc69b6a7
DATA vconst<>+872(SB)/4, $0xbc69b6a7
DATA vconst<>+876(SB)/4, $0xbc69b6a7
DATA vconst<>+880(SB)/4, $0xbc69b6a7
DATA vconst<>+884(SB)/4, $0xbc69b6a7
DATA vconst<>+888(SB)/4, $0xbc69b6a7
DATA vconst<>+892(SB)/4, $0xbc69b6a7
DATA vconst<>+896(SB)/4, $0x0000007f
DATA vconst<>+900(SB)/4, $0x0000007f
DATA vconst<>+904(SB)/4, $0x0000007f
DATA vconst<>+908(SB)/4, $0x0000007f
DATA vconst<>+912(SB)/4, $0x0000007f
DATA vconst<>+916(SB)/4, $0x0000007f
DATA vconst<>+920(SB)/4, $0x0000007f
DATA vconst<>+924(SB)/4, $0x0000007f
DATA vconst<>+928(SB)/4, $0xff800000
DATA vconst<>+932(SB)/4, $0xff800000
DATA vconst<>+936(SB)/4, $0xff800000
DATA vconst<>+940(SB)/4, $0xff800000
DATA vconst<>+944(SB)/4, $0xff800000
DATA vconst<>+948(SB)/4, $0xff800000
DATA vconst<>+952(SB)/4, $0xff800000
DATA vconst<>+956(SB)/4, $0xff800000
GLOBL vconst<>(SB), RODATA|NOPTR, $960

// func reluAVX2(x *float32, n int)
// x = max(x, 0); a NaN stays NaN (VMAXPS returns its second source, x,
// when either is NaN).
TEXT ·reluAVX2(SB), NOSPLIT, $0-16
	MOVQ   x+0(FP), SI
	MOVQ   n+8(FP), CX
	VXORPS Y15, Y15, Y15

relu16:
	CMPQ    CX, $16
	JLT     relu8
	VMOVUPS (SI), Y0
	VMOVUPS 32(SI), Y1
	VMAXPS  Y0, Y15, Y0
	VMAXPS  Y1, Y15, Y1
	VMOVUPS Y0, (SI)
	VMOVUPS Y1, 32(SI)
	ADDQ    $64, SI
	SUBQ    $16, CX
	JMP     relu16

relu8:
	CMPQ    CX, $8
	JLT     reludone
	VMOVUPS (SI), Y0
	VMAXPS  Y0, Y15, Y0
	VMOVUPS Y0, (SI)
	ADDQ    $32, SI
	SUBQ    $8, CX
	JMP     relu8

reludone:
	VZEROUPPER
	RET

// func addAVX2(dst, src *float32, n int)
// dst += src.
TEXT ·addAVX2(SB), NOSPLIT, $0-24
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ n+16(FP), CX

add16:
	CMPQ    CX, $16
	JLT     add8
	VMOVUPS (DI), Y0
	VMOVUPS 32(DI), Y1
	VADDPS  (SI), Y0, Y0
	VADDPS  32(SI), Y1, Y1
	VMOVUPS Y0, (DI)
	VMOVUPS Y1, 32(DI)
	ADDQ    $64, SI
	ADDQ    $64, DI
	SUBQ    $16, CX
	JMP     add16

add8:
	CMPQ    CX, $8
	JLT     adddone
	VMOVUPS (DI), Y0
	VADDPS  (SI), Y0, Y0
	VMOVUPS Y0, (DI)
	ADDQ    $32, SI
	ADDQ    $32, DI
	SUBQ    $8, CX
	JMP     add8

adddone:
	VZEROUPPER
	RET

// func softmaxRowsAVX2(x *float32, rows, n int)
// SoftmaxRows on rows×n floats (n ≥ 1) in one call: per row the max
// (ignoring NaN, as maxAVX2), e^(x−max) stored and summed, then scaled by
// 1/sum; the last n%8 of a row go through masked loads and stores. A row
// whose max is −Inf becomes zeros.
TEXT ·softmaxRowsAVX2(SB), NOSPLIT, $0-24
	MOVQ    x+0(FP), SI
	MOVQ    rows+8(FP), CX
	MOVQ    n+16(FP), DX
	VMOVUPS C_EXPHI, Y13
	VMOVUPS C_EXPLO, Y12
	// Y10: the first n%8 lanes set; R8: n rounded down to 8, in bytes.
	MOVQ    DX, AX
	ANDQ    $7, AX
	LEAQ    smtail<>(SB), BX
	SHLQ    $2, AX
	NEGQ    AX
	VMOVDQU 32(BX)(AX*1), Y10
	MOVQ    DX, R8
	ANDQ    $-8, R8
	SHLQ    $2, R8
	MOVQ    DX, R9
	ANDQ    $7, R9
	SHLQ    $2, DX // row length in bytes
	TESTQ   CX, CX
	JZ      smdone

smrow:
	// Max, two vectors at a time into Y15 and Y4.
	VMOVUPS C_NINF, Y15
	VMOVUPS C_NINF, Y4
	XORQ    BX, BX
	MOVQ    R8, R10
	SUBQ    $32, R10 // the last start of a pair

smmax2:
	CMPQ    BX, R10
	JGE     smmax
	VMOVUPS (SI)(BX*1), Y2
	VMOVUPS 32(SI)(BX*1), Y3
	VMAXPS  Y15, Y2, Y15
	VMAXPS  Y4, Y3, Y4
	ADDQ    $64, BX
	JMP     smmax2

smmax:
	CMPQ    BX, R8
	JGE     smmaxtail
	VMOVUPS (SI)(BX*1), Y2
	VMAXPS  Y15, Y2, Y15
	ADDQ    $32, BX
	JMP     smmax

smmaxtail:
	TESTQ      R9, R9
	JZ         smmaxred
	VMASKMOVPS (SI)(BX*1), Y10, Y2
	VMOVUPS    C_NINF, Y3
	VBLENDVPS  Y10, Y2, Y3, Y2 // masked-off lanes: −Inf
	VMAXPS     Y15, Y2, Y15

smmaxred:
	VMAXPS     Y4, Y15, Y15
	VPERM2F128 $1, Y15, Y15, Y2
	VMAXPS     Y2, Y15, Y15
	VPERMILPS  $0x4e, Y15, Y2
	VMAXPS     Y2, Y15, Y15
	VPERMILPS  $0xb1, Y15, Y2
	VMAXPS     Y2, Y15, Y15
	VUCOMISS   C_NINF, X15
	JEQ        smzero

	// e^(x−max), stored and summed, two vectors at a time into Y14 and Y11.
	VXORPS Y14, Y14, Y14
	VXORPS Y11, Y11, Y11
	XORQ   BX, BX

smexp2:
	CMPQ    BX, R10
	JGE     smexp
	VMOVUPS (SI)(BX*1), Y0
	VMOVUPS 32(SI)(BX*1), Y4
	VSUBPS  Y15, Y0, Y0
	VSUBPS  Y15, Y4, Y4
	CLAMPEXP(Y0, Y13, Y12)
	CLAMPEXP(Y4, Y13, Y12)
	EXP8(Y0, Y1, Y2, Y3)
	EXP8(Y4, Y5, Y6, Y7)
	VMOVUPS Y0, (SI)(BX*1)
	VMOVUPS Y4, 32(SI)(BX*1)
	VADDPS  Y0, Y14, Y14
	VADDPS  Y4, Y11, Y11
	ADDQ    $64, BX
	JMP     smexp2

smexp:
	CMPQ    BX, R8
	JGE     smexptail
	VMOVUPS (SI)(BX*1), Y0
	VSUBPS  Y15, Y0, Y0
	CLAMPEXP(Y0, Y13, Y12)
	EXP8(Y0, Y1, Y2, Y3)
	VMOVUPS Y0, (SI)(BX*1)
	VADDPS  Y0, Y14, Y14
	ADDQ    $32, BX
	JMP     smexp

smexptail:
	TESTQ      R9, R9
	JZ         smsum
	VMASKMOVPS (SI)(BX*1), Y10, Y0
	VSUBPS     Y15, Y0, Y0
	CLAMPEXP(Y0, Y13, Y12)
	EXP8(Y0, Y1, Y2, Y3)
	VMASKMOVPS Y0, Y10, (SI)(BX*1)
	VANDPS     Y10, Y0, Y0
	VADDPS     Y0, Y14, Y14

smsum:
	VADDPS     Y11, Y14, Y14
	VPERM2F128 $1, Y14, Y14, Y2
	VADDPS     Y2, Y14, Y14
	VPERMILPS  $0x4e, Y14, Y2
	VADDPS     Y2, Y14, Y14
	VPERMILPS  $0xb1, Y14, Y2
	VADDPS     Y2, Y14, Y14
	VMOVUPS    C_ONE, Y15
	VDIVPS     Y14, Y15, Y15 // 1/sum in every lane

	// Scale.
	XORQ BX, BX

smscale:
	CMPQ    BX, R8
	JGE     smscaletail
	VMULPS  (SI)(BX*1), Y15, Y0
	VMOVUPS Y0, (SI)(BX*1)
	ADDQ    $32, BX
	JMP     smscale

smscaletail:
	TESTQ      R9, R9
	JZ         smnext
	VMASKMOVPS (SI)(BX*1), Y10, Y0
	VMULPS     Y0, Y15, Y0
	VMASKMOVPS Y0, Y10, (SI)(BX*1)
	JMP        smnext

smzero:
	VXORPS Y0, Y0, Y0
	XORQ   BX, BX

smzloop:
	CMPQ    BX, R8
	JGE     smztail
	VMOVUPS Y0, (SI)(BX*1)
	ADDQ    $32, BX
	JMP     smzloop

smztail:
	TESTQ      R9, R9
	JZ         smnext
	VMASKMOVPS Y0, Y10, (SI)(BX*1)

smnext:
	ADDQ DX, SI
	DECQ CX
	JNZ  smrow

smdone:
	VZEROUPPER
	RET

// smtail: eight set lanes then eight clear ones; the 8 lanes from 32−4r
// bytes in have the first r set.
DATA smtail<>+0(SB)/8, $0xffffffffffffffff
DATA smtail<>+8(SB)/8, $0xffffffffffffffff
DATA smtail<>+16(SB)/8, $0xffffffffffffffff
DATA smtail<>+24(SB)/8, $0xffffffffffffffff
DATA smtail<>+32(SB)/8, $0
DATA smtail<>+40(SB)/8, $0
DATA smtail<>+48(SB)/8, $0
DATA smtail<>+56(SB)/8, $0
GLOBL smtail<>(SB), RODATA|NOPTR, $64

// func softmaxColsAVX2(x, add *float32, rows, n8, ld int)
// SoftmaxCols on the first n8 columns (a multiple of 8) of rows×ld floats
// (rows ≥ 1), eight columns at a time: the max down the column of
// x[r]+add[r] (add nil: 0; NaN ignored, as maxAVX2), e^(x+add−max) stored
// and summed, then scaled by 1/sum. A column whose max is −Inf becomes
// zeros.
TEXT ·softmaxColsAVX2(SB), NOSPLIT, $0-40
	MOVQ    x+0(FP), SI
	MOVQ    add+8(FP), R11
	MOVQ    rows+16(FP), CX
	MOVQ    n8+24(FP), DX
	MOVQ    ld+32(FP), R9
	SHLQ    $2, R9 // row stride in bytes
	SHRQ    $3, DX // column blocks
	JZ      scdone
	VMOVUPS C_EXPHI, Y13
	VMOVUPS C_EXPLO, Y12
	VXORPS  Y10, Y10, Y10 // add when there is none

scblock:
	// Max down the eight columns.
	VMOVUPS C_NINF, Y15
	MOVQ    SI, AX
	XORQ    BX, BX

scmax:
	VMOVUPS (AX), Y0
	VMOVAPS Y10, Y1
	TESTQ   R11, R11
	JZ      scmax1
	VBROADCASTSS (R11)(BX*4), Y1

scmax1:
	VADDPS Y1, Y0, Y0
	VMAXPS Y15, Y0, Y15
	ADDQ   R9, AX
	INCQ   BX
	CMPQ   BX, CX
	JLT    scmax

	// Y11: the lanes whose max is −Inf; their max becomes 0 so that the
	// exponentials below stay NaN-free, and their results zeros.
	VCMPPS  $0, C_NINF, Y15, Y11
	VANDNPS Y15, Y11, Y15

	// e^(x+add−max), stored and summed into Y14.
	VXORPS Y14, Y14, Y14
	MOVQ   SI, AX
	XORQ   BX, BX

scexp:
	VMOVUPS (AX), Y0
	VMOVAPS Y10, Y1
	TESTQ   R11, R11
	JZ      scexp1
	VBROADCASTSS (R11)(BX*4), Y1

scexp1:
	VADDPS  Y1, Y0, Y0
	VSUBPS  Y15, Y0, Y0
	CLAMPEXP(Y0, Y13, Y12)
	EXP8(Y0, Y1, Y2, Y3)
	VMOVUPS Y0, (AX)
	VADDPS  Y0, Y14, Y14
	ADDQ    R9, AX
	INCQ    BX
	CMPQ    BX, CX
	JLT     scexp

	// Scale by 1/sum (0 in the −Inf lanes).
	VMOVUPS C_ONE, Y1
	VDIVPS  Y14, Y1, Y1
	VANDNPS Y1, Y11, Y1
	MOVQ    SI, AX
	MOVQ    CX, BX

scscale:
	VMULPS  (AX), Y1, Y0
	VMOVUPS Y0, (AX)
	ADDQ    R9, AX
	DECQ    BX
	JNZ     scscale

	ADDQ $32, SI
	DECQ DX
	JNZ  scblock

scdone:
	VZEROUPPER
	RET

// func divAddAVX2(x, div, add *float32, n, period int)
// x[i] = x[i]/div[i%period] + add[i%period] for i < n; n and period are
// multiples of 8 and period divides n. VDIVPS is IEEE division, as DIVSS.
TEXT ·divAddAVX2(SB), NOSPLIT, $0-40
	MOVQ x+0(FP), SI
	MOVQ div+8(FP), DI
	MOVQ add+16(FP), R8
	MOVQ n+24(FP), CX
	MOVQ period+32(FP), DX
	SHLQ $2, DX
	TESTQ CX, CX
	JZ   dadone

daperiod:
	XORQ BX, BX

daloop:
	VMOVUPS (SI)(BX*1), Y0
	VDIVPS  (DI)(BX*1), Y0, Y0
	VADDPS  (R8)(BX*1), Y0, Y0
	VMOVUPS Y0, (SI)(BX*1)
	ADDQ    $32, BX
	CMPQ    BX, DX
	JLT     daloop
	ADDQ    DX, SI
	MOVQ    DX, AX
	SHRQ    $2, AX
	SUBQ    AX, CX
	JG      daperiod

dadone:
	VZEROUPPER
	RET
