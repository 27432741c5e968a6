"""Regenerate the benchmark tables of a Markdown file from one ``benchmarks/run_all.py`` JSON.

    python scripts/readme_tables.py out.json                 # rewrites README.md
    python scripts/readme_tables.py out.json docs/benchmarks.md --check   # exit 1 if out of date

Every block ``<!-- bench:NAME -->`` … ``<!-- /bench:NAME -->`` in the file gets its content
replaced by the table NAME renders from the JSON (names: ``TABLES`` below); text outside the
markers is never touched, and an unknown NAME or an unpaired marker is an error naming the line.
What changed is printed as a unified diff per block; the file is written atomically, and only
when something changed. So no figure in the README is older than the run it claims to come from:
each table ends with the run's date and load averages.
"""

from __future__ import annotations

import argparse
import difflib
import json
import os
import re
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

MARKER = re.compile(r"<!-- (/?)bench:([a-z0-9_-]+) -->")


def _f(v: Any, spec: str = ".1f", unit: str = "") -> str:
    return "—" if v is None else f"{v:{spec}}{unit}"


def _pct(v: Any) -> str:
    return "—" if v is None else f"{100 * v:.2f}%"


def _bench(data: dict[str, Any], name: str) -> dict[str, Any]:
    return (data.get("benchmarks") or {}).get(name) or {}


def _result(data: dict[str, Any], name: str) -> dict[str, Any]:
    return _bench(data, name).get("result") or {}


def _missing(data: dict[str, Any], name: str) -> str | None:
    b = _bench(data, name)
    if not b:
        return f"_not measured in this run (`--only` left out `{name}`)_"
    if "skipped" in b:
        return f"_skipped: {b['skipped']}_"
    if b.get("returncode"):
        return f"_failed (exit {b['returncode']}); see the run's JSON_"
    return None


def footer(data: dict[str, Any], name: str) -> str:
    """Where the figures come from: the command, the run's date and the load averages."""
    b = _bench(data, name)
    load = data.get("load_avg_before") or [None]
    return (
        f"\n\n_From `python benchmarks/run_all.py` of {data.get('started', '?')}: "
        f"`{b.get('command', '?')}`; load average {_f(b.get('load_avg_start'), '.2f')} → "
        f"{_f(b.get('load_avg_end'), '.2f')} around it ({_f(load[0], '.2f')} at the start of "
        f"the run); {b.get('wall_seconds', 0):.0f} s wall, {b.get('cpu_seconds', 0):.0f} s CPU._"
    )


def table_engine(data: dict[str, Any]) -> str:
    if msg := _missing(data, "engine"):
        return msg
    r = _result(data, "engine")
    blas = ", ".join(
        f"{p.get('internal_api')} {p.get('version')} kernel {p.get('architecture')}"
        for p in r.get("blas", [])
    )
    env = ", ".join(f"{k}={v}" for k, v in (r.get("openblas_env") or {}).items()) or "none"
    lines = [
        f"NumPy engine vs PyTorch, forward + backward, {r.get('threads')} thread, "
        f"{r.get('dtype')}, median of {r.get('repeats')} alternating rounds "
        f"(NumPy BLAS: {blas}; OPENBLAS_* set: {env}).",
        "",
        "| case | engine ms | torch ms | engine / torch (median) | (best of each) |",
        "|---|---:|---:|---:|---:|",
    ]
    for c in r.get("cases", []):
        lines.append(
            f"| {c['case']} | {c['engine_median_ms']:.2f} | {c['torch_median_ms']:.2f} | "
            f"**{c['ratio_median']:.2f}×** | {c['ratio_min']:.2f}× |"
        )
    t = _result(data, "engine_train")
    if t:
        lines += [
            "",
            f"LeNet-5 trained for {t['recipe']['epochs']} epoch(s) on Fashion-MNIST, same weights "
            f"and batches: engine {t['engine_seconds']:.1f} s ({_pct(t['engine_accuracy'])}), "
            f"torch {t['torch_seconds']:.1f} s ({_pct(t['torch_accuracy'])}): time ratio "
            f"**{t['ratio']:.2f}×**.",
        ]
    return "\n".join(lines) + footer(data, "engine")


def _runs(row: dict[str, Any]) -> str:
    """``; median of 3 runs: 13.9, 14.2, 15.0 s`` when the command was timed more than once."""
    walls = row.get("wall_runs") or []
    if len(walls) < 2:
        return ""
    return f"; median of {len(walls)} runs: " + ", ".join(f"{w:.1f}" for w in walls) + " s"


