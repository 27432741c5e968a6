"""Text benchmark: a TextCNN on NSMC (Korean movie reviews), per tokeniser, over seeds, in one run.

    python benchmarks/train_text.py                       # syllable, word, morpheme; 2 seeds
    python benchmarks/train_text.py --quick               # 20k/5k reviews, 1 epoch, 1 seed: smoke
    python benchmarks/train_text.py --tokenizers morpheme --seeds 0,1,2 --json out.json

The pieces are the product's: ``load_text`` reads the data (``CNNLAB_DATA_PATH``), the tokenisers
and ``Vocab`` of :mod:`cnnlab.text` encode it (the length covering 99 % of the training reviews, as
``cnnlab train`` chooses it) and ``build("textcnn")`` makes the model. Training (AdamW + OneCycle)
runs in one of two loops: ``--loop bucket`` (default) draws batches of reviews of similar length
and cuts each batch to its longest review — NSMC reviews average 35 syllables against a padded
length of 136, so most of a full-length batch is padding; ``--loop fit`` is
:func:`cnnlab.train.fit`, the loop ``cnnlab train --model textcnn --data nsmc`` runs (every batch
at the full length), for the same recipe.

Per tokeniser and seed: test accuracy on all 50,000 test reviews after every epoch, the training
time (bucket: the training steps; fit: fit's clock, which includes its per-epoch evaluations; data
loading and tokenising excluded), tokens/s (real, non-padding training tokens per second of that
clock), parameters. Tokenising is reported apart:
Kiwi (morphemes) takes minutes for 200k reviews, so token lists are cached on disk between runs
(``--cache``; the first, uncached time is kept in the cache and printed with it).

The load average is printed before and after, and the torch thread count: on a shared machine a
figure taken under load is slower than the same run on a quiet 2-core machine, and two threads
under load can be several times slower than one (spin-waiting on a descheduled core).
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import json
import os
import statistics
import sys
import time
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import torch

from cnnlab.data.text import load_text
from cnnlab.models import build, num_params
from cnnlab.text import Vocab, get_tokenizer
from cnnlab.train import TrainConfig, fit, seed_everything
from cnnlab.train.text import TextDataset, choose_max_len

PUBLISHED = (
    "Kim-style CNNs 84.4-86.0% (SenCNN 85.99%), KoBERT 90.1%; syllable TextCNN (embedding 64, "
    "4x128 filters of widths 2-5, AdamW + OneCycle) 82.6 / 84.7 / 85.4% after 1 / 2 / 3 epochs"
)
GOAL = "NSMC test accuracy >= 87% with a CNN trained in <= 5 minutes on 2 cores"


@dataclass(frozen=True)
class Recipe:
    """Model keywords and training settings (TrainConfig fields) for one TextCNN run."""

    embed_dim: int = 64
    widths: tuple[int, ...] = (2, 3, 4, 5)
    channels: int = 128
    dropout: float = 0.5
    epochs: int = 3
    batch_size: int = 128
    lr: float = 3e-3
    weight_decay: float = 0.01
    label_smoothing: float = 0.0
    min_count: int = 2
    vocab_size: int = 30_000


RECIPES: dict[str, Recipe] = {
    # the bar: syllables, embedding 64, 4x128 filters of widths 2-5, AdamW + OneCycle
    "bar": Recipe(),
    # the recipe search's best (docs/text-benchmark.md): the bar's model and optimiser, 2 epochs;
    # morpheme tokens 85.58 ± 0.06% over seeds 0, 1 (103 s at load ~1, one thread), syllables
    # 84.85 ± 0.02%, and the two as an ensemble (--tokenizers syllable,morpheme) 86.24 ± 0.05%.
    "best": Recipe(epochs=2),
}


def load_average() -> str:
    try:
        return " ".join(f"{v:.2f}" for v in os.getloadavg())
    except OSError:
        return "?"


def tokenize_cached(
    name: str, texts: list[str], cache: Path | None
) -> tuple[list[list[str]], float, bool]:
    """Token lists of ``texts``: ``(lists, seconds of the uncached tokenising, from cache)``."""
    digest = hashlib.sha1(("\n".join(texts)).encode()).hexdigest()[:16]
    path = cache / f"{name}-{digest}.json.gz" if cache is not None else None
    if path is not None and path.exists():
        with gzip.open(path, "rt", encoding="utf-8") as f:
            stored = json.load(f)
        return stored["tokens"], float(stored["seconds"]), True
    start = time.perf_counter()
    lists = [list(t) for t in get_tokenizer(name).tokenize_many(texts)]
    seconds = time.perf_counter() - start
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(path.name + ".tmp")
        with gzip.open(tmp, "wt", encoding="utf-8") as f:
            json.dump({"seconds": seconds, "tokens": lists}, f, ensure_ascii=False)
        tmp.replace(path)
    return lists, seconds, False


def prepare(
    name: str, recipe: Recipe, splits: dict[str, Any], cache: Path | None
) -> dict[str, Any]:
    """Tokenise both splits (whole, then cut to the slices), build the vocabulary, encode."""
    out: dict[str, Any] = {"tokenize_s": 0.0, "cached": True}
    lists = {}
    for split, (data, n) in splits.items():
        toks, secs, cached = tokenize_cached(name, data.texts, cache)
        lists[split] = toks[:n]
        out["tokenize_s"] += secs
        out["cached"] &= cached
    lengths = np.fromiter(map(len, lists["train"]), np.int64, len(lists["train"]))
    max_len = choose_max_len(lengths)
    vocab = Vocab.build(lists["train"], min_count=recipe.min_count, max_size=recipe.vocab_size)
    for split, (data, n) in splits.items():
        ids, share = vocab.encode_batch(lists[split], max_len)
        out[split] = TextDataset(ids, data.labels[:n], data.classes, data.texts[:n], share)
    out.update(vocab=len(vocab), max_len=max_len, mean_tokens=float(lengths.mean()))
    out["unknown_share"] = vocab.unknown_share(lists["test"])
    return out


def length_batches(lengths: np.ndarray, batch: int, rng: np.random.Generator) -> list[np.ndarray]:
    """Shuffled batches of similar length: sorted by length within chunks of 50 batches, then the
    batches shuffled. Each batch is cut to its longest review, so little padding is convolved."""
    order = rng.permutation(len(lengths))
    chunk = 50 * batch
    out: list[np.ndarray] = []
    for i in range(0, len(order), chunk):
        part = order[i : i + chunk]
        part = part[np.argsort(lengths[part], kind="stable")]
        out.extend(part[j : j + batch] for j in range(0, len(part), batch))
    return [out[i] for i in rng.permutation(len(out))]


def probabilities(model: torch.nn.Module, ds: TextDataset) -> np.ndarray:
    """Softmax ``(N, classes)`` of ``ds``, batches cut to their longest review."""
    model.eval()
    lengths = (ds.ids != 0).sum(1)
    order = np.argsort(lengths)
    out = np.zeros((len(ds), 2), dtype=np.float32)
    with torch.inference_mode():
        for i in range(0, len(order), 1000):
            idx = order[i : i + 1000]
            x = torch.from_numpy(ds.ids[idx, : max(1, int(lengths[idx].max()))])
            out[idx] = torch.softmax(model(x), 1).numpy()
    return out


def accuracy(model: torch.nn.Module, ds: TextDataset) -> float:
    return float((probabilities(model, ds).argmax(1) == ds.labels).mean())


def bucket_fit(model: torch.nn.Module, recipe: Recipe, d: dict[str, Any], seed: int) -> dict:
    """AdamW + OneCycle over length-bucketed batches; the test accuracy after every epoch.
    ``train_s`` is the training steps only (evaluation timed apart)."""
    import torch.nn.functional as F

    rng = np.random.default_rng(seed)
    x, y = d["train"].ids, d["train"].labels
    lengths = (x != 0).sum(1)
    steps = recipe.epochs * -(-len(x) // recipe.batch_size)
    opt = torch.optim.AdamW(model.parameters(), lr=recipe.lr, weight_decay=recipe.weight_decay)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=recipe.lr, total_steps=steps)
    train_s, eval_s = 0.0, 0.0
    accs: list[float] = []
    seconds: list[float] = []
    for _ in range(recipe.epochs):
        model.train()
        start = time.perf_counter()
        for idx in length_batches(lengths, recipe.batch_size, rng):
            xb = torch.from_numpy(x[idx, : max(1, int(lengths[idx].max()))])
            loss = F.cross_entropy(
                model(xb), torch.from_numpy(y[idx]), label_smoothing=recipe.label_smoothing
            )
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
        train_s += time.perf_counter() - start
        start = time.perf_counter()
        accs.append(accuracy(model, d["test"]))
        eval_s += time.perf_counter() - start
        seconds.append(train_s)
        print(
            f"    epoch {len(accs)}: {100 * accs[-1]:.2f}% after {train_s:.0f} s of training, "
            f"load {load_average()}",
            flush=True,
        )
    return {
        "accuracy": accs[-1],
        "epoch_accuracy": accs,
        "epoch_seconds": seconds,
        "train_s": train_s,
        "eval_s": eval_s,
        "epochs": recipe.epochs,
    }


def product_fit(
    model: torch.nn.Module, recipe: Recipe, d: dict[str, Any], seed: int, threads: int
) -> dict:
    """The same recipe through :func:`cnnlab.train.fit` (every batch padded to the full length)."""
    cfg = TrainConfig(
        epochs=recipe.epochs,
        batch_size=recipe.batch_size,
        lr=recipe.lr,
        optimizer="adamw",
        weight_decay=recipe.weight_decay,
        schedule="onecycle",
        label_smoothing=recipe.label_smoothing,
        seed=seed,
        threads=threads,
        device="cpu",
        channels_last=False,
    )
    result = fit(model, d["train"], d["test"], cfg)
    assert result.metrics is not None  # a test split is always given
    return {
        "accuracy": result.metrics.accuracy,
        "epoch_accuracy": [row["val_accuracy"] for row in result.history if "val_accuracy" in row],
        "epoch_seconds": [row["elapsed"] for row in result.history],
        "train_s": result.elapsed,  # fit's clock: training + its per-epoch evaluations
        "eval_s": None,
        "epochs": result.epochs_completed,
    }


def run_one(recipe: Recipe, d: dict[str, Any], seed: int, threads: int, loop: str) -> dict:
    seed_everything(seed)
    model = build(
        "textcnn",
        vocab_size=d["vocab"],
        num_classes=2,
        embed_dim=recipe.embed_dim,
        widths=recipe.widths,
        channels=recipe.channels,
        dropout=recipe.dropout,
    )
    if loop == "fit":
        out = product_fit(model, recipe, d, seed, threads)
    else:
        out = bucket_fit(model, recipe, d, seed)
    out["probabilities"] = probabilities(model, d["test"])  # (N, 2): for the ensembles
    tokens = int((d["train"].ids != 0).sum()) * out["epochs"]
    return {
        **out,
        "seed": seed,
        "tokens_per_s": tokens / out["train_s"],
        "params": num_params(model),
    }


def ensemble_rows(rows: list[dict], labels: np.ndarray, seeds: list[int]) -> list[dict]:
    """Per pair of tokenisers (and all of them): the accuracy of the mean of their test
    probabilities, seed by seed — two CNNs reading different grains of the same review."""
    from itertools import combinations

    out = []
    groups = [c for k in range(2, len(rows) + 1) for c in combinations(rows, k)]
    for group in groups:
        accs = []
        for i in range(len(seeds)):
            mean = sum(r["runs"][i]["probabilities"] for r in group) / len(group)
            accs.append(100 * float((mean.argmax(1) == labels).mean()))
        out.append(
            {
                "tokenizer": "+".join(r["tokenizer"] for r in group),
                "accuracy_mean": statistics.mean(accs),
                "accuracy_sd": statistics.stdev(accs) if len(accs) > 1 else 0.0,
                "train_s": sum(r["train_s"] for r in group),
            }
        )
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--tokenizers", default="syllable,word,morpheme")
    ap.add_argument("--recipe", default="best", choices=sorted(RECIPES))
    ap.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="FIELD=VALUE",
        help="override a recipe field, e.g. --set embed_dim=128 --set widths=1,2,3",
    )
    ap.add_argument("--seeds", default="0,1")
    ap.add_argument("--threads", type=int, default=2, help="torch threads (1 is faster under load)")
    ap.add_argument("--quick", action="store_true", help="20k/5k reviews, 1 epoch, seed 0")
    ap.add_argument("--n-train", type=int, default=None, help="first N training reviews")
    ap.add_argument("--n-test", type=int, default=None, help="first N test reviews")
    ap.add_argument(
        "--cache",
        default=str(Path.home() / ".cache" / "cnnlab" / "bench-tokens"),
        help="token-list cache folder ('' for none)",
    )
    ap.add_argument("--json", default=None, help="write the rows here")
    ap.add_argument(
        "--loop",
        default="bucket",
        choices=("bucket", "fit"),
        help="bucket: length-bucketed batches (default); fit: cnnlab.train.fit",
    )
    args = ap.parse_args(argv)
    recipe = RECIPES[args.recipe]
    for item in args.set:
        key, _, value = item.partition("=")
        cur = getattr(recipe, key)
        typed = (
            tuple(int(v) for v in value.split(",")) if isinstance(cur, tuple) else type(cur)(value)
        )
        recipe = replace(recipe, **{key: typed})  # type: ignore[arg-type]
    seeds = [int(s) for s in args.seeds.split(",")]
    n_train, n_test = args.n_train, args.n_test
    if args.quick:
        recipe, seeds = replace(recipe, epochs=1), seeds[:1]
        n_train, n_test = n_train or 20_000, n_test or 5_000
    torch.set_num_threads(args.threads)
    print(
        f"torch {torch.__version__}, threads {torch.get_num_threads()}, cores {os.cpu_count()}, "
        f"load average before: {load_average()}"
    )
    print(f"recipe {args.recipe}: {recipe}")
    start = time.perf_counter()
    train, test = load_text("nsmc", "train"), load_text("nsmc", "test")
    print(
        f"data: nsmc ({train.source}) {len(train):,}/{len(test):,} reviews, "
        f"{train.dropped_empty + test.dropped_empty} empty dropped, read in "
        f"{time.perf_counter() - start:.1f} s; using {n_train or len(train):,}/"
        f"{n_test or len(test):,}"
    )
    splits = {"train": (train, n_train or len(train)), "test": (test, n_test or len(test))}
    cache = Path(args.cache) if args.cache else None
    rows = []
    for name in args.tokenizers.split(","):
        d = prepare(name, recipe, splits, cache)
        note = " (first, uncached run; read from the cache now)" if d["cached"] else ""
        print(
            f"[{name}] tokenise {d['tokenize_s']:.1f} s{note}; vocabulary {d['vocab']:,}; "
            f"length {d['max_len']} (mean {d['mean_tokens']:.1f} tokens, test truncated "
            f"{100 * d['test'].truncated_share:.1f}%, test tokens unknown "
            f"{100 * d['unknown_share']:.1f}%)",
            flush=True,
        )
        runs = []
        for seed in seeds:
            r = run_one(recipe, d, seed, args.threads, args.loop)
            runs.append(r)
            per_epoch = " / ".join(f"{100 * a:.2f}" for a in r["epoch_accuracy"])
            print(
                f"  seed {seed}: {100 * r['accuracy']:.2f}% (per epoch {per_epoch}) in "
                f"{r['train_s']:.0f} s, {r['tokens_per_s']:,.0f} tokens/s, "
                f"load {load_average()}",
                flush=True,
            )
        accs = [100 * r["accuracy"] for r in runs]
        rows.append(
            {
                "tokenizer": name,
                "accuracy_mean": statistics.mean(accs),
                "accuracy_sd": statistics.stdev(accs) if len(accs) > 1 else 0.0,
                "train_s": statistics.mean(r["train_s"] for r in runs),
                "tokens_per_s": statistics.mean(r["tokens_per_s"] for r in runs),
                "params": runs[0]["params"],
                "vocab": d["vocab"],
                "max_len": d["max_len"],
                "tokenize_s": d["tokenize_s"],
                "runs": runs,
            }
        )
    ensembles = ensemble_rows(rows, splits["test"][0].labels[: splits["test"][1]], seeds)
    probs = {}
    for r in rows:
        for run in r["runs"]:
            probs[f"{r['tokenizer']}_seed{run['seed']}"] = run.pop("probabilities")  # not JSON
    print(f"\nload average after: {load_average()}")
    print(
        f"{'tokeniser':<10} {'test acc (mean ± sd)':>21} {'train':>7} {'tokens/s':>9} "
        f"{'params':>10} {'tokenise':>9}"
    )
    for r in rows:
        print(
            f"{r['tokenizer']:<10} {r['accuracy_mean']:>13.2f}% ± {r['accuracy_sd']:.2f} "
            f"{r['train_s']:>6.0f}s {r['tokens_per_s']:>9,.0f} {r['params']:>10,} "
            f"{r['tokenize_s']:>8.0f}s"
        )
    for e in ensembles:
        print(
            f"ensemble {e['tokenizer']} (mean of the probabilities, same seed): "
            f"{e['accuracy_mean']:.2f}% ± {e['accuracy_sd']:.2f}, training {e['train_s']:.0f} s"
        )
    print(f"published: {PUBLISHED}\ngoal: {GOAL}")
    if args.json:
        payload = {
            "benchmark": "train_text",
            "recipe": {"name": args.recipe, **asdict(recipe)},
            "seeds": seeds,
            "threads": args.threads,
            "n_train": splits["train"][1],
            "n_test": splits["test"][1],
            "rows": rows,
            "ensembles": ensembles,
            "published": PUBLISHED,
            "goal": GOAL,
        }
        Path(args.json).write_text(json.dumps(payload, indent=1), encoding="utf-8")
        # the test probabilities, for ensembles across runs (e.g. tokenisers trained for
        # different epochs): <json>.npz, one (N, 2) array per tokeniser and seed
        np.savez_compressed(args.json + ".npz", labels=splits["test"][0].labels, **probs)
    return 0


if __name__ == "__main__":
    sys.exit(main())
