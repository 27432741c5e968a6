"""Options and output helpers shared by every CLI command (the CLI is a thin shell over the
library)."""

from __future__ import annotations

import contextlib
import os
import sys
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import click

from cnnlab.errors import OutputError
from cnnlab.i18n import LANGS, Msg, set_lang, t

DEFAULT_OUT = "cnnlab-out"


def _set_lang(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    if value:
        set_lang(value)  # raises ConfigError (exit 2) for an unknown language
    return value


def lang_option(fn: Callable[..., Any]) -> Callable[..., Any]:
    """``--lang ko|en`` on any command (also accepted before the command name)."""
    return click.option(
        "--lang",
        metavar="|".join(LANGS),
        callback=_set_lang,
        expose_value=False,
        is_eager=True,
        help=t("cli.opt.lang"),
    )(fn)


def json_option(fn: Callable[..., Any]) -> Callable[..., Any]:
    return click.option("--json", "as_json", is_flag=True, help=t("cli.opt.json"))(fn)


def out_option(
    default: str | None = DEFAULT_OUT,
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    return click.option(
        "--out",
        "out",
        type=click.Path(file_okay=False),
        default=default,
        show_default=bool(default),
        help=t("cli.opt.out"),
    )


def model_options(
    required: bool = True, default: str | None = None
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """``--model SOURCE``, ``--kw key=value`` (repeatable), ``--weights FILE.safetensors``.

    The command receives ``model``, ``kw`` (a tuple of ``key=value`` texts) and ``weights``; it
    builds the model with :func:`load_model_option` (which imports torch only then).
    """

    def decorate(fn: Callable[..., Any]) -> Callable[..., Any]:
        fn = click.option(
            "--weights", "weights", default=None, metavar="FILE", help=t("sources.opt.weights")
        )(fn)
        fn = click.option(
            "--kw", "kw", multiple=True, metavar="KEY=VALUE", help=t("sources.opt.kw")
        )(fn)
        return click.option(
            "--model",
            "model",
            required=required,
            default=default,
            show_default=bool(default),
            metavar="SOURCE",
            help=t("sources.opt.model"),
        )(fn)

    return decorate


def load_model_option(model: str, kw: tuple[str, ...] = (), weights: str | None = None) -> Any:
    """The :class:`cnnlab.models.sources.LoadedModel` for ``--model``/``--kw``/``--weights``."""
    from cnnlab.models.sources import load_model, split_kw

    return load_model(model, split_kw(kw), weights=weights)


def check_out_dir(path: str | os.PathLike[str]) -> Path:
    """Check, leaving nothing behind, that ``path`` is or can become a writable directory.

    Called before any work so that an unwritable ``--out`` fails fast. The check is a real probe:
    a temp file created and removed in the nearest existing ancestor (``os.access`` says yes to
    ``/proc/x`` as root, where nothing can be created). An empty path is refused by name.
    """
    if not str(path).strip():
        raise OutputError("error.output_dir", path=str(path), reason=Msg("bounds.reason.empty_out"))
    out = Path(path).expanduser().absolute()
    probe = out
    while not probe.exists() and probe != probe.parent:
        probe = probe.parent
    if not probe.is_dir():
        raise OutputError(
            "error.output_dir", path=str(out), reason=Msg("error.reason.not_dir", path=str(probe))
        )
    try:
        fd, tmp = tempfile.mkstemp(prefix=".cnnlab-probe-", dir=probe)
        os.close(fd)
        os.unlink(tmp)
    except OSError as exc:
        raise OutputError(
            "error.output_dir",
            path=str(out),
            reason=Msg("error.reason.not_writable", path=str(probe)),
        ) from exc
    return out


@contextlib.contextmanager
def hold_out_dir(out: Path | None) -> Iterator[Path | None]:
    """Own ``out`` for the whole run: :func:`cnnlab.fileio.lock_output_dir` (a second run on the
    same folder is refused at once, naming it and the holder's PID). On failure, the folders this
    run created and left empty are removed again, so a refused or failed run leaves nothing.
    ``None`` (no ``--out``) holds nothing.
    """
    if out is None:
        yield None
        return
    from cnnlab.fileio import lock_output_dir

    created = []
    probe = out
    while not probe.exists() and probe != probe.parent:
        created.append(probe)  # deepest first
        probe = probe.parent
    ok = False
    try:
        with lock_output_dir(out):
            yield out
        ok = True
    finally:
        if not ok:
            for folder in created:
                with contextlib.suppress(OSError):
                    folder.rmdir()  # only when empty


def info(message: str) -> None:
    """A status line for the user on stderr (keeps stdout clean for --json)."""
    click.echo(message, err=True)


def emit_result(result: Any, as_json: bool, out: Path | None) -> None:
    """Print a Result (text or JSON) and save its files into ``out``, printing where they went."""
    if as_json:
        click.echo(result.to_json())
    else:
        click.echo(result.text())
    if out is not None:
        written = result.save(out)
        stream_err = as_json
        click.echo(t("cli.saved", path=str(out)), err=stream_err)
        for path in written.values():
            click.echo(f"  {path}", err=stream_err)


def is_tty() -> bool:
    return sys.stderr.isatty()


__all__ = [
    "lang_option",
    "json_option",
    "out_option",
    "check_out_dir",
    "hold_out_dir",
    "emit_result",
    "info",
    "model_options",
    "load_model_option",
    "DEFAULT_OUT",
]
