"""One torch thread for these tests: small tensors gain nothing from two, and on a busy 2-core machine
OpenMP threads that spin-wait on each other make tests many times slower."""

from __future__ import annotations

import pytest
import torch


@pytest.fixture(autouse=True)
def _one_thread():
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
