#!/usr/bin/python3
"""PyTorch peer of nngen's CNN benchmark (Keras's classic mnist_cnn).

Model (NCHW): Conv2d(1,32,3) -> ReLU -> Conv2d(32,64,3) -> ReLU ->
MaxPool2d(2) -> Dropout(0.25) -> Flatten -> Linear(9216,128) -> ReLU ->
Dropout(0.5) -> Linear(128,10); Glorot-uniform weights, zero biases (as Keras
and nngen); CrossEntropyLoss (softmax + categorical cross-entropy); Adam
(lr 1e-3, betas 0.9/0.999, eps 1e-7); batch 128; --threads threads (default
one).

Trains on shuffled MNIST batches read from the IDX .gz files in DIR: --warmup
untimed steps, then --steps timed ones (batch gathering, forward, backward,
Adam step, loss.item()). With --conv-reps N > 0 it then times each conv layer's
forward (conv + bias + ReLU, as one nngen conv layer; torch.no_grad(), batch
128, the layer's real input) N times after 3 warm-up calls and reports the best
call as GFLOP/s = 2*B*OH*OW*F*KH*KW*C / time. Prints one logfmt line

    samples_per_sec=N conv2d_fwd_gflops=X conv2d_1_fwd_gflops=Y [eval_samples_per_sec=Z]

(progress and details on stderr). With --eval-batch B > 0 it also times an
evaluation of the 10000 test images in batches of B (model.eval(),
torch.no_grad(): forward, summed loss, correct count), best of --eval-reps
passes after 3 warm-up batches: eval_samples_per_sec.

Usage: pytorch_cnn.py [--steps 40] [--warmup 5] [--conv-reps 20] [--seed 1] [--threads 1] [--eval-batch 0] [--eval-reps 1] DIR
"""
import argparse
import ctypes
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


def load_split(d, prefix):
    x = read_idx(os.path.join(d, f"{prefix}-images-idx3-ubyte.gz"))
    y = read_idx(os.path.join(d, f"{prefix}-labels-idx1-ubyte.gz"))
    x = torch.from_numpy(x.reshape(len(x), 1, 28, 28).astype(np.float32) / 255.0)
    return x, torch.from_numpy(y.astype(np.int64))


def openblas_core():
    """The OpenBLAS core torch's Linear layers run on (torch links libblas.so.3)."""
    try:
        lib = ctypes.CDLL("libopenblas.so.0")
        lib.openblas_get_corename.restype = ctypes.c_char_p
        return lib.openblas_get_corename().decode()
    except (OSError, AttributeError):
        return "unknown"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("data_dir")
    ap.add_argument("--steps", type=int, default=40, help="timed train steps")
    ap.add_argument("--warmup", type=int, default=5, help="untimed train steps first")
    ap.add_argument("--batch", type=int, default=128)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--conv-reps", type=int, default=20,
                    help="timed forward calls per conv layer (0: skip)")
    ap.add_argument("--threads", type=int, default=1, help="torch.set_num_threads")
    ap.add_argument("--eval-batch", type=int, default=0, help="time an evaluation in batches of B (0: skip)")
    ap.add_argument("--eval-reps", type=int, default=1, help="timed evaluation passes (the best counts)")
    args = ap.parse_args()

    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    train_x, train_y = load_split(args.data_dir, "train")

    # Names as nngen's layers (generated/mnist_cnn), for the per-conv report.
    convs = {"conv2d": nn.Conv2d(1, 32, 3), "conv2d_1": nn.Conv2d(32, 64, 3)}
    model = nn.Sequential(
        convs["conv2d"], nn.ReLU(),
        convs["conv2d_1"], nn.ReLU(),
        nn.MaxPool2d(2), nn.Dropout(0.25), nn.Flatten(),
        nn.Linear(64 * 12 * 12, 128), nn.ReLU(), nn.Dropout(0.5),
        nn.Linear(128, 10))
    for m in model:  # Keras-style init, as nngen: Glorot-uniform weights, zero bias
        if isinstance(m, (nn.Linear, nn.Conv2d)):
            nn.init.xavier_uniform_(m.weight)
            nn.init.zeros_(m.bias)
    loss_fn = nn.CrossEntropyLoss()
    opt = torch.optim.Adam(model.parameters(), lr=1e-3, betas=(0.9, 0.999), eps=1e-7)

    n = len(train_x)
    perm = torch.randperm(n)
    per_epoch = n // args.batch  # full batches only

    def step(s):
        s %= per_epoch
        idx = perm[s * args.batch:(s + 1) * args.batch]
        xb, yb = train_x[idx], train_y[idx]
        opt.zero_grad(set_to_none=True)
        loss = loss_fn(model(xb), yb)
        loss.backward()
        opt.step()
        return loss.item()

    model.train()
    for s in range(args.warmup):
        step(s)
    losses = []
    t0 = time.perf_counter()
    for s in range(args.warmup, args.warmup + args.steps):
        losses.append(step(s))
    elapsed = time.perf_counter() - t0
    samples = args.steps * args.batch
    print(f"pytorch: {args.steps} steps of {args.batch} in {elapsed:.2f}s after "
          f"{args.warmup} warm-up steps, loss {losses[0]:.4f} -> {losses[-1]:.4f}; "
          f"torch {torch.__version__}, mkldnn {torch.backends.mkldnn.is_available()}, "
          f"OpenBLAS core {openblas_core()}", file=sys.stderr)
    out = [f"samples_per_sec={samples / elapsed:.0f}"]

    if args.conv_reps > 0:
        model.eval()
        with torch.no_grad():
            x = train_x[perm[:args.batch]]
            for name, conv in convs.items():
                c, f = conv.in_channels, conv.out_channels
                kh, kw = conv.kernel_size
                y = torch.relu_(conv(x))
                _, _, oh, ow = y.shape
                flops = 2 * x.shape[0] * oh * ow * f * kh * kw * c
                for _ in range(3):
                    torch.relu_(conv(x))
                best = float("inf")
                for _ in range(args.conv_reps):
                    t = time.perf_counter()
                    torch.relu_(conv(x))
                    best = min(best, time.perf_counter() - t)
                g = flops / best / 1e9
                print(f"pytorch: {name} {x.shape[2]}x{x.shape[3]}x{c}->{oh}x{ow}x{f} "
                      f"k {kh}x{kw}: best of {args.conv_reps} {best * 1e3:.2f} ms, "
                      f"{g:.2f} GFLOP/s", file=sys.stderr)
                out.append(f"{name}_fwd_gflops={g:.2f}")
                x = y
    if args.eval_batch > 0:
        test_x, test_y = load_split(args.data_dir, "t10k")
        out.append(f"eval_samples_per_sec={eval_rate(model, test_x, test_y, args.eval_batch, args.eval_reps):.0f}")
    print(" ".join(out))


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
