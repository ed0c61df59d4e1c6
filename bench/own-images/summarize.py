#!/usr/bin/env python3
"""Prints the tables of docs/own-images.md from the run folders bench/own-images/run.sh wrote."""
import json, os, re, sys

w = sys.argv[1] if len(sys.argv) > 1 else "/tmp/own-images"

# Each run's wall time, decoding and feature extraction included, from its "Wrote RUN: ... (m:ss in all)." line.
wall = {}
for line in open(os.path.join(w, "log.txt"), encoding="utf-8"):
    m = re.match(r"Wrote .*/([^/:]+): .*\((?:(\d+):)?(\d+):(\d+) in all\)", line)
    if m:
        wall[m.group(1)] = int(m.group(2) or 0) * 3600 + int(m.group(3)) * 60 + int(m.group(4))

def summary(name):
    path = os.path.join(w, name, "summary.json")
    return json.load(open(path)) if os.path.exists(path) else None

def row(name, label):
    s = summary(name)
    if s is None:
        return
    per_sample = s["seconds"] / max(1, s["epochs"] * s["train_samples"])
    print(f"| {label} | {100 * s['test_accuracy']:.2f}% | {s['test_samples']:,} | {s['train_samples']:,} | {s['image_size']} | "
          f"{s.get('decode_seconds') or 0:.1f} s | {s['seconds']:.1f} s ({1 / per_sample:,.0f} samples/s) | {wall.get(name, float('nan')):.0f} s |")

print("| run | test accuracy | test images | training images | size | decoding | training epochs | wall time, all in |")
print("| --- | --- | --- | --- | --- | --- | --- | --- |")
for name, label in [("idx-cnn", "cnn, IDX files"), ("tree-cnn", "cnn, PNG tree"), ("few-cnn", "few labels: cnn from scratch"),
                    ("few-cnn-flipcrop", "few labels: cnn, flip-crop"), ("few-probe-128", "few labels: ResNet-18 probe, 128"),
                    ("few-probe-224", "few labels: ResNet-18 probe, 224"), ("few-finetune-128", "few labels: ResNet-18 fine-tuned, 128"),
                    ("few-finetune-128-flipcrop", "few labels: ResNet-18 fine-tuned, 128, flip-crop, 10 epochs"),
                    ("colour-none", "colour tree: cnn, no augmentation"), ("colour-scale", "colour tree: cnn, scale augmentation"),
                    ("speed-cnn-64", "speed: cnn at 64"), ("speed-resnet18-224", "speed: ResNet-18 fine-tuning at 224")]:
    row(name, label)

print()
print("| run | plain | ten-crop | multi-scale |")
print("| --- | --- | --- | --- |")
for r in ["colour-none", "colour-scale"]:
    t, m = summary(r + "-tencrop"), summary(r + "-multiscale")
    if t and m:
        print(f"| {r} | {100 * t['deterministic']['accuracy']:.2f}% | {100 * t['ten_crop_tta']['accuracy']:.2f}% | {100 * m['multi_scale_tta']['accuracy']:.2f}% |")
