"""Write the embedded NSMC sample, ``src/cnnlab/data/nsmc_sample/{train,test}.tsv.gz``.

    python scripts/make_nsmc_sample.py [--from ../shared/data/nsmc]

Draws 5,000 training and 1,000 test reviews, half of each class, with a fixed seed from a copy of
NSMC in its own format (header ``id document label``; the shared 150k/50k rebuild or the official
files); empty reviews are never drawn. The gzip header carries no time stamp, so the files are the
same bytes on every run from the same source.
"""

from __future__ import annotations

import argparse
import gzip
import random
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "src" / "cnnlab" / "data" / "nsmc_sample"
SIZES = {"train": 5000, "test": 1000}
SEED = 0


def sample(lines: list[str], n: int, seed: int) -> list[str]:
    """``n`` rows, ``n // 2`` per label, in a seeded random order."""
    rng = random.Random(seed)
    by_label: dict[str, list[str]] = {"0": [], "1": []}
    for row in lines:
        parts = row.split("\t")
        if len(parts) == 3 and parts[1].strip() and parts[2] in by_label:
            by_label[parts[2]].append(row)
    picked = rng.sample(by_label["0"], n // 2) + rng.sample(by_label["1"], n // 2)
    rng.shuffle(picked)
    return picked


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--from", dest="source", default=str(ROOT.parent / "shared/data/nsmc"))
    args = parser.parse_args()
    OUT.mkdir(parents=True, exist_ok=True)
    for split, n in SIZES.items():
        path = Path(args.source) / f"{split}.tsv.gz"
        header, *rows = gzip.decompress(path.read_bytes()).decode("utf-8").splitlines()
        data = ("\n".join([header, *sample(rows, n, SEED)]) + "\n").encode("utf-8")
        (OUT / f"{split}.tsv.gz").write_bytes(gzip.compress(data, mtime=0))
        print(f"{split}: {n} reviews from {path} → {OUT / f'{split}.tsv.gz'}")


if __name__ == "__main__":
    main()
