#!/usr/bin/python3
"""Joins Go and PyTorch timings into markdown tables (standard library only; compare.sh drives it).

  compare.py kernels --go GO_BENCH_OUTPUT --torch TORCH_KERNELS_JSONL
      GO_BENCH_OUTPUT: `go test -bench` text (any -count; the median of the runs is taken)
      TORCH_KERNELS_JSONL: `torch_kernels.py --json` output
  compare.py models --gsam GSAM_BENCH_JSON --cpuref CPUREF_OUTPUT
      GSAM_BENCH_JSON: `gsam bench --random-weights --json` output
      CPUREF_OUTPUT: bench_ref.py / cpuref.sh output (lines "<name> median=<s>s ...")

The ratio column is PyTorch time / Go time: above 1 the Go code is faster.
"""
import argparse
import json
import re
import statistics
import sys

GO_LINE = re.compile(r"^Benchmark(\S+?)(?:-\d+)?\s+(\d+)\s+([\d.e+]+) ns/op(.*)$")


def parse_go(path):
    """name -> {"ms": median ms, "gflops": at the median, "gbs": at the median, "n": runs}"""
    runs = {}
    with open(path) as f:
        for line in f:
            m = GO_LINE.match(line.strip())
            if not m:
                continue
            name, rest = m.group(1), m.group(4).split()
            metrics = {"ns/op": float(m.group(3))}
            for val, unit in zip(rest[0::2], rest[1::2]):
                try:
                    metrics[unit] = float(val)
                except ValueError:
                    pass
            ms = metrics.get("ms", metrics["ns/op"] / 1e6)
            runs.setdefault(name, []).append((ms, metrics.get("GFLOP/s"), metrics.get("GB/s")))
    out = {}
    for name, rs in runs.items():
        med = statistics.median(r[0] for r in rs)
        rec = {"ms": med, "n": len(rs)}
        # operation and byte counts are fixed per case: rescale to the median time
        for i, key in ((1, "gflops"), (2, "gbs")):
            vals = [r[i] * r[0] / med for r in rs if r[i] is not None]
            if vals:
                rec[key] = statistics.median(vals)
        out[name] = rec
    return out


def parse_torch(path):
    recs = []
    with open(path) as f:
        for line in f:
            line = line.strip()
            if line.startswith("{"):
                recs.append(json.loads(line))
    return recs


def fmt(v):
    if v is None:
        return "–"
    if v >= 100:
        return "%.0f" % v
    if v >= 10:
        return "%.1f" % v
    return "%.2f" % v


def thr(rec):
    if rec is None:
        return "–"
    s = fmt(rec.get("gflops"))
    if rec.get("gbs") is not None:
        s += " (%s GB/s)" % fmt(rec["gbs"])
    return s


def kernels(args):
    go = parse_go(args.go)
    torch = parse_torch(args.torch) if args.torch else []
    by_name = {}
    for r in torch:
        by_name.setdefault(r["name"], []).append(r)
    names = list(go) + [n for n in by_name if n not in go]
    print("| kernel | Go ms | Go GFLOP/s | PyTorch impl | PyTorch ms | PyTorch GFLOP/s | PyTorch / Go |")
    print("| --- | ---: | ---: | --- | ---: | ---: | ---: |")
    for n in names:
        g = go.get(n)
        ts = by_name.get(n) or [None]
        for t in ts:
            ratio = "–"
            if g and t and g["ms"] > 0:
                ratio = "%.2f×" % (t["ms"] / g["ms"])
            print("| %s | %s | %s | %s | %s | %s | %s |" % (
                n, fmt(g["ms"]) if g else "–", thr(g), t["impl"] if t else "–",
                fmt(t["ms"]) if t else "–", thr(t), ratio))
    print()
    print("PyTorch / Go above 1: the Go code is faster. GFLOP/s counts the same operations on both sides "
          "(nominal reference operations for BiAttention); GB/s: deformable sampling traffic.")


