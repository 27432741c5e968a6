"""``cnnlab summary``: any model's layers — shapes, parameters, multiply-adds, memory, receptive
fields — as a table, and as JSON on request.

    cnnlab summary --model examples/resnet_small.py:ResNetSmall --input-size 1,28,28
    cnnlab summary --model runs/cnn                      # input size from the checkpoint
    cnnlab summary --model torchvision.models:resnet18 --kw num_classes=10 --input-size 3,64,64 \\
        --json resnet18.json

A thin shell over :func:`cnnlab.inspect.summary.summary` and :mod:`cnnlab.models.sources`. Torch is
imported only when the command runs.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from cnnlab.cli.common import info, lang_option, load_model_option, model_options
from cnnlab.errors import ConfigError, OutputError
from cnnlab.i18n import Msg, t


def _check_json_path(path: str) -> Path:
    """Refuse an unwritable ``--json`` file before any work (nothing is written on failure)."""
    from cnnlab.cli.common import check_out_dir

    target = Path(path).expanduser()
    if target.is_dir():
        raise OutputError("error.output_dir", path=str(target), reason=Msg("error.os.is_dir"))
    check_out_dir(target.parent if str(target.parent) else ".")
    return target


def _table(s: Any, lang: str | None) -> Any:
    from rich import box
    from rich.table import Table

    from cnnlab.inspect import summary_view as view

    table = Table(title=view.title(s, lang), box=box.SIMPLE_HEAD, title_justify="left")
    for name, head in zip(view.COLUMNS, view.headers(lang)):
        table.add_column(head, justify="right" if name in view.NUMERIC else "left")
    for row in view.cells(s, lang):
        table.add_row(*row)
    return table


@click.command("summary", help=t("summary.cmd.help"), short_help=t("summary.cmd.help"))
@model_options(required=True)
@click.option(
    "--input-size", "input_size", default=None, metavar="C,H,W", help=t("summary.opt.input_size")
)
@click.option("--json", "json_path", default=None, metavar="FILE", help=t("summary.opt.json"))
@click.option("--no-measure", "no_measure", is_flag=True, help=t("summary.opt.no_measure"))
@lang_option
def summary_cmd(
    model: str,
    kw: tuple[str, ...],
    weights: str | None,
    input_size: str | None,
    json_path: str | None,
    no_measure: bool,
) -> None:
    from cnnlab.fileio import atomic_write_text, ensure_out_dir
    from cnnlab.i18n import get_lang
    from cnnlab.inspect import summary_view as view
    from cnnlab.inspect.summary import check_input_size, summary

    size = check_input_size(input_size) if input_size is not None else None  # before any work
    target = _check_json_path(json_path) if json_path and json_path != "-" else None
    loaded = load_model_option(model, kw, weights)
    size = size or loaded.input_shape
    if size is None:
        raise ConfigError("summary.needs_input_size", source=model)
    s = summary(loaded.model, size, title=loaded.name, measure=not no_measure)
    if json_path == "-":
        click.echo(s.to_json())
        return
    lang = get_lang()
    from rich.console import Console

    # as wide as the table needs: a layer path cut to "stages.…" says nothing
    rows = [view.headers(lang), *view.cells(s, lang)]
    need = sum(max(view.display_width(r[i]) for r in rows) + 3 for i in range(len(rows[0]))) + 4
    console = Console(width=max(Console().width, need), highlight=False)
    console.print(_table(s, lang))
    for line in view.footer(s, lang):
        console.print(line, markup=False)
    if target is not None:
        ensure_out_dir(target.parent)  # checked writable before the work; created only now
        atomic_write_text(target, s.to_json() + "\n")
        info(t("summary.saved", path=str(target)))


commands: list[click.Command] = [summary_cmd]

__all__ = ["commands"]