def table_training(data: dict[str, Any]) -> str:
    if msg := _missing(data, "training"):
        return msg
    r = _result(data, "training")
    fast = r.get("fast") or {}
    cmds = r.get("commands") or {}
    rows = ["| measure | figure | goal |", "|---|---|---|"]
    c92 = cmds.get("default_to_92") or {}
    if c92:
        rows.append(
            f"| `{c92.get('command')}`, whole command (process start to exit) | "
            f"**{_f(c92.get('wall_seconds'), '.1f', ' s')}** → {_pct(c92.get('accuracy'))} "
            f"({c92.get('epochs')} epochs, {c92.get('evaluations')} evaluations; training "
            f"{_f(c92.get('train_seconds'), '.1f', ' s')}){_runs(c92)} | ≤ 15 s, ≥ 92% |"
        )
    if fast:
        rows.append(
            f"| fast recipe in-process: time to 92% (data loading excluded) | "
            f"{_f(fast.get('seconds_to_target'), '.1f', ' s')} "
            f"(final {_pct(fast.get('accuracy'))}) | — |"
        )
    best = cmds.get("best") or {}
    if best:
        rows.append(
            f"| `{best.get('command')}`, whole command | {_pct(best.get('best_accuracy'))} in "
            f"**{_f(best.get('wall_seconds'), '.0f', ' s')}** | ≥ 93.5% within 180 s |"
        )
    b3 = r.get("best3min") or {}
    if b3:
        rows.append(
            f"| 3-minute recipe in-process | {_pct(b3.get('best'))} in "
            f"{_f(b3.get('elapsed'), '.0f', ' s')} ({b3.get('config', {}).get('epochs')} epochs) "
            f"| ≥ 93.5% |"
        )
    if "mfu" in r:
        rows.append(
            f"| training FLOP/s ÷ matmul peak (fast net; peak measured at start and end) | "
            f"**{100 * r.get('mfu_vs_higher_peak', r['mfu']):.1f}%** "
            f"({r['train_gflops']:.1f} GFLOP/s vs "
            f"{max(r['matmul_peak_gflops'], r.get('matmul_peak_end_gflops', 0)):.1f}) | ≥ 50% |"
        )
    if r.get("mfu_rounds"):
        mfu = r["mfu_rounds"]
        rows.append(
            f"| the same ratio, round by round (each against its own round's peak) | "
            f"**{sum(m >= 0.5 for m in mfu)} of {len(mfu)}** ≥ 50% "
            f"({', '.join(f'{100 * m:.1f}%' for m in mfu)}) | 3 of 3 |"
        )
    low = r.get("bf16") or {}
    if low:
        rows.append(
            f"| bf16 steps (the recipe's `--precision auto` on this CPU) ÷ bf16 matmul peak | "
            f"{100 * low['mfu']:.1f}% ({low['train_gflops']:.1f} GFLOP/s vs "
            f"{low['matmul_peak_gflops']:.1f}); steps {low['step_speedup_over_fp32']:.2f}× as "
            f"fast as fp32 | — |"
        )
    base = r.get("baseline") or {}
    if base.get("ratio_over_fast_t92"):
        bound = " (lower bound)" if base.get("ratio_is_lower_bound") else ""
        rows.append(
            f"| PyTorch MNIST example recipe ÷ fast recipe, time to 92% | "
            f"{base['ratio_over_fast_t92']:.1f}×{bound} | — |"
        )
    if "memory_peak_mib" in r:
        rows.append(f"| memory peak of the fast run | {r['memory_peak_mib']:.0f} MiB | — |")
    return "\n".join(rows) + footer(data, "training")


def table_tour(data: dict[str, Any]) -> str:
    if msg := _missing(data, "tour"):
        return msg
    b = _bench(data, "tour")
    return (
        f"`cnnlab tour` (every experiment, embedded sample): **{b['wall_seconds']:.0f} s** "
        f"(goal < 60 s)." + footer(data, "tour")
    )


def table_startup(data: dict[str, Any]) -> str:
    if msg := _missing(data, "startup"):
        return msg
    text = (_bench(data, "startup").get("stdout_tail") or "").strip()
    return "```\n" + text + "\n```" + footer(data, "startup")


def _tail_table(name: str) -> Callable[[dict[str, Any]], str]:
    """A benchmark without a renderer of its own: its printed summary, verbatim."""

    def render(data: dict[str, Any]) -> str:
        if msg := _missing(data, name):
            return msg
        text = (_bench(data, name).get("stdout_tail") or "").strip()
        return "```\n" + text[-3000:] + "\n```" + footer(data, name)

    return render


