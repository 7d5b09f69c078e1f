#!/usr/bin/python3
"""PyTorch (CPU) timings of the kernels that bench/*_test.go times in Go, at the same shapes and names.

Run it through compare.sh (which sets the tuned environment), or directly:

  /usr/bin/python3 bench/torch_kernels.py [--runs N] [--threads 2] [--only REGEX] [--json]

Each case is warmed up once, then timed --runs times; the median is reported. With --json every
result is one JSON object per line:
  {"name": "Attention/bert_L256_h12_d64", "impl": "eager", "ms": ..., "min_ms": ..., "gflops": ..., "gbs": ..., "runs": N}
impl says which PyTorch code ran:
  eager  matmul + softmax + matmul as the Hugging Face model code (transformers v4.40.2) writes it
  sdpa   torch.nn.functional.scaled_dot_product_attention (only where this torch has it, >= 2.0)
  hf     the Hugging Face module itself (GroundingDino*Attention, multi_scale_deformable_attention),
         imported from transformers v4.40.2 (REF_DIR/transformers/src, see cpuref.sh); without it the
         rows that need it are skipped, except the deformable kernel, which falls back to
         impl "torch": the same grid_sample algorithm written here
  torch  torch.mm / torch.nn.functional.linear, or the grid_sample fallback above
  numpy  numpy.dot (OpenBLAS through numpy)
GFLOP/s and GB/s use the same operation and byte counts as the Go benchmarks (see README.md).
"""
import argparse
import json
import math
import os
import re
import statistics
import sys
import time

REF_DIR = os.environ.get("REF_DIR", "/tmp/cpuref")
for p in (os.path.join(REF_DIR, "hf_hub", "src"), os.path.join(REF_DIR, "transformers", "src")):
    if os.path.isdir(p) and p not in sys.path:
        sys.path.insert(0, p)
STUBS = os.environ.get("CPUREF_STUBS", "/work/shared/tools/cpuref/stubs")
if os.path.isdir(STUBS) and STUBS not in sys.path:
    sys.path.append(STUBS)

import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

