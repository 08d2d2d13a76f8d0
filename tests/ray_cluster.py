"""A real local Ray cluster for each module that needs one (2 CPUs, as the test machine has): the group
executor's tests and the server started with NORMSCOPE_EXECUTOR=ray train on it. Per module, not per
session: an idle cluster takes 0.05 of a core, ~30 CPU-s over the rest of a run, and starting one costs 5."""

from collections.abc import Iterator
from types import ModuleType

import pytest


@pytest.fixture(scope="module")
def ray_cluster() -> Iterator[ModuleType]:
    ray = pytest.importorskip("ray", reason="Ray is the optional extra normscope[ray]")
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, logging_level="WARNING")
    yield ray
    ray.shutdown()
