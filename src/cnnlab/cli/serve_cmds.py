"""``cnnlab serve``: the local web page (FastAPI + uvicorn), offline.

    cnnlab serve [--host 127.0.0.1] [--port 8000] [--open] [--checkpoint DIR]

Binds 127.0.0.1 unless told otherwise; any other address prints a warning (the page has no
login). The port is bound before the app is built, so a port in use is one clear error (exit 2).
``--port 0`` picks a free port (the URL line says which). ``--checkpoint DIR`` adds the models of a
checkpoint folder, or of each checkpoint folder inside DIR, to the page's list (by id, never by
path). Torch and FastAPI are imported only when the command runs.
"""

from __future__ import annotations

import contextlib
import ipaddress
import socket
from pathlib import Path

import click

from cnnlab.cli.common import lang_option
from cnnlab.i18n import t

LOOPBACK_NAMES = ("localhost",)
# the Host header names a loopback-bound page answers to (anything else: 421, see WebMiddleware)
LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1")


def is_loopback(host: str) -> bool:
    """True for 127.0.0.0/8, ::1 and ``localhost``: reachable from this computer only."""
    if host in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def bind(host: str, port: int) -> socket.socket:
    """A listening socket on ``host:port``, or ConfigError naming the address and the reason."""
    from cnnlab.errors import ConfigError, os_reason

    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        family, _, _, _, address = infos[0]
        sock = socket.socket(family, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        # accepted connections inherit it: without it a 43 KB prediction waited ~40 ms for the
        # client's delayed ACK (Nagle) — measured 52 ms → 16 ms per request on loopback
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        sock.bind(address)
        sock.listen(128)
    except OSError as exc:
        raise ConfigError(
            "web.serve.port_busy", host=host, port=port, reason=os_reason(exc)
        ) from exc
    sock.set_inheritable(True)
    return sock


@click.command("serve", help=t("web.serve.help"), short_help=t("web.serve.help"))
@click.option("--host", default="127.0.0.1", show_default=True, help=t("web.serve.opt.host"))
@click.option(
    "--port",
    type=click.IntRange(0, 65535),
    default=8000,
    show_default=True,
    help=t("web.serve.opt.port"),
)
@click.option("--open", "open_browser", is_flag=True, help=t("web.serve.opt.open"))
@click.option(
    "--checkpoint", "checkpoint", default=None, metavar="DIR", help=t("web.serve.opt.checkpoint")
)
@lang_option
def serve(host: str, port: int, open_browser: bool, checkpoint: str | None) -> None:
    from cnnlab.errors import DataError

    if checkpoint is not None and not Path(checkpoint).is_dir():
        raise DataError("web.serve.no_dir", path=checkpoint)
    if not is_loopback(host):
        click.echo(t("web.serve.warn_public", host=host), err=True)
    sock = bind(host, port)
    try:
        import torch
        import uvicorn

        from cnnlab.web.app import create_app
        from cnnlab.web.state import ServerConfig

        # one intra-op thread: requests run side by side, and the nets are small enough that a
        # second thread only spin-waits (measured: 2 threads made predict 20× slower under load)
        torch.set_num_threads(1)
        app = create_app(
            ServerConfig(
                checkpoint_dir=Path(checkpoint) if checkpoint else None,
                allowed_hosts=LOOPBACK_HOSTS if is_loopback(host) else None,
            )
        )
        for reason in app.state.skipped:
            click.echo(t("web.serve.skipped", reason=reason), err=True)
        models = app.state.cnnlab.store.all()
        click.echo(t("web.serve.models", models=", ".join(f"{m.id} ({m.label})" for m in models)))
        shown = sock.getsockname()[0] if host not in LOOPBACK_NAMES else host
        shown = f"[{shown}]" if ":" in shown else shown
        url = f"http://{shown}:{sock.getsockname()[1]}/"
        click.echo(t("web.serve.listening", url=url))
        if open_browser:
            import threading
            import webbrowser

            threading.Timer(0.5, webbrowser.open, args=(url,)).start()
        server = uvicorn.Server(uvicorn.Config(app, log_level="warning", access_log=False))
        # uvicorn shuts down cleanly on Ctrl+C, then re-raises it: for a server that is the stop
        with contextlib.suppress(KeyboardInterrupt):
            server.run(sockets=[sock])
    finally:
        sock.close()


commands: list[click.Command] = [serve]

__all__ = ["commands", "is_loopback", "bind"]
