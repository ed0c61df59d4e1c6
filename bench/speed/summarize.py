#!/usr/bin/env python3
"""Medians over rounds of bench/speed/run.sh's JSON lines: one row per workload and batch, Nabla against ONNX Runtime and libtorch.

ONNX Runtime's anchor reports the median of its runs' own rates; libtorch's, the rate over its seconds. Each ratio compares
Nabla's figure of the same kind: samples_per_s_median against ONNX Runtime, samples_per_s against libtorch."""
import json, os, statistics, sys

out = sys.argv[1]
def load(name):
    path = os.path.join(out, name)
    return [json.loads(l) for l in open(path) if l.startswith("{") and '"workload"' in l] if os.path.exists(path) else []

rows = {}
latency = {}    # (round, engine about to run) -> round trip of a cache line between the cores, ns
per_round = {}  # engine -> [(round, ResNet-18 batch-1 rate)]
for engine_file in ["nabla.jsonl", "onnxruntime.jsonl", "libtorch.jsonl"]:
    for d in load(engine_file):
        w = d["workload"]
        if w == "core_latency":
            latency[(d.get("round", 0), d.get("before", ""))] = d["round_trip_ns"]
            continue
        if w == "fma_peak":
            rows.setdefault(("fma_peak", d["threads"], ""), []).append(d["gflops"])
            continue
        if w == "gemm":
            rows.setdefault(("gemm", d["n"], "nabla"), []).append(d["gflops"])
            continue
        key = (w, d.get("batch", ""), d["engine"] + ("" if d.get("path", "for_inference") == "for_inference" else " (" + d["path"] + ")"))
        rows.setdefault(key, []).append(d["samples_per_s"])
        if w == "resnet18_infer" and d.get("batch") == 1 and key[2] in ("nabla", "onnxruntime"):
            per_round.setdefault(key[2], []).append((d.get("round", 0), d.get("samples_per_s_median", d["samples_per_s"])))
        if "samples_per_s_median" in d:
            rows.setdefault(key[:2] + (key[2] + " median",), []).append(d["samples_per_s_median"])
med = {k: statistics.median(v) for k, v in rows.items()}
peak = med.get(("fma_peak", 2, ""), float("nan"))
rounds = {d["round"] for f in ["nabla.jsonl", "onnxruntime.jsonl", "libtorch.jsonl"] for d in load(f) if "round" in d}
print(f"fma_peak (2 threads): {peak:.0f} GFLOPS; rounds: {len(rounds)}")
print("| workload | batch | Nabla | Nabla, median step | ONNX Runtime (median run) | libtorch | Nabla / ORT (medians) | Nabla / libtorch |")
print("| --- | --- | --- | --- | --- | --- | --- | --- |")
for (w, b) in sorted({(k[0], k[1]) for k in med if k[0] not in ("fma_peak", "gemm")}, key=str):
    n, o, t = med.get((w, b, "nabla")), med.get((w, b, "onnxruntime")), med.get((w, b, "libtorch"))
    nm = med.get((w, b, "nabla median"))
    unprepared = med.get((w, b, "nabla (forward)"))
    f = lambda v: "—" if v is None else f"{v:,.1f}"
    r = lambda a, c: "—" if a is None or c is None else f"{a / c:.2f}"
    extra = f" ({f(unprepared)} unprepared)" if unprepared else ""
    print(f"| {w} | {b} | {f(n)}{extra} | {f(nm)} | {f(o)} | {f(t)} | {r(nm if nm is not None else n, o)} | {r(n, t)} |")
print()
print("| gemm n | GFLOPS | of fma_peak |")
print("| --- | --- | --- |")
for (w, n, _), v in sorted((k, v) for k, v in med.items() if k[0] == "gemm"):
    print(f"| {n} | {v:.1f} | {v / peak:.2f} |")
if latency:
    print()
    print("ResNet-18 at batch 1 by round, with the round trip between the cores measured just before the engine ran")
    print("(~80 ns: one last-level cache; ~340 ns: two):")
    for engine, runs in sorted(per_round.items()):
        print(f"- {engine}: " + ", ".join(f"{rate:,.1f} ({latency.get((rnd, engine), float('nan')):.0f} ns)" for rnd, rate in runs))
