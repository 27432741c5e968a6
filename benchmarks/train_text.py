"""Text benchmark: a TextCNN on NSMC (Korean movie reviews), per tokeniser, over seeds, in one run.

    python benchmarks/train_text.py                          # syllable, word, morpheme; 2 seeds
    python benchmarks/train_text.py --quick                  # 20k/5k reviews, 1 epoch: a smoke run
    python benchmarks/train_text.py --tokenizers morpheme --seeds 0 --json out.json

Per tokeniser and seed: test accuracy on the 50,000 test reviews, training time (the training
loop only; tokenising, the vocabulary and evaluation are timed apart), tokens/s (real, non-padding
tokens per second of training), parameters. Tokenising is reported separately: Kiwi (morphemes)
takes minutes for 200k reviews on one core, so its output is cached on disk (``--cache``) the way a
product would, and the first (uncached) time is what the table reports when it was measured.

The load average is printed before and after, and the torch thread count: the machine here is
shared, and a figure taken under load is slower than the same run on a quiet 2-core machine.
"""

from __future__ import annotations

import argparse
import csv
import gzip
import hashlib
import json
import math
import os
import statistics
import sys
import time
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

PUBLISHED = "Kim-style CNNs 84.4-86.0% (SenCNN 85.99%), KoBERT 90.1%"
GOAL = 0.87


# ---------------------------------------------------------------- data and tokens


def _data_dir() -> Path:
    for root in os.environ.get("CNNLAB_DATA_PATH", "").split(os.pathsep):
        if root and (Path(root) / "nsmc" / "train.tsv.gz").exists():
            return Path(root) / "nsmc"
    raise SystemExit("NSMC not found: set CNNLAB_DATA_PATH to a folder holding nsmc/train.tsv.gz")


def load_split(split: str) -> tuple[list[str], np.ndarray]:
    """Texts and labels of one split; empty documents dropped (counted in the output)."""
    texts, labels = [], []
    with gzip.open(_data_dir() / f"{split}.tsv.gz", "rt", encoding="utf-8", newline="") as f:
        rows = csv.reader(f, delimiter="\t", quoting=csv.QUOTE_NONE)
        next(rows)
        for row in rows:
            if len(row) >= 3 and row[1].strip():
                texts.append(row[1])
                labels.append(int(row[2]))
    return texts, np.asarray(labels, dtype=np.int64)


def tokenize_all(
    name: str, texts: list[str], cache: Path | None, tag: str
) -> tuple[list[list[str]], float, bool]:
    """Token lists of ``texts``; (tokens, seconds, from_cache)."""
    digest = hashlib.sha1("\n".join(texts).encode()).hexdigest()[:12]
    path = cache / f"{tag}.{name}.{digest}.txt.gz" if cache else None
    t0 = time.perf_counter()
    if path is not None and path.exists():
        with gzip.open(path, "rt", encoding="utf-8") as f:
            toks = [line.rstrip("\n").split("\x1f") if line != "\n" else [] for line in f]
        return toks, time.perf_counter() - t0, True
    toks = _tokenize(name, texts)
    secs = time.perf_counter() - t0
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        with gzip.open(tmp, "wt", encoding="utf-8") as f:
            for t in toks:
                f.write("\x1f".join(x.replace("\n", " ") for x in t) + "\n")
        tmp.replace(path)
    return toks, secs, False


def _tokenize(name: str, texts: list[str]) -> list[list[str]]:
    if name == "syllable":
        return [[c for c in t if not c.isspace()] for t in texts]
    if name == "syllable+space":
        return [["▁" if c.isspace() else c for c in " ".join(t.split())] for t in texts]
    if name == "word":
        return [t.split() for t in texts]
    if name in ("morpheme", "morpheme+tag"):
        from kiwipiepy import Kiwi

        kiwi = Kiwi(num_workers=min(2, os.cpu_count() or 1))
        tagged = name == "morpheme+tag"
        return [
            [f"{m.form}/{m.tag}" if tagged else m.form for m in toks]
            for toks in kiwi.tokenize(texts)
        ]
    raise SystemExit(f"unknown tokenizer {name!r}")


