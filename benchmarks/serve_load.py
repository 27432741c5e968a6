"""Load on the draw → prediction + maps endpoint of ``cnnlab serve``: N concurrent clients, T s.

    python benchmarks/serve_load.py [--clients 50] [--seconds 20] [--json]

Loopback only and bounded: the server is ``cnnlab serve --port 0`` in a subprocess on 127.0.0.1
(its own process and GIL), the clients are asyncio tasks in this
process on keep-alive connections (pre-encoded requests, so the client takes little CPU from the
server), each sending ``POST /api/predict`` (a real digit from the embedded sample, one of five
shifts, maps on) back to back until the time is up. Reported:

- errors (any non-200 or transport error; the goal is 0) and throughput;
- ``predict`` server time: the route's own work (both forward passes, maps, encoding) from the
  ``Server-Timing`` header — the per-request cost, goal p95 ≤ 25 ms on 2 cores;
- ``app`` server time: from the request entering the app to the response starting (adds JSON
  parsing and validation);
- client latency: what a client waits, queueing included (with N clients and a server that does
  one request at a time, about N × the per-request time — Little's law);
- the load average before and after: the machine may be shared, and a figure taken under load is
  slower than the code.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import re
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]


def percentiles(values: list[float]) -> dict[str, float | None]:
    if not values:
        return {"p50": None, "p95": None, "p99": None, "mean": None}
    a = np.asarray(values)
    return {
        "p50": round(float(np.percentile(a, 50)), 2),
        "p95": round(float(np.percentile(a, 95)), 2),
        "p99": round(float(np.percentile(a, 99)), 2),
        "mean": round(float(a.mean()), 2),
    }


def start_server() -> tuple[subprocess.Popen[str], str]:
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    proc = subprocess.Popen(
        [sys.executable, "-m", "cnnlab", "--lang", "en", "serve", "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
        cwd=ROOT,
    )
    deadline = time.monotonic() + 120
    assert proc.stdout is not None
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            break
        m = re.search(r"(http://127\.0\.0\.1:\d+)/", line)
        if m:
            return proc, m.group(1)
    proc.kill()
    raise SystemExit("the server did not start")


def timing(header_lines: list[str], name: str) -> float | None:
    for line in header_lines:
        key, _, value = line.partition(":")
        if key.strip().lower() != "server-timing":
            continue
        for part in value.split(","):
            m = re.match(rf"\s*{name};dur=([\d.]+)", part)
            if m:
                return float(m.group(1))
    return None


def requests_bytes(host: str, n_digits: int = 20) -> list[bytes]:
    """Pre-encoded ``POST /api/predict`` requests (digits × shifts): the client spends its CPU on
    sending and receiving only, so it takes as little as possible from the server's cores."""
    from cnnlab.data import get_dataset

    ds = get_dataset("mnist-sample", train=False)
    out = []
    for i in range(n_digits):
        pixels = (ds.images[i] / 255.0).round(3).tolist()
        for dx, dy in ((0, 0), (2, 0), (-2, 1), (1, -2), (0, 3)):
            body = json.dumps({"pixels": pixels, "shift": [dx, dy]}).encode()
            head = (
                f"POST /api/predict HTTP/1.1\r\nHost: {host}\r\n"
                f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
            )
            out.append(head.encode() + body)
    return out


async def _exchange(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, request: bytes
) -> tuple[int, list[str]]:
    """Send one request on a keep-alive connection; read the whole response."""
    writer.write(request)
    await writer.drain()
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    length = 0
    for line in lines[1:]:
        if line.lower().startswith("content-length:"):
            length = int(line.split(":", 1)[1])
    await reader.readexactly(length)
    return status, lines[1:]


async def run_load(url: str, clients: int, seconds: float) -> dict[str, Any]:
    host_port = url.removeprefix("http://")
    host, port = host_port.split(":")
    requests = requests_bytes(host_port)
    client_ms: list[float] = []
    predict_ms: list[float] = []
    app_ms: list[float] = []
    errors: list[str] = []

    reader, writer = await asyncio.open_connection(host, int(port))
    for _ in range(5):  # warm-up: first calls build caches
        await _exchange(reader, writer, requests[0])
    writer.close()
    stop = time.perf_counter() + seconds

    async def one_client(k: int) -> None:
        reader, writer = await asyncio.open_connection(host, int(port))
        i = k
        try:
            while time.perf_counter() < stop:
                t0 = time.perf_counter()
                try:
                    status, lines = await _exchange(reader, writer, requests[i % len(requests)])
                except (OSError, asyncio.IncompleteReadError, ValueError) as exc:
                    errors.append(type(exc).__name__)
                    writer.close()
                    reader, writer = await asyncio.open_connection(host, int(port))
                    continue
                client_ms.append((time.perf_counter() - t0) * 1000)
                if status != 200:
                    errors.append(str(status))
                for name, out in (("predict", predict_ms), ("app", app_ms)):
                    v = timing(lines, name)
                    if v is not None:
                        out.append(v)
                i += clients
        finally:
            writer.close()

    t0 = time.perf_counter()
    await asyncio.gather(*(one_client(k) for k in range(clients)))
    wall = time.perf_counter() - t0
    return {
        "requests": len(client_ms),
        "errors": len(errors),
        "error_kinds": sorted(set(errors)),
        "wall_s": round(wall, 2),
        "throughput_rps": round(len(client_ms) / wall, 1),
        "server_predict_ms": percentiles(predict_ms),
        "server_app_ms": percentiles(app_ms),
        "client_ms": percentiles(client_ms),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--clients", type=int, default=50)
    ap.add_argument("--seconds", type=float, default=20.0)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    if not 1 <= args.clients <= 200 or not 0 < args.seconds <= 120:
        raise SystemExit("--clients 1..200, --seconds (0, 120]: the load stays bounded")
    load_before = os.getloadavg()
    proc, url = start_server()
    try:
        result = asyncio.run(run_load(url, args.clients, args.seconds))
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
    load_after = os.getloadavg()
    result.update(
        clients=args.clients,
        seconds=args.seconds,
        cpus=os.cpu_count(),
        python=platform.python_version(),
        load_before=[round(v, 2) for v in load_before],
        load_after=[round(v, 2) for v in load_after],
        goal_p95_predict_ms=25.0,
    )
    if args.json:
        print(json.dumps(result, indent=1))
        return
    print(f"{args.clients} clients × {args.seconds:g} s on {os.cpu_count()} CPUs, loopback")
    print(f"load average before {result['load_before']}  after {result['load_after']}")
    print(
        f"requests {result['requests']}, errors {result['errors']} {result['error_kinds']}, "
        f"{result['throughput_rps']} req/s"
    )
    for key, label in (
        ("server_predict_ms", "server: predict work"),
        ("server_app_ms", "server: in the app  "),
        ("client_ms", "client latency      "),
    ):
        p = result[key]
        print(f"{label}  p50 {p['p50']} ms  p95 {p['p95']} ms  p99 {p['p99']} ms")
    p95 = result["server_predict_ms"]["p95"]
    if p95 is not None:
        print(f"predict p95 / goal 25 ms = {p95 / 25:.2f}")


if __name__ == "__main__":
    main()
