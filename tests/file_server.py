"""A real HTTP server on 127.0.0.1 for download tests: files by path, and files that stop half way."""

import http.server
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field

import pytest


@dataclass
class FileServer:
    """Serves `files` by path; a path in `cut` announces its full length but sends only half of it; one in
    `slow` arrives at about 1 MB/s, as over a hall's network."""

    port: int
    files: dict[str, bytes] = field(default_factory=dict)
    cut: set[str] = field(default_factory=set)
    slow: set[str] = field(default_factory=set)
    requests: list[str] = field(default_factory=list)

    def url(self, path: str = "") -> str:
        return f"http://127.0.0.1:{self.port}/{path}"


@pytest.fixture
def file_server() -> Iterator[FileServer]:
    server: FileServer

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            path = self.path.lstrip("/")
            server.requests.append(path)
            body = server.files.get(path)
            if body is None:
                self.send_error(404)
                return
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            body = body[: len(body) // 2] if path in server.cut else body
            step = 64 * 1024 if path in server.slow else len(body) or 1
            for i in range(0, len(body), step):
                self.wfile.write(body[i : i + step])
                if path in server.slow:
                    time.sleep(0.06)

        def log_message(self, *args: object) -> None:
            pass

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server = FileServer(httpd.server_address[1])
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield server
    httpd.shutdown()
    httpd.server_close()
