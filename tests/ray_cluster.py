"""A real local Ray cluster for the session (2 CPUs, as the test machine has): the group executor's tests
and the server started with NORMSCOPE_EXECUTOR=ray train on it."""

from collections.abc import Iterator
from types import ModuleType

import pytest


@pytest.fixture(scope="session")
def ray_cluster() -> Iterator[ModuleType]:
    ray = pytest.importorskip("ray", reason="Ray is the optional extra normscope[ray]")
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, logging_level="WARNING")
    yield ray
    ray.shutdown()