# Shapes: see the Go benchmarks' comments.
GDINO_LEVELS = [(100, 167), (50, 84), (25, 42), (13, 21)]
GDINO_S = sum(h * w for h, w in GDINO_LEVELS)  # 22223
GDINO_Q = 900
D_MODEL, DEFORM_H, DEFORM_P, DEFORM_D = 256, 8, 4, 32
SWIN_WIN, SWIN_SHIFT, SWIN_H, SWIN_W = 7, 3, 200, 334
SWIN_HP = (SWIN_H + SWIN_WIN - 1) // SWIN_WIN * SWIN_WIN
SWIN_WP = (SWIN_W + SWIN_WIN - 1) // SWIN_WIN * SWIN_WIN
SWIN_NW = (SWIN_HP // SWIN_WIN) * (SWIN_WP // SWIN_WIN)  # 1392


def hf_gdino():
    """transformers' Grounding DINO module, or None."""
    try:
        from transformers.models.grounding_dino import modeling_grounding_dino as m
        from transformers import GroundingDinoConfig
        return m, GroundingDinoConfig
    except Exception as e:  # noqa: BLE001
        print("# transformers Grounding DINO not importable (%s: %s); hf rows skipped" % (type(e).__name__, e),
              file=sys.stderr)
        return None


def randomize(module, seed):
    """normal(0, 0.02) everywhere, like the Go side's weights.Randomize (no norms in these modules)."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in module.parameters():
            p.copy_(torch.randn(p.shape, generator=g) * 0.02)
    return module.eval()


# ---------------------------------------------------------------- attention


def attn_flops(B, H, Lq, Lk, D):
    return 4.0 * B * H * Lq * Lk * D


def eager_attention(q, k, v, mask, scale):
    s = torch.matmul(q * scale, k.transpose(-1, -2))
    if mask is not None:
        s = s + mask
    return torch.matmul(s.softmax(dim=-1), v)


def sub_sentence_mask(L=256, phrase=8):
    i = torch.arange(L)
    keep = (i[:, None] // phrase) == (i[None, :] // phrase)
    m = torch.zeros(L, L)
    m[~keep] = torch.finfo(torch.float32).min
    return m.view(1, 1, L, L)


def swin_bias_and_mask(H=3):
    """relative position bias [H, N, N] gathered from a random table, and the shift mask [nW, N, N] (-100)."""
    w, N = SWIN_WIN, SWIN_WIN * SWIN_WIN
    table = torch.randn((2 * w - 1) ** 2, H) * 0.02
    coords = torch.stack(torch.meshgrid(torch.arange(w), torch.arange(w), indexing="ij")).flatten(1)  # 2, N
    rel = (coords[:, :, None] - coords[:, None, :]).permute(1, 2, 0) + (w - 1)
    idx = rel[..., 0] * (2 * w - 1) + rel[..., 1]
    bias = table[idx.view(-1)].view(N, N, H).permute(2, 0, 1).contiguous()
    img = torch.zeros(SWIN_HP, SWIN_WP)
    cnt = 0
    for hs in (slice(0, -w), slice(-w, -SWIN_SHIFT), slice(-SWIN_SHIFT, None)):
        for ws in (slice(0, -w), slice(-w, -SWIN_SHIFT), slice(-SWIN_SHIFT, None)):
            img[hs, ws] = cnt
            cnt += 1
    win = img.view(SWIN_HP // w, w, SWIN_WP // w, w).permute(0, 2, 1, 3).reshape(-1, N)
    mask = (win[:, None, :] - win[:, :, None]).ne(0).float() * -100.0
    return bias, mask


def attention_cases(cases, hf):
    specs = [
        # name, B, H, Lq, Lk, D, mask kind
        ("bert_L256_h12_d64", 1, 12, 256, 256, 64, "bert"),
        ("decoder_self_Q900_h8_d32", 1, 8, 900, 900, 32, None),
        ("swin_w7_stage1_nW1392_h3_d32", SWIN_NW, 3, 49, 49, 32, "swin"),
        ("sam_global_L4096_h12_d64", 1, 12, 4096, 4096, 64, None),
        ("sam_window14_nW25_h12_d64", 25, 12, 196, 196, 64, None),
    ]
    for name, B, H, Lq, Lk, D, kind in specs:
        def make(B=B, H=H, Lq=Lq, Lk=Lk, D=D, kind=kind):
            g = torch.Generator().manual_seed(1)
            q, k, v = (torch.randn(B, H, L, D, generator=g) for L in (Lq, Lk, Lk))
            scale = 1.0 / math.sqrt(D)
            if kind == "swin":
                bias, mask = swin_bias_and_mask(H)

                def eager():  # as HF's SwinSelfAttention: bias, then the mask per window
                    s = torch.matmul(q, k.transpose(-1, -2)) * scale + bias.unsqueeze(0)
                    s = s.view(1, B, H, Lq, Lk) + mask.unsqueeze(1).unsqueeze(0)
                    return torch.matmul(s.view(B, H, Lq, Lk).softmax(dim=-1), v)
                full = bias.unsqueeze(0) + mask.unsqueeze(1)
                return eager, (q, k, v, full, scale)
            mask = sub_sentence_mask() if kind == "bert" else None
            return (lambda: eager_attention(q, k, v, mask, scale)), (q, k, v, mask, scale)

        flops = attn_flops(B, H, Lq, Lk, D)
        cases.append(("Attention/" + name, "eager", flops, 0, lambda make=make: make()[0]))
        if hasattr(F, "scaled_dot_product_attention"):
            def sdpa_case(make=make):
                _, (q, k, v, mask, scale) = make()
                kw = {}
                if "scale" in F.scaled_dot_product_attention.__doc__:
                    kw["scale"] = scale
                else:
                    q = q * (scale * math.sqrt(q.shape[-1]))  # older signature: fixed 1/sqrt(D)
                return lambda: F.scaled_dot_product_attention(q, k, v, attn_mask=mask, **kw)
            cases.append(("Attention/" + name, "sdpa", flops, 0, sdpa_case))

    if hf:
        m, Config = hf

        def mha_block():
            Q, d, H = GDINO_Q, D_MODEL, 8
            cfg = Config(d_model=d, decoder_attention_heads=H, attention_dropout=0.0)
            cfg.hidden_size = d
            blk = randomize(m.GroundingDinoMultiheadAttention(cfg, num_attention_heads=H), 4)
            g = torch.Generator().manual_seed(4)
            qk, v = torch.randn(1, Q, d, generator=g), torch.randn(1, Q, d, generator=g)
            return lambda: blk(qk, qk, v)
        flops = 4 * 2.0 * GDINO_Q * D_MODEL * D_MODEL + attn_flops(1, 8, GDINO_Q, GDINO_Q, 32)
        cases.append(("MHABlock/decoder_self_Q900_d256_h8", "hf", flops, 0, mha_block))


# ---------------------------------------------------------------- deformable


def deform_samples(Q):
    return float(Q) * DEFORM_H * len(GDINO_LEVELS) * DEFORM_P


def deform_kernel_flops(Q):
    return deform_samples(Q) * 4 * DEFORM_D * 2


def deform_kernel_bytes(Q):
    return deform_samples(Q) * (4 * DEFORM_D * 4 + 12)


def reference_centres(Q, encoder, g):
    if not encoder:
        return torch.rand(Q, 2, generator=g)
    cs = []
    for h, w in GDINO_LEVELS:
        ys, xs = torch.meshgrid((torch.arange(h) + 0.5) / h, (torch.arange(w) + 0.5) / w, indexing="ij")
        cs.append(torch.stack([xs, ys], -1).view(-1, 2))
    return torch.cat(cs)[:Q]


def grid_sample_deform(value, shapes, locs, weights):
    """the pure-PyTorch multi-scale deformable attention (bilinear grid_sample per level, weighted sum)."""
    B, S, H, D = value.shape
    _, Q, _, L, P, _ = locs.shape
    grids = 2 * locs - 1
    per_level, start = [], 0
    for lvl, (h, w) in enumerate(shapes):
        v = value[:, start:start + h * w].permute(0, 2, 3, 1).reshape(B * H, D, h, w)
        start += h * w
        g = grids[:, :, :, lvl].transpose(1, 2).flatten(0, 1)  # B*H, Q, P, 2
        per_level.append(F.grid_sample(v, g, mode="bilinear", padding_mode="zeros", align_corners=False))
    w = weights.transpose(1, 2).reshape(B * H, 1, Q, L * P)
    out = (torch.stack(per_level, dim=-2).flatten(-2) * w).sum(-1)
    return out.view(B, H * D, Q).transpose(1, 2).contiguous()


def deform_cases(cases, hf):
    shapes_t = torch.tensor(GDINO_LEVELS, dtype=torch.long)
    starts = torch.cat([torch.zeros(1, dtype=torch.long), (shapes_t[:, 0] * shapes_t[:, 1]).cumsum(0)[:-1]])
    L, H, P, D = len(GDINO_LEVELS), DEFORM_H, DEFORM_P, DEFORM_D
    kernel = hf[0].multi_scale_deformable_attention if hf else None
    for name, Q, enc in (("encoder_Q22223", GDINO_S, True), ("decoder_Q900", GDINO_Q, False)):
        def make_kernel(Q=Q, enc=enc):
            g = torch.Generator().manual_seed(2)
            value = torch.randn(1, GDINO_S, H, D, generator=g)
            c = reference_centres(Q, enc, g)
            norm = torch.tensor([[w, h] for h, w in GDINO_LEVELS], dtype=torch.float32)  # (x, y) per level
            off = (torch.rand(1, Q, H, L, P, 2, generator=g) * 8 - 4) / norm.view(1, 1, 1, L, 1, 2)
            locs = c.view(1, Q, 1, 1, 1, 2) + off
            w = torch.randn(1, Q, H, L * P, generator=g).softmax(-1).view(1, Q, H, L, P)
            fn = kernel or grid_sample_deform
            shapes_arg = shapes_t if kernel else GDINO_LEVELS
            return lambda: fn(value, shapes_arg, locs, w)
        cases.append(("MSDeformAttn/" + name, "hf" if kernel else "torch", deform_kernel_flops(Q),
                      deform_kernel_bytes(Q), make_kernel))

        if hf:
            def make_module(Q=Q, enc=enc):
                m, Config = hf
                cfg = Config(d_model=D_MODEL, num_feature_levels=L, disable_custom_kernels=True)
                mod = randomize(m.GroundingDinoMultiscaleDeformableAttention(cfg, num_heads=H, n_points=P), 5)
                g = torch.Generator().manual_seed(5)
                hidden = torch.randn(1, Q, D_MODEL, generator=g)
                pos = torch.randn(1, Q, D_MODEL, generator=g)
                memory = hidden if enc else torch.randn(1, GDINO_S, D_MODEL, generator=g)
                c = reference_centres(Q, enc, g)
                if enc:
                    ref = c.view(1, Q, 1, 2).expand(1, Q, L, 2).contiguous()
                else:
                    wh = 0.05 + 0.3 * torch.rand(Q, 2, generator=g)
                    ref = torch.cat([c, wh], -1).view(1, Q, 1, 4).expand(1, Q, L, 4).contiguous()
                return lambda: mod(hidden, encoder_hidden_states=memory, position_embeddings=pos,
                                   reference_points=ref, spatial_shapes=shapes_t, level_start_index=starts)
            HLP = float(H * L * P)
            proj = 2 * D_MODEL * (float(GDINO_S) * D_MODEL + Q * (3 * HLP + D_MODEL))
            cases.append(("DeformAttnModule/" + name, "hf", proj + deform_kernel_flops(Q), 0, make_module))


# ---------------------------------------------------------------- bi-attention


def bi_cases(cases, hf):
    if not hf:
        return
    Nv, Nt, d, e = GDINO_S, 9, D_MODEL, 1024

    def make():
        m, Config = hf
        cfg = Config(d_model=d, encoder_ffn_dim=2 * e, encoder_attention_heads=8, fusion_dropout=0.0)
        mod = randomize(m.GroundingDinoBiMultiHeadAttention(cfg), 6)
        g = torch.Generator().manual_seed(6)
        vision, text = torch.randn(1, Nv, d, generator=g), torch.randn(1, Nt, d, generator=g)
        return lambda: mod(vision, text)
    flops = 3 * 2.0 * (Nv + Nt) * d * e + 3 * 2.0 * Nv * Nt * e
    cases.append(("BiAttention/Nv22223_Nt9_d256_e1024_h4", "hf", flops, 0, make))


# ---------------------------------------------------------------- SGEMM


GEMMS = [  # name (m x k x n), transB, m, k, n
    ("1024x1024x1024_NN", False, 1024, 1024, 1024),
    ("4096x768x3072_NT", True, 4096, 768, 3072),
    ("22223x256x2048_NT", True, 22223, 256, 2048),
    ("17821x256x2048_NT", True, 17821, 256, 2048),
    ("900x256x256_NT", True, 900, 256, 256),
]


def gemm_cases(cases):
    for name, tb, m, k, n in GEMMS:
        def make(tb=tb, m=m, k=k, n=n):
            g = torch.Generator().manual_seed(7)
            a = torch.randn(m, k, generator=g)
            if tb:
                w = torch.randn(n, k, generator=g)
                return lambda: F.linear(a, w)
            b = torch.randn(k, n, generator=g)
            return lambda: torch.mm(a, b)
        cases.append(("SGEMM/" + name, "torch", 2.0 * m * n * k, 0, make))

    def numpy_case():
        import numpy as np
        rng = np.random.default_rng(7)
        a = rng.standard_normal((1024, 1024), dtype=np.float32)
        b = rng.standard_normal((1024, 1024), dtype=np.float32)
        return lambda: np.dot(a, b)
    cases.append(("SGEMM/1024x1024x1024_NN", "numpy", 2.0 * 1024 ** 3, 0, numpy_case))


# ---------------------------------------------------------------- main


def blas_in_use():
    try:
        with open("/proc/self/maps") as f:
            libs = {l.split()[-1] for l in f if "blas" in l and l.split()[-1].startswith("/")}
        return ",".join(sorted(os.path.realpath(x) for x in libs)) or "?"
    except OSError:
        return "?"


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--runs", type=int, default=5, help="timed runs after one warm-up (median reported)")
    p.add_argument("--threads", type=int, default=int(os.environ.get("THREADS", "2")))
    p.add_argument("--only", default="", help="regular expression on name or name/impl")
    p.add_argument("--json", action="store_true", help="one JSON object per result line")
    p.add_argument("--list", action="store_true", help="list the cases and exit")
    args = p.parse_args()

    torch.set_num_threads(args.threads)
    hf = hf_gdino()
    cases = []
    attention_cases(cases, hf)
    deform_cases(cases, hf)
    bi_cases(cases, hf)
    gemm_cases(cases)
    if args.only:
        rx = re.compile(args.only)
        cases = [c for c in cases if rx.search(c[0]) or rx.search(c[0] + "/" + c[1])]
    if args.list:
        for c in cases:
            print("%s\t%s" % (c[0], c[1]))
        return

    print("# torch %s threads=%d blas=%s LD_PRELOAD=%s" % (
        torch.__version__, torch.get_num_threads(), blas_in_use(), os.environ.get("LD_PRELOAD", "")),
        file=sys.stderr if args.json else sys.stdout, flush=True)
    with torch.no_grad():
        for name, impl, flops, nbytes, make in cases:
            fn = make()
            fn()  # warm-up
            ts = []
            for _ in range(args.runs):
                t0 = time.perf_counter()
                fn()
                ts.append(time.perf_counter() - t0)
            del fn
            med = statistics.median(ts)
            rec = {"name": name, "impl": impl, "ms": med * 1e3, "min_ms": min(ts) * 1e3, "runs": len(ts)}
            if flops:
                rec["gflops"] = flops / med / 1e9
            if nbytes:
                rec["gbs"] = nbytes / med / 1e9
            if args.json:
                print(json.dumps(rec), flush=True)
            else:
                extra = "".join("  %s=%.2f" % (k, rec[k]) for k in ("gflops", "gbs") if k in rec)
                print("%-48s %-6s median=%9.3f ms  min=%9.3f ms%s" % (name, impl, rec["ms"], rec["min_ms"], extra),
                      flush=True)


if __name__ == "__main__":
    main()
