"""Probe recipes for Fashion-MNIST (issue 16): test accuracy with and without flip averaging.

    OMP_NUM_THREADS=1 python benchmarks/fashion_recipe_probe.py \\
        'fast-s2:{"strided_stem": true}:{"augment": "flip"}:0' \\
        'best9:{"channels": [32, 64], "hidden": 256, "dropout": 0.3}:{"epochs": 9, \\
            "batch_size": 128, "lr": 0.1, "label_smoothing": 0.1, "augment": "flip"}:0'

Each argument is NAME:MODEL_JSON:TRAIN_JSON:SEED. The model is ``build("cnn", **MODEL)`` on top of
the fast recipe's net (16/32 channels, FC 128, pool-first); TRAIN fields go to
:class:`~cnnlab.train.TrainConfig` on top of batch 256, OneCycle peak 0.2, 5 epochs. One JSON line
per run: test accuracy after every epoch, the final accuracy of the plain forward pass and of the
flip-averaged prediction (``cnnlab.models.flip``: the mean of the logits for an image and its
mirror image), and CPU seconds of ``fit`` (accuracies do not depend on machine load; the seconds
do, so compare them only between runs of one quiet session).
"""

from __future__ import annotations

import json
import sys
import time

import torch

from cnnlab.data import get_dataset
from cnnlab.models import build
from cnnlab.train import TrainConfig, fit, seed_everything
from cnnlab.train.metrics import evaluate_tensors
from cnnlab.train.tensors import as_tensors

BASE_MODEL = {"channels": [16, 32], "hidden": 128, "pool_first": True}
BASE_TRAIN = {"epochs": 5, "batch_size": 256, "lr": 0.2}


def probe(name: str, model_kw: dict, train_kw: dict, seed: int, train, test) -> dict:
    seed_everything(seed)
    model = build("cnn", **{**BASE_MODEL, **model_kw})
    cpu = time.process_time()
    result = fit(model, train, test, TrainConfig(**{**BASE_TRAIN, **train_kw, "seed": seed}))
    cpu = time.process_time() - cpu
    xv, yv = as_tensors(test)
    xv = result.preprocess.apply_(xv)
    model.test_flip = False
    plain = evaluate_tensors(model, xv, yv, 10).accuracy
    model.test_flip = True
    flipped = evaluate_tensors(model, xv, yv, 10).accuracy
    return {
        "name": name,
        "seed": seed,
        "model": model_kw,
        "train": train_kw,
        "per_epoch": [round(h["val_accuracy"], 4) for h in result.history if "val_accuracy" in h],
        "accuracy": round(plain, 4),
        "accuracy_flip_averaged": round(flipped, 4),
        "cpu_seconds": round(cpu, 1),
        "threads": torch.get_num_threads(),
    }


def main(argv: list[str]) -> None:
    if not argv:
        sys.exit(__doc__)
    train, test = get_dataset("fashion-mnist", True), get_dataset("fashion-mnist", False)
    for arg in argv:
        name, rest = arg.split(":", 1)
        model_kw, end = json.JSONDecoder().raw_decode(rest)  # the JSON holds colons itself
        train_json, seed = rest[end:].lstrip(":").rsplit(":", 1)
        row = probe(name, model_kw, json.loads(train_json), int(seed), train, test)
        print(json.dumps(row), flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
