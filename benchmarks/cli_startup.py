"""How long `cnnlab --help` takes, and proof that it does not import torch.

    python benchmarks/cli_startup.py

Prints the median wall time of `python -m cnnlab --help` over several runs, the same for a bare
`python -c "import torch"` in the same run, and their ratio.
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import time


def median_time(args: list[str], repeats: int = 7) -> float:
    subprocess.run(args, capture_output=True, check=True)  # warm the file cache
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        subprocess.run(args, capture_output=True, check=True)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    probe = (
        "import sys; from cnnlab.cli import main; main(['--help']); "
        "sys.stderr.write('torch imported: %s' % ('torch' in sys.modules))"
    )
    proc = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    help_s = median_time([sys.executable, "-m", "cnnlab", "--help"])
    torch_s = median_time([sys.executable, "-c", "import torch"])
    bare_s = median_time([sys.executable, "-c", "pass"])
    print(proc.stderr.strip())
    print(f"python -c pass          {bare_s * 1000:7.0f} ms")
    print(f"cnnlab --help           {help_s * 1000:7.0f} ms")
    print(f"python -c 'import torch' {torch_s * 1000:6.0f} ms")
    print(f"--help / import torch   {help_s / torch_s:7.2f}x")


if __name__ == "__main__":
    main()
