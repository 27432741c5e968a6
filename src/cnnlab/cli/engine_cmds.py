"""``cnnlab conv-steps``: the experiment ``conv-steps`` (:mod:`cnnlab.lab.conv_steps`) as a
top-level command.

Its options are generated from ``ConvStepsParams`` like every ``cnnlab lab NAME`` command (with
``--json`` and ``--out``); two keep the old command's form: ``--at I J`` takes two numbers, and
``--out`` has no default, so a worked example only prints unless asked to save. No torch at import
time.
"""

from __future__ import annotations

import click

from cnnlab.cli.lab_cmds import make_command
from cnnlab.i18n import t
from cnnlab.lab.registry import get


def _conv_steps() -> click.Command:
    command = make_command(get("conv-steps"), "conv-steps")
    command.help = command.short_help = t("cli.conv_steps.help")
    replace = {
        "at": click.Option(
            ["--at", "at"],
            nargs=2,
            type=int,
            default=None,
            metavar="I J",
            help=t("cli.conv_steps.opt.at"),
        ),
        "out": click.Option(
            ["--out", "out"], type=click.Path(file_okay=False), default=None, help=t("cli.opt.out")
        ),
    }
    command.params = [replace.get(p.name or "", p) for p in command.params]
    return command


conv_steps = _conv_steps()
commands = [conv_steps]
