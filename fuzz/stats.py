#!/usr/bin/env python3
"""The fuzzing table of docs/reliability.md, from AFL++'s fuzzer_stats of each target under fuzz/findings."""
import os, sys

root = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "findings")
print("| target | fuzzing time | executions | per second | corpus | crashes | hangs |")
print("| --- | --- | --- | --- | --- | --- | --- |")
for target in ["idx", "idx-gz", "safetensors", "image", "config", "csv", "onnx"]:
    path = os.path.join(root, target, "default", "fuzzer_stats")
    if not os.path.exists(path):
        continue
    s = dict(line.split(":", 1) for line in open(path) if ":" in line)
    s = {k.strip(): v.strip() for k, v in s.items()}
    runtime = int(s["run_time"])
    execs = int(s["execs_done"])
    print(f"| {target} | {runtime / 60:.0f} min | {execs:,} | {execs / max(runtime, 1):,.0f} | {s['corpus_count']} | {s['saved_crashes']} | {s['saved_hangs']} |")
