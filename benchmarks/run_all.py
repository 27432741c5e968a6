"""Every headline benchmark in one run, one JSON: the figures the README's tables are made from.

    python benchmarks/run_all.py --json out.json      # everything (~20 min on a quiet 2-core VM)
    python benchmarks/run_all.py --only engine,training --json out.json
    python scripts/readme_tables.py out.json README.md    # rewrite the tables between the markers

Each benchmark runs as a child process of this one (one process tree), one after the other — never
two at once, so none slows another — with bounded options, and writes its own JSON, gathered here
under ``benchmarks.<name>``. A benchmark whose script is absent (the text and web ones arrive with
their features) is recorded as skipped. The load average is printed and stored before and after
the whole run and around each benchmark: figures taken under load flatter whichever side the load
slowed more, so a run that starts above ``--max-load`` says so loudly (it still runs).

The engine benchmarks run with ``OPENBLAS_CORETYPE`` and ``OPENBLAS_L2_SIZE`` removed from their
environment only (this machine sets both for old-OpenBLAS safety; they select a slower kernel for
current NumPy): the headline compares the engine on its best BLAS kernel with torch.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OPENBLAS_UNSET = ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")


@dataclass(frozen=True)
class Bench:
    """One benchmark: its command (``{json}`` is replaced by the file it writes), a command that
    prints its JSON (``json="stdout"``), or a timed command whose wall time is the figure
    (``json=False``: its printed summary is kept as text)."""

    name: str
    command: list[str]
    script: str | None = None  # the file that must exist (None: always present)
    json: bool | str = True  # True: writes JSON to {json}; "stdout": prints it; False: neither
    unset: tuple[str, ...] = ()  # environment variables removed for this command only
    quick: list[str] = field(default_factory=list)  # extra options under --quick


PY = sys.executable
BENCHES = [
    Bench("startup", [PY, "benchmarks/cli_startup.py"], "benchmarks/cli_startup.py", json=False),
    Bench(
        "engine",
        [PY, "benchmarks/engine_vs_torch.py", "--threads", "1", "--json", "{json}"],
        "benchmarks/engine_vs_torch.py",
        unset=OPENBLAS_UNSET,
        quick=["--repeats", "5"],
    ),
    Bench(
        "engine_train",
        [PY, "benchmarks/engine_train_fashion.py", "--threads", "1", "--json", "{json}"],
        "benchmarks/engine_train_fashion.py",
        unset=OPENBLAS_UNSET,
    ),
    # the fast recipe (time to 92%, FLOP/s vs matmul peak, memory), the PyTorch-example baseline
    # for one epoch, the 3-minute recipe, and the whole commands a user types
    Bench(
        "training",
        [PY, "benchmarks/train_fashion.py", "--json", "{json}"],
        "benchmarks/train_fashion.py",
        quick=["--skip-baseline", "--skip-best"],
    ),
    Bench(
        "series",
        [PY, "benchmarks/train_series.py", "--seeds", "3"],
        "benchmarks/train_series.py",
        json=False,
        quick=["--quick"],
    ),
    Bench(
        "text",
        # every tokeniser over two seeds (the minimum), the recipe's two epochs
        [PY, "benchmarks/train_text.py", "--seeds", "0,1", "--json", "{json}"],
        "benchmarks/train_text.py",
        quick=["--quick"],
    ),
    Bench(
        "web",
        [PY, "benchmarks/serve_load.py", "--json"],
        "benchmarks/serve_load.py",
        json="stdout",
        quick=["--seconds", "5"],
    ),
    # the tour on the embedded sample, timed as a whole command (goal: < 60 s on a quiet machine)
    Bench(
        "tour",
        [PY, "-m", "cnnlab", "tour", "--data", "mnist-sample", "--out", "{tmp}/tour"],
        json=False,
        quick=["--quick"],
    ),
]


def load() -> float:
    return os.getloadavg()[0]


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run_one(bench: Bench, quick: bool, tmp: Path) -> dict[str, object]:
    """Run one benchmark as a child process; its exit code, wall time, JSON and output tail."""
    if bench.script and not (ROOT / bench.script).is_file():
        return {"skipped": f"{bench.script} not present"}
    out_json = tmp / f"{bench.name}.json"
    cmd = [a.replace("{json}", str(out_json)).replace("{tmp}", str(tmp)) for a in bench.command]
    if quick:
        cmd += bench.quick
    env = {k: v for k, v in os.environ.items() if k not in bench.unset}
    shown = " ".join(
        ([f"env -u {' -u '.join(bench.unset)}"] if bench.unset else [])
        + ["python" if a == PY else a for a in cmd]
    )
    print(f"\n=== {bench.name}: {shown}\n    load average {load():.2f}", flush=True)
    row: dict[str, object] = {"command": shown, "load_avg_start": load()}
    cpu0 = _children_cpu()
    start = time.perf_counter()
    proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True)
    row["wall_seconds"] = time.perf_counter() - start
    # CPU seconds (user + system) of the benchmark's process tree: far less sensitive to other
    # processes than wall time (they take turns on the cores, which stretches wall time only)
    row["cpu_seconds"] = _children_cpu() - cpu0
    row["load_avg_end"] = load()
    row["returncode"] = proc.returncode
    print(proc.stdout[-6000:], end="", flush=True)
    if proc.returncode:
        print(proc.stderr[-3000:], file=sys.stderr, flush=True)
        row["stderr_tail"] = proc.stderr[-3000:]
    row["stdout_tail"] = proc.stdout[-6000:]
    if bench.json is True and out_json.is_file():
        row["result"] = json.loads(out_json.read_text(encoding="utf-8"))
    elif bench.json == "stdout" and not proc.returncode:
        try:
            row["result"] = json.loads(proc.stdout)
        except json.JSONDecodeError:
            row["result"] = None  # the text stays in stdout_tail
    print(
        f"    {row['wall_seconds']:.1f} s wall, {row['cpu_seconds']:.1f} s CPU, exit "
        f"{proc.returncode}",
        flush=True,
    )
    return row


def environment() -> dict[str, object]:
    """What the figures were measured on."""
    info: dict[str, object] = {
        "python": platform.python_version(),
        "machine": platform.machine(),
        "processor": _cpu_model(),
        "cpus": os.cpu_count(),
        "openblas_env": {k: v for k, v in os.environ.items() if k.startswith("OPENBLAS")},
    }
    try:
        import numpy
        import torch

        info.update(numpy=numpy.__version__, torch=torch.__version__)
    except ImportError:  # pragma: no cover - both are dependencies
        pass
    return info


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--json", required=True, help="where to write every figure")
    names = ", ".join(b.name for b in BENCHES)
    ap.add_argument("--only", default="", help=f"comma-separated names: {names}")
    ap.add_argument("--quick", action="store_true", help="each benchmark's shortest form (a check)")
    ap.add_argument("--max-load", type=float, default=1.0, help="warn above this load average")
    args = ap.parse_args()
    only = {n for n in args.only.split(",") if n}
    unknown = only - {b.name for b in BENCHES}
    if unknown:
        ap.error(f"unknown benchmark(s): {', '.join(sorted(unknown))}")
    out: dict[str, object] = {
        "started": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "load_avg_before": os.getloadavg(),
        "quick": args.quick,
        "environment": environment(),
        "benchmarks": {},
    }
    before = load()
    print(f"load average before: {before:.2f} (1 min), cores {os.cpu_count()}")
    if before > args.max_load:
        print(
            f"WARNING: load average {before:.2f} > {args.max_load}: other processes are running; "
            "absolute times will be slow and ratios skewed — rerun on a quiet machine for the "
            "headline figures"
        )
    results: dict[str, object] = out["benchmarks"]  # type: ignore[assignment]
    with tempfile.TemporaryDirectory(prefix="cnnlab-bench-") as tmp:
        for bench in BENCHES:
            if only and bench.name not in only:
                continue
            results[bench.name] = run_one(bench, args.quick, Path(tmp))
            Path(args.json).write_text(json.dumps(out, indent=1), encoding="utf-8")  # so far
    out["load_avg_after"] = os.getloadavg()
    out["finished"] = time.strftime("%Y-%m-%dT%H:%M:%S%z")
    print(f"\nload average after: {load():.2f} (before: {before:.2f})")
    Path(args.json).write_text(json.dumps(out, indent=1), encoding="utf-8")
    print(f"wrote {args.json}")
    failed = [n for n, r in results.items() if isinstance(r, dict) and r.get("returncode")]
    if failed:
        print(f"FAILED: {', '.join(failed)}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
