"""Probe for a cheaper default on Fashion-MNIST (issue 16, ask 2): CPU seconds, torch on 1 thread.

    OMP_NUM_THREADS=1 python benchmarks/fashion_stem_probe.py s2d:4:0 s2d:4:1 fast:1:0 fast128:4:1

Each argument is KIND:EPOCHS:SEED; one JSON line per run (test accuracy after every epoch, CPU
seconds of fit, evaluations included). KIND: ``fast`` = the default recipe's net and schedule
(16/32 pool-first, FC 128, SGD-Nesterov OneCycle peak 0.2, batch 256); ``fast128`` = the same net,
batch 128, peak 0.1; ``s2d`` = the fast net whose first block is a 2x2 space-to-depth stem
(1x28x28 -> 4x14x14, conv 4->16, no pool), batch 256, peak 0.2.
"""

import json
import sys
import time

import torch
from torch import nn

from cnnlab.data import get_dataset
from cnnlab.models import build
from cnnlab.train import TrainConfig, fit, seed_everything

torch.set_num_threads(1)
train, test = get_dataset("fashion-mnist", True), get_dataset("fashion-mnist", False)


class S2D(nn.Module):
    def __init__(self):
        super().__init__()
        self.features = nn.Sequential(
            nn.PixelUnshuffle(2),
            nn.Conv2d(4, 16, 3, padding=1, bias=False),
            nn.BatchNorm2d(16),
            nn.ReLU(inplace=True),
            nn.Conv2d(16, 32, 3, padding=1, bias=False),
            nn.MaxPool2d(2),
            nn.BatchNorm2d(32),
            nn.ReLU(inplace=True),
        )
        self.classifier = nn.Sequential(
            nn.Flatten(), nn.Linear(32 * 49, 128), nn.ReLU(inplace=True), nn.Linear(128, 10)
        )

    def forward(self, x):
        return self.classifier(self.features(x))


def make(kind):
    if kind in ("fast", "fast128"):
        return build("cnn", image_size=28, channels=[16, 32], hidden=128, pool_first=True)
    return S2D()


out = []
for kind, epochs, seed in [(a, int(b), int(c)) for a, b, c in (s.split(":") for s in sys.argv[1:])]:
    seed_everything(seed)
    model = make(kind)
    bs, lr = (128, 0.1) if kind == "fast128" else (256, 0.2)
    cfg = TrainConfig(epochs=epochs, batch_size=bs, lr=lr, seed=seed, threads=1)
    accs = []
    t0 = time.process_time()
    res = fit(
        model,
        train,
        test,
        cfg,
        callback=lambda e, accs=accs: (
            accs.append(round(100 * e["val_accuracy"], 2))
            if e["kind"] == "eval" and "val_accuracy" in e
            else None
        ),
    )
    cpu = time.process_time() - t0
    row = {
        "kind": kind,
        "epochs": epochs,
        "seed": seed,
        "acc_per_epoch": accs,
        "cpu_s": round(cpu, 1),
        "cpu_per_epoch": round(cpu / epochs, 2),
        "params": sum(p.numel() for p in model.parameters()),
    }
    print(json.dumps(row), flush=True)
