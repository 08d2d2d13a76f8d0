"""Websocket /ws/experiments/{id}/ingest: a `normscope.watch` client uploads its frames with the presenter
token; the presenter's controls go back to it on the same socket."""

import asyncio
import logging
import secrets

from fastapi import APIRouter, WebSocket

from normscope.api.ws import origin_allowed
from normscope.jobs.external import ExternalLink, Refused
from normscope.jobs.manager import ControlError, JobManager
from normscope.schemas import ErrorMessage

router = APIRouter()
log = logging.getLogger("normscope.ingest")
MAX_REASON = 120  # a websocket close reason holds at most 123 bytes


@router.websocket("/ws/experiments/{experiment_id}/ingest")
async def ingest_socket(ws: WebSocket, experiment_id: str) -> None:
    await ws.accept()  # then closed with a code and a reason the client can show
    if not origin_allowed(ws):
        await ws.close(code=1008, reason="origin not allowed")
        return
    if (refusal := _token_refusal(ws)) is not None:
        await ws.close(*refusal)
        return
    manager: JobManager = ws.app.state.manager
    try:
        link = manager.connect_external(experiment_id)
    except KeyError:
        await ws.close(code=4404, reason=f"no experiment {experiment_id!r}")
        return
    except ControlError as e:
        await ws.close(code=4409, reason=str(e)[:MAX_REASON])
        return
    try:
        sender = asyncio.create_task(_send(ws, link))
        receiver = asyncio.create_task(_receive(ws, link, manager))
        done, pending = await asyncio.wait({sender, receiver}, return_when=asyncio.FIRST_COMPLETED)
        if receiver in done and sender not in done:  # the client ended: the close waits in the outbox
            done, pending = await asyncio.wait({sender}, timeout=5.0)
        for task in pending:
            task.cancel()
        await asyncio.gather(*pending, return_exceptions=True)
    finally:
        manager.disconnect_external(link)


def _token_refusal(ws: WebSocket) -> tuple[int, str] | None:
    scheme, _, token = ws.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token:
        return 4401, "presenter token required: send 'Authorization: Bearer <token>'"
    expected = ws.app.state.settings.token
    if not secrets.compare_digest(token.encode(), expected.encode()):
        return 4403, "wrong presenter token"
    return None


async def _send(ws: WebSocket, link: ExternalLink) -> None:
    """The one writer: controls and refusals in order, then the close when one is queued."""
    while True:
        item = await link.outbox.get()
        if isinstance(item, tuple):
            await ws.close(code=item[0], reason=item[1][:MAX_REASON])
            return
        await ws.send_text(item)


async def _receive(ws: WebSocket, link: ExternalLink, manager: JobManager) -> None:
    """Each upload is checked and stored off the loop, in order; an end message closes the socket."""
    while True:
        event = await ws.receive()
        if event["type"] == "websocket.disconnect":
            return
        text = event.get("text")
        try:
            if text is None:
                raise Refused("binary messages are not accepted; send JSON text")
            await asyncio.to_thread(link.handle, text, manager)
        except Refused as e:
            log.warning("experiment %s: refused an upload: %s", link.experiment.id, e)
            if not link.outbox.full():
                link.outbox.put_nowait(ErrorMessage(detail=str(e)).model_dump_json())
            continue
        if link.end is not None:
            link.close(1000, f"experiment {link.end[0]}")
            return
