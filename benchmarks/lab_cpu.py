"""CPU seconds per lab experiment (default parameters, mnist-sample where it takes data): its
measure, and its save (text, JSON, figures as PNG + SVG), with torch on 1 thread.

    OMP_NUM_THREADS=1 python benchmarks/lab_cpu.py translation pattern weight-sharing

CPU seconds (time.process_time) are what a busy machine stretches least; wall time is printed
beside them, and the load average before and after. Each experiment's text goes to
$TMPDIR/lab_cpu_<TAG>_<name>.txt (TAG from the environment, default "x") so two versions can be
compared number by number.

The experiments run in one process, in the order given, like the tour: fits one experiment shares
with another (``recipe`` in ``cnnlab.lab.training.train_model``) are trained by the first and reused
by the second. Give ``cnn-vs-fc translation`` (the tour's order) to time translation as the tour
runs it, ``translation`` alone to time all its fits.

Under load CPU seconds still move by ±20 % from run to run. To compare two versions, run both at
the same time on the same core (one from a ``git archive`` copy with ``PYTHONPATH=copy/src``): each
then sees the same load.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
import time
from pathlib import Path


def main(names: list[str]) -> None:
    import torch

    from cnnlab.lab.registry import get

    torch.set_num_threads(1)
    print(f"load average before: {os.getloadavg()[0]:.2f}", flush=True)
    out = {}
    for name in names:
        exp = get(name)
        fields = set(exp.params.__dataclass_fields__)
        params = exp.make_params(**({"data": "mnist-sample"} if "data" in fields else {}))
        t0, w0 = time.process_time(), time.perf_counter()
        res = exp.run(params, lang="en")
        t1 = time.process_time()
        with tempfile.TemporaryDirectory() as d:
            res.save(d, lang="en")
        t2, w2 = time.process_time(), time.perf_counter()
        out[name] = {
            "measure_cpu": round(t1 - t0, 2),
            "save_cpu": round(t2 - t1, 2),
            "wall": round(w2 - w0, 2),
        }
        print(name, out[name], flush=True)
        tag = os.environ.get("TAG", "x")
        text = Path(tempfile.gettempdir()) / f"lab_cpu_{tag}_{name}.txt"
        text.write_text(res.text("en") + "\n", encoding="utf-8")
    print(f"load average after: {os.getloadavg()[0]:.2f}", flush=True)
    print(json.dumps(out))


if __name__ == "__main__":
    main(sys.argv[1:])
