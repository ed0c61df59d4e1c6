#!/usr/bin/env bash
# The figures of docs/performance.md's inference and ResNet-18 tables, in one sitting: Nabla's bench
# (fma_peak first), ONNX Runtime's and libtorch's anchors, alternating, ROUNDS rounds (default 2).
# Usage: bench/speed/run.sh [OUT_DIR] (default bench/results/<date>-speed); about 4 minutes a round on two
# cores. libtorch needs root (its anchor builds a Debian 13 root once). summarize.py prints the medians.
set -euo pipefail
cd "$(dirname "$0")/../.."
out=${1:-bench/results/$(date -u +%F)-speed}
rounds=${ROUNDS:-2}
mkdir -p "$out"
dotnet build bench/Nabla.Bench -c Release -v q -nologo >/dev/null
B() { dotnet bench/Nabla.Bench/bin/Release/net10.0/Nabla.Bench.dll "$@"; }
for r in $(seq 1 "$rounds"); do
  echo "{\"round\":$r,\"utc\":\"$(date -u +%FT%TZ)\",\"commit\":\"$(git rev-parse --short HEAD)\",\"loadavg\":\"$(cut -d' ' -f1-3 /proc/loadavg)\"}" >> "$out/nabla.jsonl"
  # The round trip of a cache line between the two cores before each engine: ~80 ns when the host put them on one
  # last-level cache, ~340 when not (docs/performance.md, "Where the two cores are").
  B core_latency --seconds 0.5 | sed "s/^{/{\"round\":$r,\"before\":\"nabla\",/" >> "$out/nabla.jsonl"
  B gemm cnn_infer resnet18_infer resnet18_train cnn_train mlp_train --seconds 3 | sed "s/^{/{\"round\":$r,/" >> "$out/nabla.jsonl"
  B core_latency --seconds 0.5 | sed "s/^{/{\"round\":$r,\"before\":\"onnxruntime\",/" >> "$out/nabla.jsonl"
  ../shared/anchors/onnxruntime/run.sh cnn_infer resnet18_infer | sed "s/^{/{\"round\":$r,/" >> "$out/onnxruntime.jsonl"
  if [ "$(id -u)" = 0 ]; then ../shared/anchors/libtorch/run.sh resnet18_infer resnet18_train cnn_train | sed "s/^{/{\"round\":$r,/" >> "$out/libtorch.jsonl" || true; fi
done
B hooks --seconds 3 >> "$out/hooks.jsonl"
python3 bench/speed/summarize.py "$out"
