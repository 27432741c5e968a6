"""Click's own words in the user's language: ``Usage:``, ``Options``, ``[default: …]``, and every
option-parsing error (``Invalid value for '--input': 'x' is not a valid integer.``).

Click translates through gettext: each of its modules does ``from gettext import gettext as _``
(and ``ngettext``). :func:`install` replaces those two module-level names with lookups that, while
the language in force (:func:`cnnlab.i18n.get_lang`) is Korean, map click's English msgid to a
catalog key (``messages/cli_click.json``); in English, or for a msgid not listed here, click's own
gettext answers, so English output is exactly click's. The msgids below are copied from click 8.x's
source (``_("…")`` and ``ngettext("…", "…", n)`` calls); a msgid click renames simply stays English.

The Korean template is returned as a :class:`_Template`, a ``str`` whose ``format`` renders it
through :func:`cnnlab.i18n.t`, so particle markers (``{value|은!r}``) work and click's type names
(``integer``) inside a message are translated too.
"""

from __future__ import annotations

import gettext
import importlib
import re
import unicodedata
from typing import Any

import click

from cnnlab.i18n import get_lang, t

# click's English msgid → catalog key.
MSGIDS: dict[str, str] = {
    "Usage:": "cli.click.usage",
    "Options": "cli.click.options",
    "Commands": "cli.click.commands",
    "default: {default}": "cli.click.default",
    "env var: {var}": "cli.click.env_var",
    "required": "cli.click.required",
    "(dynamic)": "cli.click.dynamic",
    "deprecated": "cli.click.deprecated",
    "Show this message and exit.": "cli.click.help_option",
    "Show the version and exit.": "cli.click.version_option",
    "%(prog)s, version %(version)s": "cli.click.version",
    "Error: {message}": "cli.click.error",
    "Try '{command} {option}' for help.": "cli.click.try_help",
    "Aborted!": "cli.click.aborted",
    "unknown error": "cli.click.unknown_error",
    "Invalid value for {param_hint}: {message}": "cli.click.invalid_value_for",
    "Invalid value: {message}": "cli.click.invalid_value",
    "Missing argument": "cli.click.missing_argument",
    "Missing option": "cli.click.missing_option",
    "Missing parameter": "cli.click.missing_parameter",
    "Missing {param_type}": "cli.click.missing_type",
    "Missing command.": "cli.click.missing_command",
    "No such option {name!r}.": "cli.click.no_such_option",
    "No such command {name!r}.": "cli.click.no_such_command",
    "Did you mean {possibility}?": "cli.click.did_you_mean",
    "(Did you mean one of: {possibilities}?)": "cli.click.did_you_mean_one_of",
    "Got unexpected extra argument ({args})": "cli.click.extra_argument",
    "Got unexpected extra arguments ({args})": "cli.click.extra_argument",
    "Option {name!r} does not take a value.": "cli.click.takes_no_value",
    "Option {name!r} requires an argument.": "cli.click.requires_argument",
    "Option {name!r} requires {nargs} arguments.": "cli.click.requires_arguments",
    "Argument {name!r} takes {nargs} values.": "cli.click.argument_nargs",
    "Takes {nargs} values but 1 was given.": "cli.click.nargs_one_given",
    "Takes {nargs} values but {len} were given.": "cli.click.nargs_given",
    "{len_type} values are required, but {len_value} was given.": "cli.click.tuple_len",
    "{len_type} values are required, but {len_value} were given.": "cli.click.tuple_len",
    "Value must be an iterable.": "cli.click.not_iterable",
    "{value!r} is not a valid {number_type}.": "cli.click.not_a_number",
    "{value} is not in the range {range}.": "cli.click.not_in_range",
    "{value!r} is not a valid boolean. Recognized values: {states}": "cli.click.not_a_boolean",
    "{value!r} is not {choice}.": "cli.click.not_choice",
    "{value!r} is not one of {choices}.": "cli.click.not_one_of",
    "Choose from:\n\t{choices}": "cli.click.choose_from",
    "{value!r} is not a valid UUID.": "cli.click.not_a_uuid",
    "file": "cli.click.file",
    "directory": "cli.click.directory",
    "path": "cli.click.path",
    "{name} {filename!r} does not exist.": "cli.click.path_missing",
    "{name} {filename!r} is a file.": "cli.click.path_is_file",
    "{name} {filename!r} is a directory.": "cli.click.path_is_dir",
    "{name} {filename!r} is not readable.": "cli.click.path_not_readable",
    "{name} {filename!r} is not writable.": "cli.click.path_not_writable",
    "{name} {filename!r} is not executable.": "cli.click.path_not_executable",
    "Could not open file {filename!r}: {message}": "cli.click.cannot_open",
}

