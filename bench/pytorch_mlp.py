#!/usr/bin/python3
"""PyTorch peer of nngen's MLP benchmark.

Trains Linear(784,64) -> ReLU -> Linear(64,10) with CrossEntropyLoss
(softmax + categorical cross-entropy) and Adam (lr 1e-3, betas 0.9/0.999,
eps 1e-7), batch 32, shuffled, on MNIST read from the IDX .gz files in DIR,
on one thread, then prints

    samples_per_sec=N test_accuracy=X predict_us=Y

samples_per_sec counts only the training loop (batch gathering, forward,
backward, Adam step); predict_us is the median latency of a batch-1 forward
(model.eval(), torch.no_grad(), softmax output) over many calls.

Usage: pytorch_mlp.py [--epochs 1] [--seed 1] DIR
"""
import argparse
import gzip
import os
import statistics
import struct
import sys
import time

import numpy as np
import torch
from torch import nn


def read_idx(path):
    with gzip.open(path, "rb") as f:
        data = f.read()
    zero, dtype, ndim = struct.unpack(">HBB", data[:4])
    if zero != 0 or dtype != 0x08:
        raise ValueError(f"{path}: not an unsigned-byte IDX file")
    dims = struct.unpack(">" + "I" * ndim, data[4:4 + 4 * ndim])
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim).reshape(dims)


def load_split(d, prefix):
    x = read_idx(os.path.join(d, f"{prefix}-images-idx3-ubyte.gz"))
    y = read_idx(os.path.join(d, f"{prefix}-labels-idx1-ubyte.gz"))
    x = torch.from_numpy(x.reshape(len(x), -1).astype(np.float32) / 255.0)
    return x, torch.from_numpy(y.astype(np.int64))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("data_dir")
    ap.add_argument("--epochs", type=int, default=1)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--predict-calls", type=int, default=2000)
    args = ap.parse_args()

    torch.set_num_threads(1)
    torch.manual_seed(args.seed)
    train_x, train_y = load_split(args.data_dir, "train")
    test_x, test_y = load_split(args.data_dir, "t10k")

    model = nn.Sequential(nn.Linear(784, 64), nn.ReLU(), nn.Linear(64, 10))
    for m in model:  # Keras-style init, as nngen: Glorot-uniform weights, zero bias
        if isinstance(m, nn.Linear):
            nn.init.xavier_uniform_(m.weight)
            nn.init.zeros_(m.bias)
    loss_fn = nn.CrossEntropyLoss()
    opt = torch.optim.Adam(model.parameters(), lr=1e-3, betas=(0.9, 0.999), eps=1e-7)

    n = len(train_x)
    steps = n // args.batch  # full batches only
    model.train()
    loss_sum = 0.0
    t0 = time.perf_counter()
    for _ in range(args.epochs):
        perm = torch.randperm(n)
        for s in range(steps):
            idx = perm[s * args.batch:(s + 1) * args.batch]
            xb, yb = train_x[idx], train_y[idx]
            opt.zero_grad(set_to_none=True)
            loss = loss_fn(model(xb), yb)
            loss.backward()
            opt.step()
            loss_sum += loss.item()
    elapsed = time.perf_counter() - t0
    samples = args.epochs * steps * args.batch

    model.eval()
    with torch.no_grad():
        acc = (model(test_x).argmax(1) == test_y).float().mean().item()
        lat = []
        for i in range(200 + args.predict_calls):
            x1 = test_x[i % len(test_x)].unsqueeze(0)
            t = time.perf_counter()
            p = torch.softmax(model(x1), dim=1)
            int(p.argmax())
            if i >= 200:  # first 200 calls are warm-up
                lat.append((time.perf_counter() - t) * 1e6)

    print(f"pytorch: {samples} samples in {elapsed:.2f}s, mean train loss "
          f"{loss_sum / (args.epochs * steps):.4f}, torch {torch.__version__}",
          file=sys.stderr)
    print(f"samples_per_sec={samples / elapsed:.0f} test_accuracy={acc:.4f} "
          f"predict_us={statistics.median(lat):.2f}")


if __name__ == "__main__":
    main()
