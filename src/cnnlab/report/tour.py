"""``cnnlab tour``: run every registered experiment and write one HTML report.

The tour is a loop over the registry — no experiment logic lives here. Each experiment runs with its
defaults (or its ``quick`` preset), on the chosen data when it takes data. Progress goes to an
optional callback as plain dicts; the CLI turns them into a progress bar.

With more than one core the experiments run in forked worker processes, one torch thread each
(:func:`_run_parallel`): two single-threaded workers finish the tour sooner than one process with
two threads (44-47 s against 61 s on 2 cores), though each experiment alone runs slower.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cnnlab.i18n import get_lang
from cnnlab.lab.registry import Experiment, load_all
from cnnlab.result import Result

Callback = Callable[[dict[str, Any]], None]


@dataclass
class TourEntry:
    experiment: Experiment
    result: Result
    seconds: float


def _params_for(exp: Experiment, quick: bool, data: dict[str, Any]) -> Any:
    names = {f.name for f in dataclasses.fields(exp.params)}
    overrides = dict(exp.quick) if quick else {}
    overrides.update({k: v for k, v in data.items() if k in names and v is not None})
    return exp.make_params(**overrides)


def run_tour(
    *,
    lang: str | None = None,
    quick: bool = False,
    only: list[str] | None = None,
    data: dict[str, Any] | None = None,
    callback: Callback | None = None,
    workers: int | None = None,
) -> list[TourEntry]:
    """Run the experiments (all, or ``only``); return results with timings, in registry order.

    ``data`` holds data overrides (``data``, ``data_dir``, ``split``, ``download``) applied to every
    experiment that has those parameters. All parameters are validated before the first run.
    ``workers``: processes that run the experiments (default :func:`tour_workers`); 1 runs them
    here, one after another.
    """
    experiments = load_all()
    chosen = [experiments[n] for n in (only or experiments)]
    planned = [(exp, _params_for(exp, quick, data or {})) for exp in chosen]  # validate first
    n_workers = min(tour_workers() if workers is None else max(1, workers), len(planned))
    if n_workers > 1 and _can_fork():
        return _run_parallel(planned, lang, callback, n_workers)
    entries: list[TourEntry] = []
    for i, (exp, params) in enumerate(planned):
        if callback:
            callback({"kind": "experiment", "name": exp.name, "index": i, "total": len(planned)})

        def inner(event: dict[str, Any], _name: str = exp.name, _i: int = i) -> None:
            if callback:
                callback({**event, "experiment": _name, "index": _i, "total": len(planned)})

        start = time.perf_counter()
        result = exp.run(params, lang=lang, callback=inner)
        entries.append(TourEntry(exp, result, time.perf_counter() - start))
    if callback:
        callback({"kind": "done", "total": len(planned)})
    return entries


def tour_workers() -> int:
    """Processes the tour's experiments run in: one per core this process may use, at most
    ``MAX_TOUR_WORKERS``."""
    return max(1, min(_cores(), MAX_TOUR_WORKERS))


def _cores() -> int:
    import os

    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def _can_fork() -> bool:
    """Whether worker processes can be forked: Linux only (see :func:`_save_all`)."""
    import multiprocessing
    import sys

    return sys.platform.startswith("linux") and "fork" in multiprocessing.get_all_start_methods()


def _jobs(planned: list[tuple[Experiment, Any]]) -> list[list[tuple[int, str, Any]]]:
    """The experiments as jobs for the workers, costliest first: one job per experiment, except
    the experiments of one ``RUN_TOGETHER`` group, which share one job in registry order."""
    jobs: dict[str, list[tuple[int, str, Any]]] = {}
    for index, (exp, params) in enumerate(planned):
        group = next((g[0] for g in RUN_TOGETHER if exp.name in g), exp.name)
        jobs.setdefault(group, []).append((index, exp.name, params))
    return sorted(jobs.values(), key=lambda job: -sum(RUN_COST.get(n, 1.0) for _, n, _ in job))


def _run_parallel(
    planned: list[tuple[Experiment, Any]], lang: str | None, callback: Callback | None, workers: int
) -> list[TourEntry]:
    """:func:`run_tour` in ``workers`` forked processes with one torch thread each: the workers
    measure, this process wraps the numbers in Results (the same text and figures as
    :meth:`Experiment.run`) and forwards the workers' progress events to ``callback``.

    One thread, always: a forked child must not start an OpenMP team of its own when its parent
    already ran one (a caller may have trained a model before calling the tour; GNU OpenMP is not
    fork-safe), and one thread never starts a team. A worker's exception, a CnnlabError included,
    is raised here.
    """
    import multiprocessing
    import warnings
    from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait

    ctx = multiprocessing.get_context("fork")
    events = ctx.SimpleQueue()
    total = len(planned)
    measured: dict[int, tuple[Any, float]] = {}
    started = 0

    def forward() -> None:
        nonlocal started
        while not events.empty():
            event = events.get()
            if event.get("kind") == "experiment":
                event = {**event, "index": started, "total": total}
                started += 1
            if callback:
                callback(event)

    with warnings.catch_warnings():
        # Python >= 3.12 warns on fork() in a process with threads: see the docstring
        warnings.simplefilter("ignore", DeprecationWarning)
        with ProcessPoolExecutor(
            workers, mp_context=ctx, initializer=_init_worker, initargs=(events,)
        ) as pool:
            pending = {pool.submit(_run_job, job) for job in _jobs(planned)}
            try:
                while pending:
                    done, pending = wait(pending, timeout=0.1, return_when=FIRST_COMPLETED)
                    forward()
                    for future in done:
                        for index, numbers, seconds in future.result():
                            measured[index] = (numbers, seconds)
            except BaseException:  # a failed experiment or Ctrl-C: start nothing more
                for future in pending:
                    future.cancel()
                raise
    forward()
    if callback:
        callback({"kind": "done", "total": total})
    return [
        TourEntry(exp, exp.result(measured[i][0], lang), measured[i][1])
        for i, (exp, _) in enumerate(planned)
    ]


_events: Any = None  # in a worker: the queue its progress events go to


def _init_worker(events: Any) -> None:
    import torch

    global _events
    _events = events
    torch.set_num_threads(1)  # see _run_parallel


def _run_job(job: list[tuple[int, str, Any]]) -> list[tuple[int, Any, float]]:
    """In a worker: measure each experiment of ``job``; ``(index, numbers, seconds)`` each."""
    from cnnlab.lab.registry import get

    out = []
    for index, name, params in job:
        _events.put({"kind": "experiment", "name": name})

        def inner(event: dict[str, Any], _name: str = name) -> None:
            _events.put({**event, "experiment": _name})

        start = time.perf_counter()
        numbers = get(name).measure(params, inner)
        out.append((index, numbers, time.perf_counter() - start))
    return out


MAX_TOUR_WORKERS = 4  # one thread each (see _run_parallel); past 4 the jobs are too few
# Experiments that share trained networks (cnnlab.lab.training's fit cache, per process): one job.
RUN_TOGETHER = (("cnn-vs-fc", "translation"),)
# Seconds of each experiment at the defaults (a quiet 2-core tour, 2 threads): the order in which
# the workers take the jobs, the longest first, so no worker is left with a long one at the end
RUN_COST = {
    "cnn-vs-fc": 10.5,
    "translation": 8.9,
    "weight-sharing": 8.1,
    "pattern": 5.8,
    "hierarchy": 5.0,
    "series-translation": 4.6,
    "conv1d": 2.7,
    "pooling": 1.9,
    "basics": 1.8,
    "no-grad": 1.4,
    "text-conv": 0.9,
}


def write_report(
    entries: list[TourEntry], out_dir: str | Path, lang: str | None = None, rerendered: bool = False
) -> Path:
    """Write ``index.html``, each experiment's text and figures, and ``numbers.json`` (with its
    array sidecar ``numbers.npz``) into ``out_dir``, in ``lang``; returns the path of
    ``index.html``."""
    import json

    from cnnlab.fileio import atomic_write_bytes, atomic_write_text, ensure_out_dir
    from cnnlab.report.html import render
    from cnnlab.result import npz_bytes

    out = ensure_out_dir(out_dir)
    code = get_lang(lang)
    files = _save_all(entries, out, code)
    numbers: dict[str, Any] = {}
    arrays: dict[str, Any] = {}
    for entry in entries:
        numbers[entry.experiment.name], own = entry.result.split_numbers()
        arrays.update(own)
    timings = {e.experiment.name: round(e.seconds, 2) for e in entries}
    atomic_write_bytes(out / NUMBERS_NPZ, npz_bytes(arrays))
    atomic_write_text(
        out / NUMBERS_JSON,
        json.dumps(
            {"lang": code, "seconds": timings, "experiments": numbers}, indent=2, ensure_ascii=False
        )
        + "\n",
    )
    # index.html last: a report whose index exists is complete.
    return atomic_write_text(out / "index.html", render(entries, files, code, rerendered))


def render_workers() -> int:
    """Processes that draw and encode the report's figures: one per core this process may run on,
    at most ``MAX_RENDER_WORKERS`` (matplotlib draws on one core; the figures are independent)."""
    return max(1, min(_cores(), MAX_RENDER_WORKERS))


def _save_all(entries: list[TourEntry], out: Path, lang: str) -> dict[str, dict[str, str]]:
    """Each entry's ``Result.save`` into ``out`` → experiment → role → file name.

    Drawing and encoding the figures (PNG + SVG) is most of the report's time and runs on one core,
    so with more than one core the entries are saved by worker processes, each rebuilding its
    Results from the numbers — the same text and figures. The workers are forked (Linux only): a
    spawned one would import the caller's main script again, and an unguarded script would run
    again in it. Drawing uses matplotlib and NumPy only, never torch's thread pool, which is what
    makes a fork after training safe.
    """
    import multiprocessing

    jobs = [(e.experiment.name, e.result) for e in entries]
    workers = min(render_workers(), len(jobs))
    if workers < 2 or not _can_fork() or any(not _rebuildable(r) for _, r in jobs):
        return {name: _names(result.save(out, lang=lang)) for name, result in jobs}
    import warnings
    from concurrent.futures import ProcessPoolExecutor

    # the figures that cost most first, so no worker is left with a long one at the end
    jobs.sort(key=lambda job: -RENDER_COST.get(job[0], 1.0))
    args = [(name, r.data, r.text_lang or lang, lang, str(out)) for name, r in jobs]
    with warnings.catch_warnings():
        # Python ≥ 3.12 warns on fork() in a process with threads (torch's): see above
        warnings.simplefilter("ignore", DeprecationWarning)
        with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("fork")) as pool:
            saved = list(pool.map(_save_one, args))
    return dict(zip((name for name, _ in jobs), saved, strict=True))


def _rebuildable(result: Result) -> bool:
    """Whether a worker can rebuild ``result`` from its numbers: a registry experiment's Result
    (from :func:`run_tour` or :func:`read_report`, whose text is ``explain(numbers)``)."""
    from cnnlab.lab.registry import EXPERIMENTS

    exp = EXPERIMENTS.get(result.name)
    return exp is not None and isinstance(result.data, exp.numbers)


def _save_one(job: tuple[str, Any, str, str, str]) -> dict[str, str]:
    """In a worker: rebuild one Result from its numbers and save it (see :func:`_save_all`)."""
    from cnnlab.lab.registry import get

    name, data, text_lang, lang, out = job
    return _names(get(name).result(data, text_lang).save(out, lang=lang))


def _names(written: dict[str, Path]) -> dict[str, str]:
    return {role: path.name for role, path in written.items()}


MAX_RENDER_WORKERS = 4  # past a few, starting the processes costs more than the figures
# CPU seconds of each experiment's figures (PNG + SVG) at the defaults, from a profiled tour: the
# order in which the workers take them
RENDER_COST = {
    "pattern": 3.4,
    "hierarchy": 2.4,
    "weight-sharing": 2.1,
    "text-conv": 1.9,
    "conv1d": 1.8,
    "receptive-field": 1.8,
    "cnn-vs-fc": 1.4,
    "basics": 1.4,
    "pooling": 1.3,
}


def read_report(report_dir: str | Path, lang: str | None = None) -> list[TourEntry]:
    """The tour saved in ``report_dir`` (its ``numbers.json`` + ``numbers.npz``) as entries whose
    Results are rebuilt from the saved numbers — nothing is measured again.

    Raises DataError naming the file when the folder holds no readable tour.
    """
    import json

    from cnnlab.errors import DataError
    from cnnlab.lab.registry import get
    from cnnlab.result import load_npz

    folder = Path(report_dir).expanduser()
    path = folder / NUMBERS_JSON
    if not path.is_file():
        raise DataError("report.error.no_numbers", path=str(path))
    try:
        saved = json.loads(path.read_text(encoding="utf-8"))
        experiments, seconds = saved["experiments"], saved.get("seconds", {})
        arrays = load_npz(folder / NUMBERS_NPZ)
    except (ValueError, KeyError, TypeError, OSError) as exc:
        raise DataError("report.error.bad_numbers", path=str(path), reason=str(exc)) from exc
    if not isinstance(experiments, dict) or not experiments:
        raise DataError("report.error.bad_numbers", path=str(path), reason="no experiments")
    return [
        TourEntry(exp, exp.load(data, arrays, lang), float(seconds.get(name, 0.0)))
        for name, data in experiments.items()
        for exp in [get(name)]
    ]


NUMBERS_JSON = "numbers.json"
NUMBERS_NPZ = "numbers.npz"

__all__ = ["run_tour", "tour_workers", "write_report", "read_report", "TourEntry"]
