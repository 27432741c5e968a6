"""Engine tests run single-threaded: on a shared 2-core machine a multi-threaded BLAS (and torch's
intra-op pool) oversubscribed by neighbours slows small GEMMs by up to 50×; results don't change."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import torch
from threadpoolctl import threadpool_limits


@pytest.fixture(autouse=True, scope="package")
def _single_thread() -> Iterator[None]:
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    with threadpool_limits(limits=1, user_api="blas"):
        yield
    torch.set_num_threads(before)