# click's parameter type names, formatted into messages as {number_type}.
TYPE_NAMES: dict[str, str] = {
    "integer": "cli.click.type.integer",
    "integer range": "cli.click.type.integer",
    "float": "cli.click.type.float",
    "float range": "cli.click.type.float",
}

PATH_TYPES = ("file", "directory", "path")

# click modules that translate with a module-level ``_`` / ``ngettext``.
MODULES = (
    "click.core",
    "click.decorators",
    "click.exceptions",
    "click.formatting",
    "click.parser",
    "click.types",
    "click.termui",
    "click.utils",
)


class _Template(str):
    """A Korean template that click formats with ``.format(**params)``: rendered by :func:`t`."""

    key: str

    def __new__(cls, key: str) -> _Template:
        self = super().__new__(cls, t(key))
        self.key = key
        return self

    def format(self, *args: Any, **params: Any) -> str:
        for name, value in params.items():
            if isinstance(value, str) and value in TYPE_NAMES:
                params[name] = t(TYPE_NAMES[value])
        return t(self.key, **params)


class _TypeName(_Template):
    """A path type's name (``directory``): Korean in messages (``name.title()``), but click's
    English metavar (``name.upper()``: ``DIRECTORY``), like ``INTEGER``, so the help's columns stay
    aligned (click measures width in characters, and a Hangul syllable is two columns wide)."""

    msgid: str

    def upper(self) -> str:
        return self.msgid.upper()


def translate(message: str) -> str:
    """Click's ``_``: the Korean template for a known msgid while Korean is in force."""
    key = MSGIDS.get(message)
    if key is None or get_lang() != "ko":
        return gettext.gettext(message)
    if message in PATH_TYPES:
        name = _TypeName(key)
        name.msgid = message
        return name
    return _Template(key)


def ntranslate(singular: str, plural: str, n: int) -> str:
    """Click's ``ngettext``; Korean has one form for both."""
    key = MSGIDS.get(singular if n == 1 else plural)
    if key is None or get_lang() != "ko":
        return gettext.ngettext(singular, plural, n)
    return _Template(key)


_ANSI = re.compile(r"\033\[[;?0-9]*[a-zA-Z]")  # click's own pattern for colour codes


def display_width(text: str) -> int:
    """Terminal columns ``text`` takes: East Asian wide and fullwidth characters (Hangul) take two.

    Click measures help text in characters, so a Korean help line of 78 characters would run to
    about 120 columns; with this, Korean help wraps at the terminal width like English. For ASCII
    it equals click's own measure.
    """
    plain = _ANSI.sub("", text)
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in plain)


def install() -> None:
    """Route click's translations through :func:`translate` and its help layout through
    :func:`display_width` (idempotent)."""
    for name in MODULES:
        module = importlib.import_module(name)
        if hasattr(module, "_"):
            module._ = translate  # type: ignore[attr-defined]
        if hasattr(module, "ngettext"):
            module.ngettext = ntranslate  # type: ignore[attr-defined]
    for name in ("click.formatting", "click._textwrap"):
        module = importlib.import_module(name)
        if hasattr(module, "term_len"):
            module.term_len = display_width  # type: ignore[attr-defined]


class ListingGroup(click.Group):
    """A group whose unknown-command error lists the commands it has."""

    def resolve_command(
        self, ctx: click.Context, args: list[str]
    ) -> tuple[str | None, click.Command | None, list[str]]:
        name = click.utils.make_str(args[0])
        if self.get_command(ctx, name) is None and not name.startswith("-"):
            valid = ", ".join(self.list_commands(ctx))
            ctx.fail(t("cli.unknown_command", name=name, valid=valid))
        return super().resolve_command(ctx, args)


__all__ = ["MSGIDS", "ListingGroup", "display_width", "install", "translate", "ntranslate"]
