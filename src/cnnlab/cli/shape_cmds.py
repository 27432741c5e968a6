"""``cnnlab shape``: the output-size formula worked through for one layer, checked against PyTorch.

    cnnlab shape --input 28 --kernel 3 --padding 1 --stride 2 [--dilation 1] [--json]

A thin shell over the ``shapes`` experiment's ``measure`` and ``explain`` — the same numbers and
text as ``cnnlab lab shapes``, without the figure. Options are validated with the experiment's own
parameter metadata before any work; an impossible combination (kernel larger than the padded input)
is a ShapeError: one message, exit code 2. Torch is imported only when the command runs.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import click

from cnnlab.cli.common import emit_result, json_option, lang_option
from cnnlab.i18n import t


def _option(f: dataclasses.Field) -> Any:
    return click.option(
        f"--{f.name}",
        f.name,
        type=int,
        default=f.default,
        show_default=True,
        help=t(f.metadata["help"]),
    )


def _build() -> click.Command:
    from cnnlab.lab.shapes import ShapesParams

    def shape(as_json: bool, **values: int) -> None:
        from cnnlab.lab.registry import check_params
        from cnnlab.lab.shapes import EXPERIMENT, measure

        params = ShapesParams(**values)
        check_params(params)  # ranges from the dataclass metadata, before any work
        emit_result(EXPERIMENT.result(measure(params)), as_json, None)

    command: Any = shape
    for f in reversed(dataclasses.fields(ShapesParams)):
        command = _option(f)(command)
    command = json_option(command)
    command = lang_option(command)
    return click.command(
        "shape", help=t("lab.shapes.cli_help"), short_help=t("lab.shapes.cli_help")
    )(command)


commands: list[click.Command] = [_build()]

__all__ = ["commands"]
