#!/usr/bin/env bash
# The measurements of docs/own-images.md: image folders against IDX files, few labels (cnn from scratch,
# the ResNet-18 linear probe, ResNet-18 fine-tuned), scale augmentation and ten-crop testing on a colour
# tree, and throughput. Usage: bench/own-images/run.sh [WORK_DIR] (default /tmp/own-images); about 45
# minutes on two cores. Each run's summary.json is kept under WORK_DIR; summarize.py prints the tables.
set -euo pipefail
cd "$(dirname "$0")/../.."
W=${1:-/tmp/own-images}
mkdir -p "$W"
dotnet build src/Nabla.Cli -c Release -v q -nologo >/dev/null
dotnet build bench/Nabla.Bench -c Release -v q -nologo >/dev/null
N() { dotnet src/Nabla.Cli/bin/Release/net10.0/Nabla.Cli.dll "$@"; }
B() { dotnet bench/Nabla.Bench/bin/Release/net10.0/Nabla.Bench.dll "$@"; }
run() { local name=$1; shift; [ -f "$W/$name/summary.json" ] && return 0; rm -rf "${W:?}/$name"; echo "== $name: nabla $*" | tee -a "$W/log.txt"; N "$@" --out "$W/$name" 2>&1 | grep -v '│' | tee -a "$W/log.txt"; }
ev() { local name=$1 run=$2; shift 2; [ -f "$W/$name/summary.json" ] && return 0; echo "== $name: nabla eval $run $*" | tee -a "$W/log.txt"; N eval "$W/$run" "$@" --out "$W/$name" 2>&1 | tee -a "$W/log.txt"; }

echo "== $(date -u +%FT%TZ) $(git rev-parse --short HEAD) loadavg $(cut -d' ' -f1-3 /proc/loadavg)" | tee -a "$W/log.txt"

# 1. Fashion-MNIST as a PNG tree against its IDX files: same seed, same options.
[ -d "$W/fm-tree" ] || N data export-images --out "$W/fm-tree" | tee -a "$W/log.txt"
run idx-cnn train --model cnn --epochs 10 --seed 0
run tree-cnn train --data "$W/fm-tree" --model cnn --epochs 10 --seed 0

# 2. Few labels: 100 training images per class, the full test set.
if [ ! -d "$W/few" ]; then
  N data export-images --split train --per-class 100 --seed 0 --out "$W/few"
  N data export-images --split test --out "$W/few-test" && mv "$W/few-test/test" "$W/few/test" && rmdir "$W/few-test"
fi
run few-cnn train --data "$W/few" --model cnn --epochs 30
run few-cnn-flipcrop train --data "$W/few" --model cnn --epochs 30 --augment flip-crop
run few-probe-128 train --data "$W/few" --model resnet18-imagenet --freeze-backbone --image-size 128 --epochs 10
run few-probe-224 train --data "$W/few" --model resnet18-imagenet --freeze-backbone --image-size 224 --epochs 10
run few-finetune-128 train --data "$W/few" --model resnet18-imagenet --image-size 128 --epochs 5
run few-finetune-128-flipcrop train --data "$W/few" --model resnet18-imagenet --image-size 128 --epochs 10 --augment flip-crop

# 3. Scale augmentation and ten-crop / multi-scale testing on a colour tree.
[ -d "$W/colour" ] || B colour_tree "$W/colour" 100 | tee -a "$W/log.txt"
run colour-none train --data "$W/colour" --model cnn --image-size 64 --epochs 60
run colour-scale train --data "$W/colour" --model cnn --image-size 64 --epochs 60 --augment scale
for r in colour-none colour-scale; do
  ev "$r-tencrop" "$r" --tta ten-crop
  ev "$r-multiscale" "$r" --tta multi-scale
done

# 4. Throughput: decoding, and training samples per second at 64 x 64 and 224 x 224 (fma_peak first).
B fma_peak --seconds 2 | tee -a "$W/log.txt"
run speed-cnn-64 train --data "$W/fm-tree" --model cnn --image-size 64 --train-samples 5000 --epochs 1 --val-split 0
run speed-resnet18-224 train --data "$W/colour" --model resnet18-imagenet --image-size 224 --epochs 1 --val-split 0
echo "== done $(date -u +%FT%TZ)" | tee -a "$W/log.txt"
