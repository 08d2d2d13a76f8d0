import fcntl
import os
from collections.abc import Iterator

import pytest

from tests.file_server import file_server  # noqa: F401 - a fixture for every test package
from tests.ray_cluster import ray_cluster  # noqa: F401


def pytest_configure(config: pytest.Config) -> None:
    """One torch thread in every test process and the processes they start (set before any test module
    imports torch): on two cores shared by two workers, a second thread spins while its neighbour holds the
    core (a unit test took 43 CPU-s on two threads, 26 on one), and one thread sums floats in the same
    order on every machine, whatever its core count."""
    os.environ.setdefault("OMP_NUM_THREADS", "1")


@pytest.hookimpl(tryfirst=True)  # before xdist reads the groups from the markers
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Browser tests last: Playwright's sync API keeps an event loop running in the main thread for the
    rest of the session, and tests that call asyncio.run() must not come after it. Under xdist, the tests
    on a Ray cluster go to one worker, which starts each module's cluster in turn, and so do the tests of a
    module that shares a module-scoped fixture (a built wheel, a trained experiment): it is made once."""
    items.sort(key=lambda item: "/tests/e2e/" in str(item.path))
    for item in items:
        info = getattr(item, "_fixtureinfo", None)
        defs = info.name2fixturedefs.values() if info else ()
        if "ray_cluster" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.xdist_group("ray"))
        elif any(d[-1].scope == "module" for d in defs):
            item.add_marker(pytest.mark.xdist_group(item.module.__name__))


@pytest.fixture(autouse=True)
def alone_or_together(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[None]:
    """Under xdist, a test marked `alone` (it times the server or the page against a bound) waits until no
    other worker runs a test, and holds the others off until it ends; other tests run side by side.
    A readers-writer lock on files shared by the workers; the gate gives a waiting `alone` test priority."""
    if "PYTEST_XDIST_WORKER" not in os.environ:
        yield
        return
    shared = tmp_path_factory.getbasetemp().parent  # the run's folder, above each worker's own
    alone = request.node.get_closest_marker("alone") is not None
    with (shared / "gate.lock").open("a") as gate, (shared / "tests.lock").open("a") as tests:
        fcntl.flock(gate, fcntl.LOCK_EX)
        fcntl.flock(tests, fcntl.LOCK_EX if alone else fcntl.LOCK_SH)
        fcntl.flock(gate, fcntl.LOCK_UN)
        try:
            yield
        finally:
            fcntl.flock(tests, fcntl.LOCK_UN)
