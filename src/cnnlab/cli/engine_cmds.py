"""``cnnlab conv-steps``: a convolution worked example, step by step, as text tables.

A thin shell: it builds the example (numbers, or a real image patch via :mod:`cnnlab.data`), and
prints :func:`cnnlab.engine.explain.render`. No torch at import time.
"""

from __future__ import annotations

import click

from cnnlab.cli.common import lang_option
from cnnlab.i18n import t


@click.command("conv-steps", help=t("cli.conv_steps.help"))
@click.option("--input-size", default=5, show_default=True, type=int, help=t("cli.conv_steps.opt.input_size"))
@click.option("--kernel-size", default=3, show_default=True, type=int, help=t("cli.conv_steps.opt.kernel_size"))
@click.option("--padding", default=0, show_default=True, type=int, help=t("cli.conv_steps.opt.padding"))
@click.option("--stride", default=1, show_default=True, type=int, help=t("cli.conv_steps.opt.stride"))
@click.option("--dilation", default=1, show_default=True, type=int, help=t("cli.conv_steps.opt.dilation"))
@click.option("--bias", default=0.0, show_default=True, type=float, help=t("cli.conv_steps.opt.bias"))
@click.option("--image", "dataset", default=None, metavar="DATASET", help=t("cli.conv_steps.opt.image"))
@click.option("--index", default=0, show_default=True, type=int, help=t("cli.conv_steps.opt.index"))
@click.option("--limit", default=9, show_default=True, type=int, help=t("cli.conv_steps.opt.limit"))
@click.option("--at", nargs=2, type=int, default=None, metavar="I J", help=t("cli.conv_steps.opt.at"))
@lang_option
def conv_steps(
    input_size: int,
    kernel_size: int,
    padding: int,
    stride: int,
    dilation: int,
    bias: float,
    dataset: str | None,
    index: int,
    limit: int,
    at: tuple[int, int] | None,
) -> None:
    from cnnlab.engine import explain
    from cnnlab.errors import ConfigError
    from cnnlab.inspect.shapes import check_positive

    check_positive("--input-size", input_size)
    check_positive("--kernel-size", kernel_size)
    if dataset is None:
        image = explain.default_input(input_size)
        kernel = explain.default_kernel(kernel_size)
    else:
        from cnnlab.data import get_dataset

        ds = get_dataset(dataset, train=False)
        i = ds.check_index(index)
        h, w = ds.images.shape[1:]
        if input_size > min(h, w):
            raise ConfigError("engine.steps.patch_size", size=input_size, h=h, w=w, limit=min(h, w))
        image = explain.centre_patch(ds.images[i], input_size)
        kernel = explain.edge_kernel(kernel_size)
        click.echo(t("engine.steps.image", size=input_size, dataset=ds.name, split=ds.split, index=i,
                     label=ds.classes[int(ds.labels[i])] if len(ds.classes) > int(ds.labels[i]) else int(ds.labels[i])))
        click.echo()
    example = explain.Example(image, kernel, stride, padding, dilation, bias)
    click.echo(explain.render(example, limit=limit, at=tuple(at) if at else None))


commands = [conv_steps]
