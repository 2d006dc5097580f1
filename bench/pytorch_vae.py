#!/usr/bin/python3
"""PyTorch peer of nngen's VAE benchmark: the model of PyTorch's examples/vae.

    fc1 Linear(784,400) -> ReLU -> fc21, fc22 Linear(400,20) (mu, logvar)
    -> z = mu + exp(0.5*logvar) * randn -> fc3 Linear(20,400) -> ReLU
    -> fc4 Linear(400,784) -> sigmoid

with loss BCE(x_hat, x, reduction='sum') - 0.5 * sum(1 + logvar - mu^2 - e^logvar),
Adam lr 1e-3, batch 128, on the [0, 1] MNIST pixels read from the IDX .gz files
in DIR, on --threads threads (default one). It runs --warmup untimed train
steps, then --steps timed ones (batch gathering, forward, backward, Adam
step), and prints

    samples_per_sec=N [eval_samples_per_sec=Z]

With --eval-batch B > 0 it also times an evaluation of the 10000 test images
in batches of B (model.eval(), torch.no_grad(): forward with z sampled as in
the example's test loop, summed loss), best of --eval-reps passes after 3
warm-up batches: eval_samples_per_sec.

With --epochs E it instead trains E epochs of shuffled full batches as the
example does and prints, per epoch, the mean train and test loss per image
(the test loss, as in the example, with z sampled):

    epoch=E train_loss=X test_loss=Y seconds=S

Usage: pytorch_vae.py [--steps 100] [--warmup 5] [--epochs 0] [--seed 1] [--threads 1] [--eval-batch 0] [--eval-reps 1] DIR
"""
import argparse
import gzip
import os
import struct
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn


def read_idx(path):
    with gzip.open(path, "rb") as f:
        data = f.read()
    zero, dtype, ndim = struct.unpack(">HBB", data[:4])
    if zero != 0 or dtype != 0x08:
        raise ValueError(f"{path}: not an unsigned-byte IDX file")
    dims = struct.unpack(">" + "I" * ndim, data[4:4 + 4 * ndim])
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim).reshape(dims)


def load_images(d, prefix):
    x = read_idx(os.path.join(d, f"{prefix}-images-idx3-ubyte.gz"))
    return torch.from_numpy(x.reshape(len(x), -1).astype(np.float32) / 255.0)


class VAE(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(784, 400)
        self.fc21 = nn.Linear(400, 20)
        self.fc22 = nn.Linear(400, 20)
        self.fc3 = nn.Linear(20, 400)
        self.fc4 = nn.Linear(400, 784)

    def encode(self, x):
        h1 = F.relu(self.fc1(x))
        return self.fc21(h1), self.fc22(h1)

    def reparameterize(self, mu, logvar):
        std = torch.exp(0.5 * logvar)
        eps = torch.randn_like(std)
        return mu + eps * std

    def decode(self, z):
        h3 = F.relu(self.fc3(z))
        return torch.sigmoid(self.fc4(h3))

    def forward(self, x):
        mu, logvar = self.encode(x)
        z = self.reparameterize(mu, logvar)
        return self.decode(z), mu, logvar


def loss_function(recon_x, x, mu, logvar):
    bce = F.binary_cross_entropy(recon_x, x, reduction="sum")
    kld = -0.5 * torch.sum(1 + logvar - mu.pow(2) - logvar.exp())
    return bce + kld


def eval_rate(model, x, batch, reps):
    """Samples per second of the best of reps evaluations of x in batches."""
    model.eval()
    best = float("inf")
    with torch.no_grad():
        for i in range(3):  # warm-up
            model(x[i * batch:(i + 1) * batch])
        for _ in range(max(reps, 1)):
            t = time.perf_counter()
            loss = 0.0
            for i in range(0, len(x), batch):
                xb = x[i:i + batch]
                recon, mu, logvar = model(xb)
                loss += loss_function(recon, xb, mu, logvar).item()
            best = min(best, time.perf_counter() - t)
    print(f"pytorch: evaluation of {len(x)} samples in batches of {batch}: best {best:.3f}s, "
          f"loss {loss / len(x):.4f}, {torch.get_num_threads()} threads", file=sys.stderr)
    return len(x) / best


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("data_dir")
    ap.add_argument("--steps", type=int, default=100)
    ap.add_argument("--warmup", type=int, default=5)
    ap.add_argument("--epochs", type=int, default=0)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--batch", type=int, default=128)
    ap.add_argument("--threads", type=int, default=1, help="torch.set_num_threads")
    ap.add_argument("--eval-batch", type=int, default=0, help="time an evaluation in batches of B (0: skip)")
    ap.add_argument("--eval-reps", type=int, default=1, help="timed evaluation passes (the best counts)")
    args = ap.parse_args()

    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    train_x = load_images(args.data_dir, "train")
    model = VAE()
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    n, b = len(train_x), args.batch

    def step(xb):
        opt.zero_grad(set_to_none=True)
        recon, mu, logvar = model(xb)
        loss = loss_function(recon, xb, mu, logvar)
        loss.backward()
        opt.step()
        return loss.item()

    model.train()
    if args.epochs > 0:
        test_x = load_images(args.data_dir, "t10k")
        for e in range(1, args.epochs + 1):
            t0 = time.perf_counter()
            perm = torch.randperm(n)
            total = 0.0
            for s in range(n // b):
                total += step(train_x[perm[s * b:(s + 1) * b]])
            test = 0.0
            with torch.no_grad():
                for i in range(0, len(test_x), b):
                    xb = test_x[i:i + b]
                    recon, mu, logvar = model(xb)
                    test += loss_function(recon, xb, mu, logvar).item()
            print(f"epoch={e} train_loss={total / (n // b * b):.4f} test_loss={test / len(test_x):.4f} "
                  f"seconds={time.perf_counter() - t0:.2f}", flush=True)
        return

    perm = torch.randperm(n)
    for s in range(args.warmup):
        step(train_x[perm[s * b:(s + 1) * b]])
    t0 = time.perf_counter()
    for s in range(args.steps):
        k = (args.warmup + s) % (n // b)
        step(train_x[perm[k * b:(k + 1) * b]])
    dt = time.perf_counter() - t0
    out = f"samples_per_sec={args.steps * b / dt:.0f}"
    if args.eval_batch > 0:
        out += f" eval_samples_per_sec={eval_rate(model, load_images(args.data_dir, 't10k'), args.eval_batch, args.eval_reps):.0f}"
    print(out)


if __name__ == "__main__":
    main()
