"""Where a watch session's messages go: the server (REST to create the experiment, then its ingest websocket,
which also brings the presenter's controls back) or a JSON-lines file. Only the session's sender thread
sends; the server link reads controls on a thread of its own, so nothing here runs on the training loop."""

import json
import threading
import urllib.error
import urllib.request
import warnings
from collections.abc import Callable
from contextlib import ExitStack
from pathlib import Path
from typing import IO, Protocol
from urllib.parse import urlsplit

from websockets.exceptions import ConnectionClosed, WebSocketException
from websockets.sync.client import ClientConnection, connect

from normscope.schemas import ControlMessage, ExperimentSpec

CONNECT_TIMEOUT_S = 10.0


class WatchError(Exception):
    """watch() could not start: the server cannot be reached, refused the token, or refused the spec."""


class Outlet(Protocol):
    alive: bool

    def open(self, spec: ExperimentSpec) -> None: ...
    def send(self, text: str) -> None: ...
    def close(self) -> None: ...


class FileOutlet:
    """The same JSON lines as `normscope train --out`: the experiment, the layers, then one frame a line."""

    alive = True

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._file: IO[str] | None = None

    def open(self, spec: ExperimentSpec) -> None:
        self._file = self.path.open("w")
        self._file.write(json.dumps({"type": "experiment", "spec": spec.model_dump()}) + "\n")

    def send(self, text: str) -> None:
        if self._file is not None and not text.startswith(('{"type":"status"', '{"type":"end"')):
            self._file.write(text + "\n")

    def close(self) -> None:
        if self._file is not None:
            self._file.close()


class ServerOutlet:
    """An external experiment on a normscope server. A server that goes away is warned about once; from then
    on messages are dropped and training goes on."""

    def __init__(
        self,
        server: str,
        token: str,
        on_control: Callable[[ControlMessage], None],
        on_lost: Callable[[], None],
    ) -> None:
        self.server, self.token = server.rstrip("/"), token
        self.on_control, self.on_lost = on_control, on_lost
        self.experiment_id: str | None = None
        self.alive = False
        self._conn: ClientConnection | None = None
        self._stack = ExitStack()  # the connection as its own context manager, closed by close()

    @property
    def url(self) -> str:
        return f"{self.server}/experiments/{self.experiment_id}"

    def open(self, spec: ExperimentSpec) -> None:
        created = self._post("/api/experiments", spec.model_dump_json(exclude_none=True))
        self.experiment_id = created["id"]
        parts = urlsplit(self.server)
        scheme = "wss" if parts.scheme == "https" else "ws"
        ws_url = f"{scheme}://{parts.netloc}{parts.path}/ws/experiments/{self.experiment_id}/ingest"
        try:
            self._conn = self._stack.enter_context(
                connect(
                    ws_url,
                    additional_headers={"Authorization": f"Bearer {self.token}"},
                    open_timeout=CONNECT_TIMEOUT_S,
                    max_size=2**20,
                )
            )
        except (OSError, WebSocketException) as e:
            raise WatchError(f"could not open the upload socket {ws_url}: {e}") from None
        self.alive = True
        threading.Thread(target=self._read, name="normscope-watch-controls", daemon=True).start()

    def _post(self, path: str, body: str) -> dict:
        request = urllib.request.Request(
            self.server + path,
            data=body.encode(),
            headers={"Content-Type": "application/json", "Authorization": f"Bearer {self.token}"},
        )
        try:
            with urllib.request.urlopen(request, timeout=CONNECT_TIMEOUT_S) as response:
                return json.loads(response.read())
        except urllib.error.HTTPError as e:
            detail = e.read().decode(errors="replace")
            raise WatchError(f"{self.server} refused the experiment ({e.code}): {detail}") from None
        except (urllib.error.URLError, OSError) as e:
            raise WatchError(f"cannot reach the normscope server at {self.server}: {e}") from None

    def _read(self) -> None:
        assert self._conn is not None
        try:
            for text in self._conn:
                msg = json.loads(text)
                if msg.get("type") == "control":
                    self.on_control(ControlMessage.model_validate(msg))
                elif msg.get("type") == "error":
                    warnings.warn(
                        f"normscope: the server refused an upload: {msg.get('detail')}", stacklevel=1
                    )
        except ConnectionClosed as e:
            self._lost(e)

    def _lost(self, closed: ConnectionClosed | None) -> None:
        if not self.alive:
            return
        self.alive = False
        rcvd = closed.rcvd if closed is not None else None
        if rcvd is None or rcvd.code != 1000:
            why = f"{rcvd.code} {rcvd.reason}" if rcvd is not None else "the connection dropped"
            warnings.warn(
                f"normscope: lost the server {self.server} ({why}); training goes on, frames are dropped",
                stacklevel=1,
            )
        self.on_lost()

    def send(self, text: str) -> None:
        if not self.alive or self._conn is None:
            return
        try:
            self._conn.send(text)
        except ConnectionClosed as e:
            self._lost(e)
        except OSError:
            self._lost(None)

    def close(self) -> None:
        self.alive = False
        self._stack.close()
