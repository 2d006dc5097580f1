#!/usr/bin/python3
"""PyTorch peer of nngen's MLP benchmark.

Trains Linear(784,64) -> ReLU -> Linear(64,10) with CrossEntropyLoss
(softmax + categorical cross-entropy) and Adam (lr 1e-3, betas 0.9/0.999,
eps 1e-7), batch 32, shuffled, on MNIST read from the IDX .gz files in DIR,
on --threads threads (default one), then prints

    samples_per_sec=N test_accuracy=X predict_us=Y [eval_samples_per_sec=Z]

samples_per_sec counts only the training loop (batch gathering, forward,
backward, Adam step); predict_us is the median latency of a batch-1 forward
(model.eval(), torch.no_grad(), softmax output) over many calls. With
--eval-batch B > 0 it then times an evaluation of the 10000 test images in
batches of B (torch.no_grad(): forward, summed loss, correct count), best of
--eval-reps passes after 3 warm-up batches: eval_samples_per_sec.

Usage: pytorch_mlp.py [--epochs 1] [--seed 1] [--threads 1] [--eval-batch 0] [--eval-reps 1] DIR
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
    ap.add_argument("--threads", type=int, default=1, help="torch.set_num_threads")
    ap.add_argument("--eval-batch", type=int, default=0, help="time an evaluation in batches of B (0: skip)")
    ap.add_argument("--eval-reps", type=int, default=1, help="timed evaluation passes (the best counts)")
    args = ap.parse_args()

    torch.set_num_threads(args.threads)
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
    out = f"samples_per_sec={samples / elapsed:.0f} test_accuracy={acc:.4f} predict_us={statistics.median(lat):.2f}"
    if args.eval_batch > 0:
        out += f" eval_samples_per_sec={eval_rate(model, test_x, test_y, args.eval_batch, args.eval_reps):.0f}"
    print(out)


def eval_rate(model, x, y, batch, reps):
    """Samples per second of the best of reps evaluations of (x, y) in batches."""
    loss_fn = nn.CrossEntropyLoss(reduction="sum")
    model.eval()
    best = float("inf")
    with torch.no_grad():
        for i in range(3):  # warm-up
            model(x[i * batch:(i + 1) * batch])
        for _ in range(max(reps, 1)):
            t = time.perf_counter()
            loss, correct = 0.0, 0
            for i in range(0, len(x), batch):
                out = model(x[i:i + batch])
                loss += loss_fn(out, y[i:i + batch]).item()
                correct += int((out.argmax(1) == y[i:i + batch]).sum())
            best = min(best, time.perf_counter() - t)
    print(f"pytorch: evaluation of {len(x)} samples in batches of {batch}: best {best:.3f}s, "
          f"loss {loss / len(x):.4f}, accuracy {correct / len(x):.4f}, {torch.get_num_threads()} threads",
          file=sys.stderr)
    return len(x) / best


if __name__ == "__main__":
    main()