def build_vocab(token_lists: list[list[str]], min_count: int, max_size: int) -> dict[str, int]:
    counts = Counter(t for toks in token_lists for t in toks)
    itos = ["<pad>", "<unk>"] + [
        t for t, c in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])) if c >= min_count
    ][: max_size - 2]
    return {t: i for i, t in enumerate(itos)}


def encode(
    token_lists: list[list[str]], vocab: dict[str, int], length: int
) -> tuple[np.ndarray, float]:
    out = np.zeros((len(token_lists), length), dtype=np.int64)
    cut = 0
    for i, toks in enumerate(token_lists):
        ids = [vocab.get(t, 1) for t in toks]
        cut += len(ids) > length
        ids = ids[:length]
        out[i, : len(ids)] = ids
    return out, cut / max(1, len(token_lists))


# ---------------------------------------------------------------- model


class TextCNN(nn.Module):
    """Kim (2014): embedding → parallel Conv1d of several widths → ReLU → max (and mean) over time
    → dropout → linear."""

    def __init__(
        self,
        vocab: int,
        classes: int,
        embed: int,
        widths: tuple[int, ...],
        channels: int,
        dropout: float,
        pool: str = "max",
        embed_dropout: float = 0.0,
    ) -> None:
        super().__init__()
        self.embedding = nn.Embedding(vocab, embed, padding_idx=0)
        self.convs = nn.ModuleList(nn.Conv1d(embed, channels, w, padding=w // 2) for w in widths)
        self.pool = pool
        feats = channels * len(widths) * (2 if pool == "maxmean" else 1)
        self.embed_dropout = nn.Dropout(embed_dropout)
        self.dropout = nn.Dropout(dropout)
        self.fc = nn.Linear(feats, classes)

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        mask = (ids != 0).unsqueeze(1)  # (N, 1, L)
        x = self.embed_dropout(self.embedding(ids)).transpose(1, 2)  # (N, E, L)
        pooled = []
        for conv in self.convs:
            y = F.relu(conv(x))[:, :, : ids.shape[1]]  # (N, C, L): even widths give L+1
            pooled.append(y.amax(dim=2))  # ReLU ≥ 0, so padding positions never win over a real one
            if self.pool == "maxmean":
                m = mask.to(y.dtype)
                pooled.append((y * m).sum(2) / m.sum(2).clamp(min=1))
        return self.fc(self.dropout(torch.cat(pooled, dim=1)))


# ---------------------------------------------------------------- training


@dataclass
class Recipe:
    embed: int = 64
    widths: tuple[int, ...] = (2, 3, 4, 5)
    channels: int = 128
    dropout: float = 0.5
    embed_dropout: float = 0.0
    pool: str = "max"
    epochs: int = 3
    batch_size: int = 128
    lr: float = 3e-3
    weight_decay: float = 0.01
    label_smoothing: float = 0.0
    min_count: int = 1
    max_vocab: int = 50_000
    length_pct: float = 99.0  # max length: this percentile of the training lengths
    bucket: bool = True  # batches of similar length: less padding to convolve
    extra: dict[str, Any] = field(default_factory=dict)


def batches(
    lengths: np.ndarray, batch: int, bucket: bool, rng: np.random.Generator
) -> list[np.ndarray]:
    if not bucket:
        order = rng.permutation(len(lengths))
        return [order[i : i + batch] for i in range(0, len(order), batch)]
    # sort by length with noise inside chunks of 50 batches, then shuffle the batches
    order = rng.permutation(len(lengths))
    chunk = batch * 50
    out = []
    for i in range(0, len(order), chunk):
        part = order[i : i + chunk]
        part = part[np.argsort(lengths[part], kind="stable")]
        out.extend(part[j : j + batch] for j in range(0, len(part), batch))
    return [out[i] for i in rng.permutation(len(out))]


def evaluate(model: nn.Module, x: np.ndarray, lengths: np.ndarray, y: np.ndarray) -> float:
    model.eval()
    order = np.argsort(lengths)
    correct = 0
    with torch.inference_mode():
        for i in range(0, len(order), 1024):
            idx = order[i : i + 1024]
            L = max(1, int(lengths[idx].max()))
            pred = model(torch.from_numpy(x[idx, :L])).argmax(1).numpy()
            correct += int((pred == y[idx]).sum())
    return correct / len(y)


def train_one(
    r: Recipe, data: dict[str, Any], seed: int, budget_s: float | None, log: bool
) -> dict[str, Any]:
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    xtr, ltr, ytr = data["xtr"], data["ltr"], data["ytr"]
    model = TextCNN(
        len(data["vocab"]), 2, r.embed, r.widths, r.channels, r.dropout, r.pool, r.embed_dropout
    )
    params = sum(p.numel() for p in model.parameters())
    opt = torch.optim.AdamW(model.parameters(), lr=r.lr, weight_decay=r.weight_decay)
    steps_per_epoch = math.ceil(len(ytr) / r.batch_size)
    sched = torch.optim.lr_scheduler.OneCycleLR(
        opt, max_lr=r.lr, total_steps=r.epochs * steps_per_epoch, pct_start=0.2
    )
    train_s, tokens, epoch_acc = 0.0, 0, []
    for ep in range(r.epochs):
        model.train()
        t0 = time.perf_counter()
        for idx in batches(ltr, r.batch_size, r.bucket, rng):
            L = max(5, int(ltr[idx].max()))
            xb = torch.from_numpy(xtr[idx, :L])
            loss = F.cross_entropy(
                model(xb), torch.from_numpy(ytr[idx]), label_smoothing=r.label_smoothing
            )
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
            tokens += int(ltr[idx].sum())
        train_s += time.perf_counter() - t0
        t1 = time.perf_counter()
        acc = evaluate(model, data["xte"], data["lte"], data["yte"])
        epoch_acc.append(acc)
        if log:
            print(
                f"    epoch {ep + 1}: test {100 * acc:.2f}%  train {train_s:.0f}s  (eval {time.perf_counter() - t1:.0f}s)  load {loadavg()}",
                flush=True,
            )
        if budget_s is not None and train_s > budget_s and ep + 1 < r.epochs:
            break
    return {
        "seed": seed,
        "accuracy": epoch_acc[-1],
        "epoch_accuracy": epoch_acc,
        "train_s": train_s,
        "tokens_per_s": tokens / train_s,
        "params": params,
    }


def loadavg() -> str:
    return " ".join(f"{v:.2f}" for v in os.getloadavg())


def prepare(
    tokenizer: str,
    r: Recipe,
    texts: dict[str, Any],
    cache: Path | None,
    n_train: int | None,
    n_test: int | None,
) -> dict[str, Any]:
    tok_tr, s_tr, c_tr = tokenize_all(tokenizer, texts["train"][0], cache, "train")
    tok_te, s_te, c_te = tokenize_all(tokenizer, texts["test"][0], cache, "test")
    tok_tr, tok_te = (
        tok_tr[:n_train],
        tok_te[:n_test],
    )  # slices after tokenising: the cache covers the whole corpus
    lens = np.array([len(t) for t in tok_tr])
    length = int(np.percentile(lens, r.length_pct))
    vocab = build_vocab(tok_tr, r.min_count, r.max_vocab)
    xtr, cut_tr = encode(tok_tr, vocab, length)
    xte, cut_te = encode(tok_te, vocab, length)
    return {
        "vocab": vocab,
        "length": length,
        "xtr": xtr,
        "ytr": texts["train"][1][:n_train],
        "xte": xte,
        "yte": texts["test"][1][:n_test],
        "ltr": (xtr != 0).sum(1),
        "lte": (xte != 0).sum(1),
        "truncated": cut_te,
        "tokenize_s": s_tr + s_te,
        "cached": c_tr and c_te,
        "mean_tokens": float(lens.mean()),
    }


RECIPES: dict[str, Recipe] = {
    # the bar: syllables, embedding 64, 4×128 filters of widths 2-5, AdamW + OneCycle
    "bar": Recipe(),
}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--tokenizers", default="syllable,word,morpheme")
    ap.add_argument("--recipe", default="bar", choices=sorted(RECIPES))
    ap.add_argument("--set", action="append", default=[], help="recipe override, e.g. embed=128")
    ap.add_argument("--seeds", default="0,1")
    ap.add_argument("--quick", action="store_true", help="20k/5k reviews, 1 epoch")
    ap.add_argument("--n-train", type=int, default=None)
    ap.add_argument(
        "--budget",
        type=float,
        default=300.0,
        help="stop after the epoch that passes this many training seconds",
    )
    ap.add_argument("--cache", default=str(Path.home() / ".cache" / "cnnlab" / "bench-tokens"))
    ap.add_argument("--json", default=None)
    ap.add_argument("--threads", type=int, default=None)
    args = ap.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    r = Recipe(**asdict(RECIPES[args.recipe]))
    for kv in args.set:
        k, v = kv.split("=", 1)
        cur = getattr(r, k)
        setattr(
            r,
            k,
            tuple(int(x) for x in v.split(","))
            if isinstance(cur, tuple)
            else type(cur)(v)
            if not isinstance(cur, bool)
            else v == "1",
        )
    if args.quick:
        r.epochs = 1
    print(
        f"load average before: {loadavg()}  torch threads: {torch.get_num_threads()}  cores: {os.cpu_count()}"
    )
    print(f"recipe: {r}")
    t0 = time.perf_counter()
    texts = {s: load_split(s) for s in ("train", "test")}
    n_train = args.n_train or (20_000 if args.quick else None)
    n_test = 5000 if n_train else None
    print(
        f"data: {n_train or len(texts['train'][0])}/{n_test or len(texts['test'][0])} reviews in {time.perf_counter() - t0:.1f}s"
    )
    seeds = [int(s) for s in args.seeds.split(",")]
    rows = []
    for tok in args.tokenizers.split(","):
        d = prepare(tok, r, texts, Path(args.cache) if args.cache else None, n_train, n_test)
        print(
            f"[{tok}] tokenise {d['tokenize_s']:.1f}s{' (cache)' if d['cached'] else ''}  vocab {len(d['vocab'])}  "
            f"length {d['length']} (test truncated {100 * d['truncated']:.1f}%, mean {d['mean_tokens']:.1f} tokens)",
            flush=True,
        )
        runs = [train_one(r, d, s, args.budget, True) for s in seeds]
        accs = [x["accuracy"] for x in runs]
        row = {
            "tokenizer": tok,
            "accuracy_mean": statistics.mean(accs),
            "accuracy_std": statistics.stdev(accs) if len(accs) > 1 else 0.0,
            "train_s": statistics.mean(x["train_s"] for x in runs),
            "tokens_per_s": statistics.mean(x["tokens_per_s"] for x in runs),
            "params": runs[0]["params"],
            "vocab": len(d["vocab"]),
            "length": d["length"],
            "tokenize_s": d["tokenize_s"],
            "tokenize_cached": d["cached"],
            "runs": runs,
        }
        rows.append(row)
        print(
            f"[{tok}] accuracy {100 * row['accuracy_mean']:.2f} ± {100 * row['accuracy_std']:.2f}%  "
            f"train {row['train_s']:.0f}s  {row['tokens_per_s']:,.0f} tokens/s  {row['params']:,} params",
            flush=True,
        )
    print(f"load average after: {loadavg()}")
    if args.json:
        Path(args.json).write_text(
            json.dumps({"recipe": asdict(r), "rows": rows, "published": PUBLISHED}, indent=1)
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
