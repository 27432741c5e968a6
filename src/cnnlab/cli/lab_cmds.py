"""``cnnlab lab NAME`` — one command per registered experiment, generated from its parameter
dataclass.

The note's own experiment is also a top-level command: ``cnnlab padding``.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from typing import Any

import click

from cnnlab.cli.click_i18n import ListingGroup
from cnnlab.cli.common import (
    check_out_dir,
    emit_result,
    hold_out_dir,
    info,
    json_option,
    lang_option,
    out_option,
)
from cnnlab.i18n import t
from cnnlab.lab.registry import Experiment, load_all

TOP_LEVEL = ("padding",)  # experiments that are also `cnnlab NAME`


def _option(field: dataclasses.Field, hint: Any) -> click.Option:
    """A click option for one dataclass field: ``index`` → ``--index``, bools → ``--x/--no-x``."""
    flag = "--" + field.name.replace("_", "-")
    help_text = t(field.metadata["help"]) if "help" in field.metadata else None
    base = hint
    if typing.get_origin(hint) in (typing.Union, types.UnionType):  # Optional[X] / X | None → X
        base = next(a for a in typing.get_args(hint) if a is not type(None))
    if base is bool:
        return click.Option(
            [f"{flag}/--no-{flag[2:]}", field.name],
            default=field.default,
            show_default=True,
            help=help_text,
        )
    if base in (int, float):
        return click.Option(
            [flag, field.name], type=base, default=field.default, show_default=True, help=help_text
        )
    args = typing.get_args(base)
    if (
        typing.get_origin(base) is tuple and args and Ellipsis not in args
    ):  # tuple[int, int]: --at I J
        return click.Option(
            [flag, field.name],
            type=args[0],
            nargs=len(args),
            default=field.default,
            show_default=field.default is not None,
            help=help_text,
        )
    if base in (tuple, list) or typing.get_origin(base) in (tuple, list):
        inner = (args or (int,))[0]
        default = (
            field.default_factory()
            if field.default_factory is not dataclasses.MISSING
            else field.default
        )
        return click.Option(
            [flag, field.name],
            type=inner,
            multiple=True,
            default=default,
            show_default=True,
            help=help_text,
        )
    return click.Option(
        [flag, field.name],
        type=str,
        default=field.default,
        show_default=field.default is not None,
        help=help_text,
    )


def make_command(exp: Experiment, name: str | None = None) -> click.Command:
    hints = typing.get_type_hints(exp.params)
    fields = dataclasses.fields(exp.params)

    def callback(as_json: bool, out: str | None, **values: Any) -> None:
        values = {k: (tuple(v) if isinstance(v, tuple | list) else v) for k, v in values.items()}
        params = exp.make_params(**values)  # validates ranges/choices before any work
        out_dir = check_out_dir(out) if out is not None else None  # fail fast, "" included
        if hasattr(params, "data"):
            from cnnlab.data import resolve

            info(
                resolve(
                    params.data,
                    getattr(params, "data_dir", None),
                    getattr(params, "download", False),
                    getattr(params, "split", "train") == "train",
                ).describe()
            )
        from cnnlab.cli.progress import ProgressBar

        with hold_out_dir(out_dir):  # one run per --out folder, held until the files are saved
            with ProgressBar() as progress:
                result = exp(params, callback=progress)
            emit_result(result, as_json, out_dir)

    params: list[click.Parameter] = [_option(f, hints[f.name]) for f in fields]
    command = click.Command(
        name or exp.name,
        callback=callback,
        params=params,
        help=t(exp.title_key),
        short_help=t(exp.title_key),
    )
    for deco in (json_option, out_option(), lang_option):
        command = _apply(deco, command)
    return command


def _apply(decorator: Any, command: click.Command) -> click.Command:
    """Apply an option decorator to an already-built Command (click decorators also accept
    these)."""
    return decorator(command)


@click.group("lab", cls=ListingGroup, help=t("cli.lab.help"))
@lang_option
def lab_group() -> None:
    pass


for _exp in load_all().values():
    lab_group.add_command(make_command(_exp))

commands: list[click.Command] = [lab_group] + [make_command(load_all()[n]) for n in TOP_LEVEL]
