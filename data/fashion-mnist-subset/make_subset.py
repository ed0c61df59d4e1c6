#!/usr/bin/env python3
"""Makes the stratified Fashion-MNIST subset kept in this folder, from the full set.

Usage: python3 make_subset.py [/usr/share/datasets/fashion-mnist]
Takes the first TRAIN_PER_CLASS training and TEST_PER_CLASS test images of each class in a
shuffled order (random.Random(SEED)), keeps them in their original relative order, and writes
them as gzip IDX files with the original names. Deterministic: the same inputs give the same files.
"""
import gzip, random, struct, sys, os

TRAIN_PER_CLASS, TEST_PER_CLASS, SEED = 1000, 200, 20261126
src = sys.argv[1] if len(sys.argv) > 1 else "/usr/share/datasets/fashion-mnist"
here = os.path.dirname(os.path.abspath(__file__))

def read(name):
    with gzip.open(os.path.join(src, name + ".gz"), "rb") as f:
        return f.read()

def subset(prefix, per_class):
    images, labels = read(prefix + "-images-idx3-ubyte"), read(prefix + "-labels-idx1-ubyte")
    n = struct.unpack(">I", labels[4:8])[0]
    order = list(range(n))
    random.Random(SEED).shuffle(order)
    taken, chosen = [0] * 10, []
    for i in order:
        c = labels[8 + i]
        if taken[c] < per_class:
            taken[c] += 1
            chosen.append(i)
    chosen.sort()
    img = bytearray(struct.pack(">IIII", 0x803, len(chosen), 28, 28))
    lab = bytearray(struct.pack(">II", 0x801, len(chosen)))
    for i in chosen:
        img += images[16 + i * 784: 16 + (i + 1) * 784]
        lab.append(labels[8 + i])
    for name, data in ((prefix + "-images-idx3-ubyte.gz", img), (prefix + "-labels-idx1-ubyte.gz", lab)):
        with open(os.path.join(here, name), "wb") as f:
            f.write(gzip.compress(bytes(data), compresslevel=9, mtime=0))

subset("train", TRAIN_PER_CLASS)
subset("t10k", TEST_PER_CLASS)
