"""A training process for the subprocess tests (SIGKILL, torchrun). Not a test module.

    python worker.py OUT [--resume] [--kill-at-step N] [--kill-in-save N] [--no-bn]

Prints the FitResult as one JSON line (rank 0 only). ``--kill-at-step N`` SIGKILLs itself after
global step N; ``--kill-in-save N`` SIGKILLs itself during the N-th checkpoint save, after the new
tensor files are on disk and before checkpoint.json points at them.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from cnnlab.train import TrainConfig, fit
from cnnlab.train import checkpoint as ckpt
from tests.train.helpers import tiny_data, tiny_model


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    ap.add_argument("--resume", action="store_true")
    ap.add_argument("--epochs", type=int, default=3)
    ap.add_argument("--kill-at-step", type=int, default=0)
    ap.add_argument("--kill-in-save", type=int, default=0)
    ap.add_argument("--no-bn", action="store_true")
    ap.add_argument("--n-train", type=int, default=512)
    ap.add_argument("--lr", type=float, default=0.05)
    args = ap.parse_args()

    def die() -> None:
        os.kill(os.getpid(), signal.SIGKILL)

    callback = None
    if args.kill_at_step:

        def callback(event: dict) -> None:  # progress events arrive on every step here
            if event["kind"] == "step" and event["global_step"] >= args.kill_at_step:
                die()

    if args.kill_in_save:
        saves = {"n": 0}
        real = ckpt.atomic_write_text

        def write_index(path, text):  # the commit point: die right before it
            saves["n"] += 1
            if saves["n"] >= args.kill_in_save:
                die()
            return real(path, text)

        ckpt.atomic_write_text = write_index
    kw = {"batch_norm": False, "dropout": 0.0} if args.no_bn else {}
    train, val = tiny_data(args.n_train, 256)
    config = TrainConfig(
        epochs=args.epochs, batch_size=32, lr=args.lr, threads=1, out=args.out, resume=args.resume
    )
    result = fit(tiny_model(0, **kw), train, val, config, callback=callback)
    if int(os.environ.get("RANK", "0")) == 0:
        print(json.dumps(result.to_dict()))


if __name__ == "__main__":
    main()
