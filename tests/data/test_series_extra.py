"""Without the ``series`` extra: a clear DataError naming the package and the install command."""

from __future__ import annotations

import sys

import pytest

from cnnlab.data import get_dataset
from cnnlab.errors import DataError


@pytest.mark.parametrize(
    ("name", "module", "package"),
    [("ucr:GunPoint", "aeon.datasets", "aeon"), ("mnist1d", "mnist1d.data", "mnist1d")],
)
def test_missing_package_names_the_extra(
    name: str, module: str, package: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # None in sys.modules makes `import` raise ImportError, as when the package is not installed
    monkeypatch.setitem(sys.modules, module.split(".")[0], None)
    monkeypatch.setitem(sys.modules, module, None)
    pattern = rf"needs the Python package {package}.*pip install \"cnnlab\[series\]\""
    with pytest.raises(DataError, match=pattern):
        get_dataset(name)