def table_text(data: dict[str, Any]) -> str:
    """NSMC test accuracy per tokeniser and for the tokenisers' ensembles, next to the goal."""
    if msg := _missing(data, "text"):
        return msg
    r = _result(data, "text")
    if not r.get("rows"):
        return _tail_table("text")(data)
    seeds = ", ".join(str(s) for s in r.get("seeds", []))
    rows = [
        f"NSMC test accuracy on all {r.get('n_test', 0):,} test reviews after training on "
        f"{r.get('n_train', 0):,}, mean ± sd over seeds {seeds}; recipe `{r['recipe']['name']}`, "
        f"{r['recipe']['epochs']} epochs, {r.get('threads')} threads. Published: "
        f"{r.get('published')}. Goal: {r.get('goal')}.",
        "",
        "| tokens | test accuracy | training per seed | tokens/s | parameters | tokenising |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for row in r["rows"]:
        rows.append(
            f"| {row['tokenizer']} | **{row['accuracy_mean']:.2f} ± {row['accuracy_sd']:.2f}%** | "
            f"{row['train_s']:.0f} s | {row['tokens_per_s']:,.0f} | {row['params']:,} | "
            f"{row['tokenize_s']:.0f} s |"
        )
    for ens in r.get("ensembles", []):
        rows.append(
            f"| mean of {ens['tokenizer']} | {ens['accuracy_mean']:.2f} ± "
            f"{ens['accuracy_sd']:.2f}% | {ens['train_s']:.0f} s (sum) | | | |"
        )
    return "\n".join(rows) + footer(data, "text")


def table_web(data: dict[str, Any]) -> str:
    if msg := _missing(data, "web"):
        return msg
    r = _result(data, "web")
    if not r:
        return _tail_table("web")(data)
    rows = [
        f"{r.get('clients')} concurrent clients for {r.get('seconds')} s on loopback: "
        f"{r.get('requests')} requests, {r.get('errors')} errors, "
        f"{r.get('throughput_rps')} requests/s.",
        "",
        "| time per request | p50 ms | p95 ms | p99 ms |",
        "|---|---:|---:|---:|",
    ]
    for key, label in (
        (
            "server_predict_ms",
            f"server: the predict work (goal p95 ≤ {r.get('goal_p95_predict_ms')})",
        ),
        ("server_app_ms", "server: in the app"),
        ("client_ms", "client latency, queueing included"),
    ):
        q = r.get(key) or {}
        rows.append(f"| {label} | {q.get('p50')} | {q.get('p95')} | {q.get('p99')} |")
    return "\n".join(rows) + footer(data, "web")


def table_environment(data: dict[str, Any]) -> str:
    env = data.get("environment") or {}
    before, after = data.get("load_avg_before") or [0], data.get("load_avg_after") or [0]
    return (
        f"Measured {data.get('started', '?')} on {env.get('processor', '?')} "
        f"({env.get('cpus')} cores), Python {env.get('python')}, torch {env.get('torch')}, "
        f"NumPy {env.get('numpy')}; load average {before[0]:.2f} before the run, "
        f"{after[0]:.2f} after."
    )


TABLES: dict[str, Callable[[dict[str, Any]], str]] = {
    "environment": table_environment,
    "engine": table_engine,
    "training": table_training,
    "tour": table_tour,
    "startup": table_startup,
    "series": _tail_table("series"),
    "text": table_text,
    "web": table_web,
}


def rewrite(text: str, data: dict[str, Any], path: str = "") -> tuple[str, list[str]]:
    """``text`` with every marked block regenerated, and the names of the blocks that changed."""
    out: list[str] = []
    changed: list[str] = []
    pos = 0
    open_at: tuple[str, int, int] | None = None  # name, line, end of the opening marker
    for m in MARKER.finditer(text):
        closing, name = m.group(1) == "/", m.group(2)
        line = text.count("\n", 0, m.start()) + 1
        if not closing:
            if open_at is not None:
                raise SystemExit(f"{path}:{line}: bench:{name} opens inside bench:{open_at[0]}")
            if name not in TABLES:
                raise SystemExit(
                    f"{path}:{line}: unknown table bench:{name}; known: {', '.join(TABLES)}"
                )
            open_at = (name, line, m.end())
            continue
        if open_at is None or open_at[0] != name:
            raise SystemExit(f"{path}:{line}: /bench:{name} closes nothing")
        old = text[open_at[2] : m.start()]
        new = "\n" + TABLES[name](data).strip() + "\n"
        out.append(text[pos : open_at[2]] + new)
        if old != new:
            changed.append(name)
            diff = difflib.unified_diff(
                old.splitlines(),
                new.splitlines(),
                f"{path} bench:{name} (old)",
                "(new)",
                lineterm="",
            )
            print("\n".join(diff))
        pos = m.start()
        open_at = None
    if open_at is not None:
        raise SystemExit(f"{path}:{open_at[1]}: bench:{open_at[0]} is never closed")
    out.append(text[pos:])
    return "".join(out), changed


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("json_file", help="the JSON written by benchmarks/run_all.py --json")
    ap.add_argument("markdown", nargs="?", default="README.md", help="file to update (README.md)")
    ap.add_argument("--check", action="store_true", help="change nothing; exit 1 if out of date")
    args = ap.parse_args()
    data = json.loads(Path(args.json_file).read_text(encoding="utf-8"))
    md = Path(args.markdown)
    text = md.read_text(encoding="utf-8")
    new, changed = rewrite(text, data, str(md))
    if not changed:
        print(f"{md}: up to date")
        return 0
    print(f"{md}: {len(changed)} table(s) changed: {', '.join(changed)}")
    if args.check:
        return 1
    fd, tmp = tempfile.mkstemp(prefix=f".{md.name}.", dir=md.parent)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(new)
    os.replace(tmp, md)
    return 0


if __name__ == "__main__":
    sys.exit(main())
