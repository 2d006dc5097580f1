#!/usr/bin/python3
"""PyTorch peer of nngen's recurrent benchmarks (seq_mnist_rnn, seq_mnist_lstm).

Model: MNIST read row by row (28 steps of 28 pixels, batch_first) into
nn.RNN(28, 128) (tanh) or nn.LSTM(28, 128), the last step's state into
Linear(128, 10); CrossEntropyLoss; gradient clipping to norm 1 (as nngen's
recurrent models by default); Adam (lr 1e-3, betas 0.9/0.999, eps 1e-7);
batch 64; --threads threads (default one).

Trains on shuffled MNIST batches read from the IDX .gz files in DIR: --warmup
untimed steps, then --steps timed ones (batch gathering, forward, backward,
clipping, Adam step, loss.item()). Prints one logfmt line

    samples_per_sec=N [eval_samples_per_sec=Z]

(details on stderr). With --eval-batch B > 0 it also times an evaluation of
the 10000 test images in batches of B (torch.no_grad(): forward, summed
loss, correct count), best of --eval-reps passes after 3 warm-up batches:
eval_samples_per_sec.

Usage: pytorch_rnn.py [--cell rnn|lstm] [--steps 100] [--warmup 10] [--seed 1] [--threads 1] [--eval-batch 0] [--eval-reps 1] DIR
"""
import argparse
import gzip
import os
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


class Net(nn.Module):
    def __init__(self, cell):
        super().__init__()
        self.rnn = (nn.LSTM if cell == "lstm" else nn.RNN)(28, 128, batch_first=True)
        self.fc = nn.Linear(128, 10)

    def forward(self, x):
        out, _ = self.rnn(x)
        return self.fc(out[:, -1])


def load_split(d, prefix):
    x = read_idx(os.path.join(d, f"{prefix}-images-idx3-ubyte.gz"))
    y = read_idx(os.path.join(d, f"{prefix}-labels-idx1-ubyte.gz"))
    x = torch.from_numpy(x.reshape(len(x), 28, 28).astype(np.float32) / 255.0)
    return x, torch.from_numpy(y.astype(np.int64))


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


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("data_dir")
    ap.add_argument("--cell", choices=["rnn", "lstm"], default="rnn")
    ap.add_argument("--steps", type=int, default=100, help="timed train steps")
    ap.add_argument("--warmup", type=int, default=10, help="untimed train steps first")
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--threads", type=int, default=1, help="torch.set_num_threads")
    ap.add_argument("--eval-batch", type=int, default=0, help="time an evaluation in batches of B (0: skip)")
    ap.add_argument("--eval-reps", type=int, default=1, help="timed evaluation passes (the best counts)")
    args = ap.parse_args()

    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    train_x, train_y = load_split(args.data_dir, "train")

    model = Net(args.cell)
    loss_fn = nn.CrossEntropyLoss()
    opt = torch.optim.Adam(model.parameters(), lr=1e-3, betas=(0.9, 0.999), eps=1e-7)
    n = len(train_x)
    perm = torch.randperm(n)
    per_epoch = n // args.batch

    def step(s):
        s %= per_epoch
        idx = perm[s * args.batch:(s + 1) * args.batch]
        xb, yb = train_x[idx], train_y[idx]
        opt.zero_grad(set_to_none=True)
        loss = loss_fn(model(xb), yb)
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        return loss.item()

    for s in range(args.warmup):
        step(s)
    losses = []
    t0 = time.perf_counter()
    for s in range(args.warmup, args.warmup + args.steps):
        losses.append(step(s))
    elapsed = time.perf_counter() - t0
    print(f"pytorch: {args.cell}: {args.steps} steps of {args.batch} in {elapsed:.2f}s after "
          f"{args.warmup} warm-up steps, loss {losses[0]:.4f} -> {losses[-1]:.4f}; "
          f"torch {torch.__version__}, mkldnn {torch.backends.mkldnn.is_available()}", file=sys.stderr)
    out = f"samples_per_sec={args.steps * args.batch / elapsed:.0f}"
    if args.eval_batch > 0:
        test_x, test_y = load_split(args.data_dir, "t10k")
        out += f" eval_samples_per_sec={eval_rate(model, test_x, test_y, args.eval_batch, args.eval_reps):.0f}"
    print(out)


if __name__ == "__main__":
    main()
