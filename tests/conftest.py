import pytest

from tests.file_server import file_server  # noqa: F401 - a fixture for every test package
from tests.ray_cluster import ray_cluster  # noqa: F401


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Browser tests last: Playwright's sync API keeps an event loop running in the main thread for the
    rest of the session, and tests that call asyncio.run() must not come after it."""
    items.sort(key=lambda item: "/tests/e2e/" in str(item.path))
