"""``cnnlab tour`` — the main job: every experiment, one HTML report, with a progress bar."""

from __future__ import annotations

import time

import click

from cnnlab.cli.common import (
    check_out_dir,
    hold_out_dir,
    info,
    json_option,
    lang_option,
    out_option,
)
from cnnlab.cli.progress import ProgressBar
from cnnlab.i18n import t


@click.command("tour", help=t("cli.tour.help"))
@click.option("--quick", is_flag=True, help=t("cli.tour.quick"))
@click.option("--only", multiple=True, metavar="NAME", help=t("cli.tour.only"))
@click.option("--data", default="auto", show_default=True, help=t("lab.param.data"))
@click.option("--data-dir", default=None, help=t("lab.param.data_dir"))
@click.option("--model", default=None, metavar="SOURCE", help=t("lab.user.param.tour_model"))
@click.option("--kw", multiple=True, metavar="KEY=VALUE", help=t("lab.user.param.kw"))
@out_option()
@json_option
@lang_option
def tour(
    quick: bool,
    only: tuple[str, ...],
    data: str,
    data_dir: str | None,
    model: str | None,
    kw: tuple[str, ...],
    out: str,
    as_json: bool,
) -> None:
    from cnnlab.data import resolve
    from cnnlab.lab.registry import get
    from cnnlab.report import run_tour, write_report

    for name in only:
        get(name)  # unknown names fail before any work
    out_dir = check_out_dir(out)
    info(resolve(data, data_dir).describe())
    start = time.perf_counter()
    with hold_out_dir(out_dir):  # one run per --out folder, from the first experiment to the report
        with ProgressBar() as progress:
            entries = run_tour(
                quick=quick,
                only=list(only) or None,
                # --model/--kw reach the experiments that take them (hierarchy, receptive-field,
                # pattern); the others run their own networks
                data={"data": data, "data_dir": data_dir, "model": model, "kw": kw or None},
                callback=progress,
            )
        index = write_report(entries, out_dir)
    seconds = time.perf_counter() - start
    if as_json:
        click.echo((out_dir / "numbers.json").read_text(encoding="utf-8"))
    else:
        for entry in entries:
            click.echo(f"{entry.experiment.name:<18} {entry.seconds:6.1f} s")
        click.echo(t("cli.tour.summary", n=len(entries), seconds=f"{seconds:.0f}"))
    info(t("cli.tour.report", path=str(index)))


@click.command("report", help=t("cli.report.help"))
@click.argument("report_dir", metavar="DIR", type=click.Path(file_okay=False))
@click.option(
    "--out", "out", type=click.Path(file_okay=False), default=None, help=t("cli.report.out")
)
@lang_option
def report(report_dir: str, out: str | None) -> None:
    from cnnlab.report import read_report, write_report

    entries = read_report(report_dir)  # fails before writing anything
    out_dir = check_out_dir(report_dir if out is None else out)
    with hold_out_dir(out_dir):
        index = write_report(entries, out_dir, rerendered=True)
    click.echo(t("cli.tour.report", path=str(index)))


commands = [tour, report]