# cpuref (bench_ref.py) line names -> gsam bench result names
CPUREF_TO_GSAM = {
    "gdino_tiny.forward": "grounding-dino-tiny/total",
    "gdino_tiny.stage.backbone(swin-T+pos)": "grounding-dino-tiny/backbone",
    "gdino_tiny.stage.text_backbone(bert)": "grounding-dino-tiny/text",
    "gdino_tiny.stage.encoder(6L fusion+deform)": "grounding-dino-tiny/encoder",
    "gdino_tiny.stage.decoder(6L)": "grounding-dino-tiny/decoder",
    "sam_vit_b.image_encoder": "sam-vit-base/image-encoder",
    "sam_vit_b.prompt+mask_decoder.multimask": "sam-vit-base/decoder",
}
GSAM_ORDER = ["grounding-dino-tiny/total", "grounding-dino-tiny/backbone", "grounding-dino-tiny/text",
              "grounding-dino-tiny/encoder", "grounding-dino-tiny/query", "grounding-dino-tiny/decoder",
              "sam-vit-base/image-encoder", "sam-vit-base/decoder"]
CPUREF_LINE = re.compile(r"^(\S+)\s+median=([\d.]+)s")


def parse_cpuref(path):
    out = {}
    with open(path) as f:
        for line in f:
            m = CPUREF_LINE.match(line.strip())
            if m:
                out[m.group(1)] = float(m.group(2)) * 1e3
    return out


def parse_gsam(path):
    with open(path) as f:
        text = f.read()
    dec = json.JSONDecoder()
    for m in re.finditer(r"(?m)^\s*\{", text):  # tolerate log lines around the JSON document
        try:
            doc, _ = dec.raw_decode(text[m.start():].lstrip())
        except ValueError:
            continue
        if isinstance(doc, dict) and "results" in doc:
            return doc
    raise SystemExit("compare.py: no gsam bench JSON document with \"results\" in %s" % path)


def models(args):
    ref = parse_cpuref(args.cpuref) if args.cpuref else {}
    ref_by_gsam = {g: ref[c] for c, g in CPUREF_TO_GSAM.items() if c in ref}
    doc = parse_gsam(args.gsam) if args.gsam else {"results": []}
    ours = {r["name"]: r for r in doc.get("results", [])}
    names = [n for n in GSAM_ORDER if n in ours or n in ref_by_gsam]
    names += [n for n in ours if n not in names]
    if doc.get("device") or doc.get("runs"):
        print("gsam: device %s, %s runs (median); PyTorch: cpuref bench_ref.py, tuned, 2 threads (median)\n" % (
            doc.get("device", "?"), doc.get("runs", "?")))
    print("| model / stage | Go ms | PyTorch ms | PyTorch / Go |")
    print("| --- | ---: | ---: | ---: |")
    for n in names:
        g = ours.get(n, {}).get("median_ms")
        t = ref_by_gsam.get(n)
        ratio = "%.2f×" % (t / g) if g and t else "–"
        print("| %s | %s | %s | %s |" % (n, fmt(g) if g is not None else "–", fmt(t), ratio))
    extra = sorted(set(ref) - set(CPUREF_TO_GSAM))
    if extra:
        print("\nPyTorch only: " + "; ".join("%s %s ms" % (c, fmt(ref[c])) for c in extra))
    print("\nPyTorch / Go above 1: the Go code is faster. grounding-dino-tiny/query has no PyTorch stage "
          "(HF times query selection inside the model's forward, between encoder and decoder). "
          "grounding-dino-tiny/text has no Go stage of its own: gsam runs the text encoder alongside "
          "the vision backbone, so its time is inside grounding-dino-tiny/backbone.")


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="cmd", required=True)
    k = sub.add_parser("kernels")
    k.add_argument("--go", required=True)
    k.add_argument("--torch", default="")
    m = sub.add_parser("models")
    m.add_argument("--gsam", default="")
    m.add_argument("--cpuref", default="")
    args = p.parse_args()
    {"kernels": kernels, "models": models}[args.cmd](args)


if __name__ == "__main__":
    sys.exit(main())
