"""The ``cnnlab`` command line: a thin shell over the library, built with click.

Commands live in area modules (``cli/<area>_cmds.py``), each exposing ``commands``: a list of
``click.Command``. To add an area, add its module and the names of its commands to ``AREAS``: a
run of one command imports only that command's module (``cnnlab train`` starts 0.3 s sooner than
with all nine), ``cnnlab --help`` and an unknown name import them all. Area modules must not import
torch at import time — ``cnnlab --help`` stays instant (``benchmarks/cli_startup.py`` measures it).

Errors: any :class:`cnnlab.errors.CnnlabError` becomes a one-paragraph message on stderr and exit
code 2; ``--debug`` (or ``CNNLAB_DEBUG=1``) shows the traceback instead. Click's own words
(``Usage:``, option-parsing errors) follow ``--lang`` through :mod:`cnnlab.cli.click_i18n`. Bare
``cnnlab`` (or a bare group such as ``cnnlab lab``) prints its help and exits 0.
"""

from __future__ import annotations

import importlib
import os
import sys
from types import ModuleType

import click

from cnnlab import __version__
from cnnlab.cli import click_i18n
from cnnlab.errors import CnnlabError
from cnnlab.i18n import get_lang, set_lang, t

# area module -> the names of the commands it defines (tests/cli checks them against the modules)
AREAS: dict[str, tuple[str, ...]] = {
    "cnnlab.cli.tour_cmds": ("tour", "report"),
    "cnnlab.cli.lab_cmds": ("lab", "padding"),
    "cnnlab.cli.data_cmds": ("data",),
    "cnnlab.cli.shape_cmds": ("shape",),
    "cnnlab.cli.train_cmds": ("train", "evaluate", "predict"),
    "cnnlab.cli.engine_cmds": ("conv-steps",),
    "cnnlab.cli.looks_cmds": ("maps", "looks"),
    "cnnlab.cli.summary_cmds": ("summary",),
    "cnnlab.cli.serve_cmds": ("serve",),
}
_GLOBAL_WITH_VALUE = ("--lang",)  # the group's options that take a value
# area module -> the language its help texts were rendered in when this module imported it (they
# are built at import time); a later in-process main() in another language rebuilds them.
_built_lang: dict[str, str] = {}


def _prescan_lang(args: list[str]) -> None:
    """Apply ``--lang`` before the commands are built, so help texts are in that language too."""
    for i, arg in enumerate(args):
        if arg == "--lang" and i + 1 < len(args):
            set_lang(args[i + 1])
        elif arg.startswith("--lang="):
            set_lang(arg.split("=", 1)[1])


def _command_name(args: list[str]) -> str | None:
    """The command ``args`` invoke (the first argument that is not a group option), or None."""
    skip = False
    for arg in args:
        if skip:
            skip = False
        elif arg in _GLOBAL_WITH_VALUE:
            skip = True
        elif not arg.startswith("-"):
            return arg
    return None


def _area_modules(command: str | None = None) -> list[ModuleType]:
    """The area modules — only the one defining ``command`` when it names a known command —
    imported, or re-imported when the language changed since."""
    lang = get_lang()
    areas = [area for area, names in AREAS.items() if command in names] or list(AREAS)
    modules = []
    for area in areas:
        # imported before, by us in another language or by someone else in any: render it again
        stale = area in sys.modules and _built_lang.get(area) != lang
        module = importlib.import_module(area)
        modules.append(importlib.reload(module) if stale else module)
        _built_lang[area] = lang
    return modules


def build_cli(command: str | None = None) -> click.Group:
    """The ``cnnlab`` group: with ``command``, only that command's area is imported and added."""
    from cnnlab.cli.common import lang_option

    click_i18n.install()

    @click.group(
        cls=click_i18n.ListingGroup,
        help=t("cli.help"),
        context_settings={"help_option_names": ["-h", "--help"]},
        invoke_without_command=True,
    )
    @click.version_option(__version__, prog_name="cnnlab")
    @click.option("--debug", is_flag=True, help=t("cli.opt.debug"))
    @lang_option
    @click.pass_context
    def cli(ctx: click.Context, debug: bool) -> None:
        if ctx.invoked_subcommand is None:  # `cnnlab` or `cnnlab --lang ko` alone: the help
            click.echo(ctx.get_help())

    for module in _area_modules(command):
        for each in module.commands:
            cli.add_command(each)
    return cli


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``cnnlab`` script and ``python -m cnnlab``; returns the exit code."""
    args = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in args or bool(os.environ.get("CNNLAB_DEBUG"))
    try:
        set_lang(None)
        _prescan_lang(args)
        cli = build_cli(_command_name(args))
        rv = cli.main(args=args, prog_name="cnnlab", standalone_mode=False)
        return rv if isinstance(rv, int) else 0
    except CnnlabError as exc:
        if debug:
            raise
        click.echo(t("cli.error", message=exc.message()), err=True)
        return 2
    except click.exceptions.Exit as exc:
        return exc.exit_code
    except click.exceptions.NoArgsIsHelpError as exc:  # bare `cnnlab`: the help, not an error
        click.echo(exc.ctx.get_help())
        return 0
    except click.ClickException as exc:
        exc.show()
        return exc.exit_code
    except (click.exceptions.Abort, KeyboardInterrupt):
        click.echo(t("cli.interrupted"), err=True)
        return 130


__all__ = ["main", "build_cli", "AREAS"]
