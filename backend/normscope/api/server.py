"""`normscope serve`: settings, a presenter token, the startup URLs (the room's per LAN address), uvicorn."""

import logging
import secrets
import sys
from typing import Any

import uvicorn
from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol

from normscope.api.app import create_app
from normscope.api.share import base_url, viewer_urls
from normscope.api.ws import TOO_MANY
from normscope.config import Settings

WS_MAX_BYTES = 64 * 1024  # inbound websocket messages: viewers only ever send tiny pings
WS_CLOSE_TIMEOUT_S = 1.0  # how long a closing handshake waits for the client's reply (the library's: 10 s)


class ViewerProtocol(WebSocketsSansIOProtocol):
    """uvicorn's sans-I/O websockets protocol (the legacy one is deprecated) with a short closing handshake;
    a client closed for flooding (1008) is not read any further: what it sends on costs the loop nothing."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.close_timeout = WS_CLOSE_TIMEOUT_S
        self.flooded = False

    def data_received(self, data: bytes) -> None:
        if self.flooded:  # unparsed: the flood that follows a close costs the loop nothing
            return
        super().data_received(data)

    async def send(self, message: Any) -> None:
        flooding = message["type"] == "websocket.close" and message.get("code") == TOO_MANY[0]
        if flooding:
            self.flooded = True
            self.transport.pause_reading()
        await super().send(message)
        if flooding:  # the close resumes reading, to hear the peer's reply: a flooder's is not awaited
            self.transport.pause_reading()


def serve(host: str | None = None, port: int | None = None) -> int:
    settings = Settings()
    updates: dict = {"token": settings.token or secrets.token_urlsafe(18)}
    if host:
        updates["host"] = host
    if port is not None:
        updates["port"] = port
    settings = settings.model_copy(update=updates)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    room, hint = viewer_urls(settings.host, settings.port)
    local = base_url("127.0.0.1" if settings.host in ("0.0.0.0", "::") else settings.host, settings.port)
    print(f"normscope {'=' * 60}", file=sys.stderr)
    print(f"  presenter: {local}/?token={settings.token}", file=sys.stderr)
    for url in room:
        print(f"  viewers:   {url}/", file=sys.stderr)
    if hint:
        print(f"  viewers:   {local}/ (this machine only: {hint})", file=sys.stderr)
    print(f"  data:      {settings.data_dir.resolve()}", file=sys.stderr)
    print("=" * 70, file=sys.stderr, flush=True)
    try:
        app = create_app(settings)
        uvicorn.run(
            app,
            host=settings.host,
            port=settings.port,
            ws=ViewerProtocol,
            ws_max_size=WS_MAX_BYTES,
            ws_per_message_deflate=False,  # deflate would compress every frame once per viewer: encode once
            log_level="info",
        )
    except RuntimeError as e:
        print(f"normscope serve: {e}", file=sys.stderr)
        return 1
    return 0
