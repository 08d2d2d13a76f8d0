"""The websocket route's own failures are logged, not swallowed: the real router and hub, in process."""

import asyncio
import logging
from pathlib import Path

from fastapi import FastAPI
from fastapi.testclient import TestClient

from normscope.api import ws
from normscope.config import Settings
from normscope.realtime import Hub
from normscope.schemas import ExperimentSpec
from normscope.store import Store


def test_a_failing_stream_is_logged_with_its_traceback(tmp_path: Path, caplog):
    app = FastAPI()
    app.include_router(ws.router)
    store = Store(tmp_path / "db.sqlite3")
    store.create("e1", ExperimentSpec())
    app.state.store, app.state.hub = store, Hub()
    app.state.settings = Settings(token="t", data_dir=tmp_path)
    with TestClient(app) as client, client.websocket_connect("/ws/experiments/e1") as socket:
        assert socket.receive_json()["type"] == "hello"
        with caplog.at_level(logging.ERROR, logger="normscope.ws"):
            # a frame the pump cannot read (no step): a bug in the stream, which must show in the log
            client.portal.call(app.state.hub.publish, "e1", '{"type":"frame","runs":[]}', True)
            for _ in range(50):  # a few turns of the loop for the pump to fail
                if caplog.records:
                    break
                client.portal.call(asyncio.sleep, 0.02)
    store.close()
    failures = [r for r in caplog.records if "_pump failed" in r.getMessage()]
    assert failures and failures[0].exc_info[0] is ValueError
