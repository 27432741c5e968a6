"""Train the default models of ``cnnlab serve`` and write them to ``src/cnnlab/web/weights/``.

    OMP_NUM_THREADS=2 python scripts/make_web_weights.py [--epochs 12] [--mnist-test DIR]

What it does (and what ``weights/models.json`` records):

- data: the embedded ``mnist-sample`` train split (4,000 real MNIST digits, 400 per class) to train,
  its test split (1,000) to validate; the official MNIST test set (10,000 digits, ``t10k`` IDX files
  in ``--mnist-test``, default ``../shared/data/mnist``) as the held-out test when it is there;
- models: a small SimpleCNN (channels 8-16, hidden 64: maps small enough to stream while drawing)
  and an MLP (784-128-64-10), both by :func:`cnnlab.train.fit` with the default recipe (SGD +
  Nesterov, OneCycle), seed 0;
- output: ``<id>.safetensors`` (the ``state_dict``, float32) and ``models.json`` (model spec,
  standardisation, classes, accuracies, recipe, sha256 of each weight file). Nothing is pickled.

The run is deterministic for a given torch build and thread count.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import time
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import save as st_save

from cnnlab.data import get_dataset
from cnnlab.data.mnist import IdxImageDataset
from cnnlab.models import build, num_params
from cnnlab.train import fit
from cnnlab.train.config import TrainConfig
from cnnlab.train.evaluate import evaluate

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "src" / "cnnlab" / "web" / "weights"
# id -> (registry name, constructor keywords)
SPECS: dict[str, tuple[str, dict[str, Any]]] = {
    "cnn": ("cnn", {"channels": [8, 16], "hidden": 64}),
    "mlp": ("mlp", {"hidden": [128, 64]}),
}


def official_test(folder: Path) -> Any:
    """The official MNIST t10k set from ``folder`` (or None when its files are not there)."""
    from cnnlab.data.idx import read_idx

    images = folder / "t10k-images-idx3-ubyte.gz"
    labels = folder / "t10k-labels-idx1-ubyte.gz"
    if not (images.is_file() and labels.is_file()):
        return None
    return IdxImageDataset(read_idx(images), read_idx(labels), train=False, source="local")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--epochs", type=int, default=12)
    ap.add_argument("--mnist-test", default=str(ROOT.parent / "shared" / "data" / "mnist"))
    args = ap.parse_args()

    train = get_dataset("mnist-sample", train=True)
    val = get_dataset("mnist-sample", train=False)
    test = official_test(Path(args.mnist_test))
    OUT.mkdir(parents=True, exist_ok=True)
    index: dict[str, Any] = {
        "format": "cnnlab-web-weights",
        "version": 1,
        "trained_by": "scripts/make_web_weights.py",
        "torch": torch.__version__,
        "data": {
            "train": "mnist-sample train split (4,000 digits)",
            "val": "mnist-sample test split (1,000 digits)",
            "test": "official MNIST t10k (10,000 digits)" if test is not None else None,
        },
        "models": {},
    }
    for model_id, (name, kwargs) in SPECS.items():
        torch.manual_seed(0)
        model = build(name, **kwargs)
        config = TrainConfig(epochs=args.epochs, batch_size=128, lr=0.05, seed=0, threads=None)
        t0 = time.perf_counter()
        result = fit(model, train, val, config)
        seconds = time.perf_counter() - t0
        model.eval()
        val_m = evaluate(model, val, result.preprocess, device="cpu")
        test_m = (
            evaluate(model, test, result.preprocess, device="cpu") if test is not None else None
        )
        weights = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
        blob = st_save(weights)
        (OUT / f"{model_id}.safetensors").write_bytes(blob)
        index["models"][model_id] = {
            "model": {"name": name, "kwargs": kwargs},
            "file": f"{model_id}.safetensors",
            "sha256": hashlib.sha256(blob).hexdigest(),
            "params": num_params(model),
            "preprocess": result.preprocess.to_dict(),
            "classes": [str(i) for i in range(10)],
            "recipe": {k: getattr(config, k) for k in ("epochs", "batch_size", "lr", "seed")}
            | {"optimizer": config.optimizer, "schedule": config.schedule},
            "val_accuracy": round(val_m.accuracy, 4),
            "test_accuracy": round(test_m.accuracy, 4) if test_m is not None else None,
            "train_seconds": round(seconds, 1),
        }
        print(
            f"{model_id}: {num_params(model):,} params, val {val_m.accuracy:.4f}, "
            f"test {test_m.accuracy if test_m else float('nan'):.4f}, {seconds:.1f} s"
        )
    (OUT / "models.json").write_text(json.dumps(index, indent=1) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
