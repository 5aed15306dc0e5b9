#!/usr/bin/env python3
"""The PyTorch baseline for `stepwise gan`'s speed: the same model, batch, losses,
optimizers and AMP setup, on one core, timed the way `stepwise gan` times itself.

    python3 scripts/bench_gan_torch.py [--steps 3000] [--stepwise .build/release/stepwise]

With --stepwise it then runs `stepwise gan --steps N` right after, on the same machine,
and prints both rates and their ratio, so the comparison does not depend on how loaded
or how fast this machine is. Needs torch (CPU build); it is not part of the test suite.
"""
import argparse
import math
import re
import subprocess
import tempfile
import time

import torch
from torch import nn


def ring_batch(gen, batch, modes=8, radius=2.0, std=0.02):
    k = torch.randint(0, modes, (batch,), generator=gen)
    angle = k.float() * (2 * math.pi / modes)
    centers = torch.stack([radius * torch.cos(angle), radius * torch.sin(angle)], dim=1)
    return centers + std * torch.randn(batch, 2, generator=gen)


def mlp(widths, activation):
    layers = []
    for i in range(len(widths) - 1):
        layers.append(nn.Linear(widths[i], widths[i + 1]))
        if i < len(widths) - 2:
            layers.append(activation())
    return nn.Sequential(*layers)


def torch_rate(steps, amp=True, batch=256, warmup=200):
    torch.set_num_threads(1)
    torch.manual_seed(0)
    gen = torch.Generator().manual_seed(0)
    g = mlp([2, 128, 128, 2], nn.ReLU)
    d = mlp([2, 128, 128, 1], lambda: nn.LeakyReLU(0.2))
    opt_g = torch.optim.Adam(g.parameters(), lr=1e-3, betas=(0.5, 0.999))
    opt_d = torch.optim.Adam(d.parameters(), lr=1e-3, betas=(0.5, 0.999))
    # The discriminator under AMP in bfloat16 with a dynamic loss scale, as configs/gan.yaml.
    scaler = torch.amp.GradScaler("cpu", enabled=amp)
    bce = nn.BCEWithLogitsLoss()
    ones, zeros = torch.ones(batch, 1), torch.zeros(batch, 1)

    def iteration():
        real = ring_batch(gen, batch)
        fake = g(torch.randn(batch, 2, generator=gen))
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=amp):
            d_loss = bce(d(real).float(), ones) + bce(d(fake.detach()).float(), zeros)
        opt_d.zero_grad(set_to_none=True)
        scaler.scale(d_loss).backward()
        scaler.step(opt_d)
        scaler.update()
        g_loss = bce(d(fake).float(), ones)
        opt_g.zero_grad(set_to_none=True)
        g_loss.backward()
        opt_g.step()

    for _ in range(warmup):
        iteration()
    start = time.perf_counter()
    for _ in range(steps):
        iteration()
    return steps / (time.perf_counter() - start)


def stepwise_rate(binary, steps):
    with tempfile.TemporaryDirectory() as out:
        text = subprocess.run([binary, "gan", "--steps", str(steps), "--out", out],
                              check=True, capture_output=True, text=True).stdout
    return float(re.search(r"Done: ([0-9.]+) steps/s", text).group(1)), text


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--steps", type=int, default=3000)
    ap.add_argument("--stepwise", help="path of a release `stepwise` to compare with")
    ap.add_argument("--no-amp", action="store_true", help="the discriminator in float32 (not the config's setup)")
    args = ap.parse_args()
    rate = torch_rate(args.steps, amp=not args.no_amp)
    setup = "discriminator in float32" if args.no_amp else "discriminator under bfloat16 autocast + GradScaler"
    print(f"PyTorch {torch.__version__}, 1 thread, {setup}: {rate:.0f} steps/s")
    if args.stepwise:
        ours, text = stepwise_rate(args.stepwise, args.steps)
        print(f"stepwise gan: {ours:.0f} steps/s (evaluations included)")
        best = re.search(r"\(([0-9.]+) steps/s over the fastest 200\)", text)
        if best:
            print(f"stepwise gan, fastest 200 iterations: {float(best.group(1)):.0f} steps/s")
        print(f"ratio: {ours / rate:.2f}x")


if __name__ == "__main__":
    main()
