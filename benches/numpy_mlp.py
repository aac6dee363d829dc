"""The benchmark network trained by a plain numpy loop, for a side-by-side figure.

MNIST 784-128-10, ReLU, softmax cross-entropy, plain SGD lr 0.1, the same network and loop as
`benches/mnist-bench.mlp`: the whole training set in memory, a shuffled order per epoch, each
batch gathered, forward, backward written by hand (softmax folded into the loss gradient as
p - y), parameters updated in place. Prints one JSON object per batch size with the steady
epoch's seconds and samples/s (the median of the epochs after the first) and the test accuracy,
so that `benches/cpu.sh` can set it beside `mlpc bench`.

Usage: python3 benches/numpy_mlp.py [--batch-sizes 64,512] [--epochs 3]
"""
import argparse
import gzip
import json
import os
import struct
import time

import numpy as np


def idx(path):
    with gzip.open(path, "rb") as file:
        data = file.read()
    magic, count = struct.unpack(">II", data[:8])
    if magic == 2051:
        rows, columns = struct.unpack(">II", data[8:16])
        return np.frombuffer(data, dtype=np.uint8, offset=16).reshape(count, rows * columns)
    return np.frombuffer(data, dtype=np.uint8, offset=8)


def train(x, y, x_test, y_test, batch, epochs, seed=1, lr=0.1):
    random = np.random.default_rng(seed)
    bound1, bound2 = 1 / np.sqrt(784), 1 / np.sqrt(128)
    w1 = random.uniform(-bound1, bound1, (784, 128)).astype(np.float32)
    b1 = random.uniform(-bound1, bound1, 128).astype(np.float32)
    w2 = random.uniform(-bound2, bound2, (128, 10)).astype(np.float32)
    b2 = random.uniform(-bound2, bound2, 10).astype(np.float32)
    times = []
    for _ in range(epochs):
        start = time.perf_counter()
        order = random.permutation(len(x))
        for first in range(0, len(x), batch):
            index = order[first:first + batch]
            inputs, targets = x[index], y[index]
            hidden = inputs @ w1
            hidden += b1
            np.maximum(hidden, 0, out=hidden)
            logits = hidden @ w2
            logits += b2
            logits -= logits.max(axis=1, keepdims=True)
            np.exp(logits, out=logits)
            logits /= logits.sum(axis=1, keepdims=True)
            logits[np.arange(len(index)), targets] -= 1
            logits *= lr / len(index)  # the gradient of the mean loss, times the rate
            hidden_gradient = logits @ w2.T
            hidden_gradient *= hidden > 0
            w2 -= hidden.T @ logits
            b2 -= logits.sum(axis=0)
            w1 -= inputs.T @ hidden_gradient
            b1 -= hidden_gradient.sum(axis=0)
        times.append(time.perf_counter() - start)
    predicted = (np.maximum(x_test @ w1 + b1, 0) @ w2 + b2).argmax(axis=1)
    later = sorted(times[1:]) or times
    steady = later[len(later) // 2]
    return {
        "program": "numpy",
        "batch": batch,
        "first_epoch_seconds": times[0],
        "steady_epoch_seconds": steady,
        "samples_per_sec": len(x) / steady,
        "test_accuracy": float((predicted == y_test).mean()),
    }


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--batch-sizes", default="64,512")
    parser.add_argument("--epochs", type=int, default=3)
    arguments = parser.parse_args()
    root = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "data", "mnist")
    x = idx(os.path.join(root, "train-images-idx3-ubyte.gz")).astype(np.float32) / 255
    y = idx(os.path.join(root, "train-labels-idx1-ubyte.gz")).astype(np.int64)
    x_test = idx(os.path.join(root, "t10k-images-idx3-ubyte.gz")).astype(np.float32) / 255
    y_test = idx(os.path.join(root, "t10k-labels-idx1-ubyte.gz")).astype(np.int64)
    for batch in arguments.batch_sizes.split(","):
        print(json.dumps(train(x, y, x_test, y_test, int(batch), arguments.epochs)), flush=True)


if __name__ == "__main__":
    main()
