"""Websocket /ws/experiments/{id}: hello, then history, then live frames and status from the Hub.

With `?frames=gzip` frames come as binary messages, the frame's JSON gzipped (a third of the bytes for a deep
net, compressed once for all such viewers); every other message stays JSON text, and so may a frame published
as the viewer joined: such a client reads both."""

import asyncio
import json
import logging
import time
from urllib.parse import urlsplit

from fastapi import APIRouter, WebSocket, WebSocketDisconnect
from starlette.websockets import WebSocketState

from normscope.realtime import GzipCache, HubFull, Subscriber
from normscope.schemas import ErrorMessage, HelloMessage
from normscope.store import Store

router = APIRouter()
log = logging.getLogger("normscope.ws")
MAX_CLIENT_MESSAGE = 4096
PONG = json.dumps({"type": "pong"})
# A viewer pings every 20 s; one that sends faster than this for long is closed (1008) before it costs the
# server's loop the time the other viewers need: a burst of BURST messages, then RATE a second.
MESSAGE_BURST = 20
MESSAGE_RATE = 2.0
TOO_MANY = (1008, "too many messages: a viewer sends one ping every few seconds")
CLOSE_WAIT_S = 5.0
FRAME_ENCODINGS = ("json", "gzip")
HISTORY_BATCH = 32
# What only the presenter may do goes over REST with the token; a viewer's socket never broadcasts anything.
PRESENTER_ONLY = {
    "view": "only the presenter sets the room's view: PUT /api/experiments/{id}/view with the token",
    "mark": "only the presenter drops marks: POST /api/experiments/{id}/marks with the token",
    "unmark": "only the presenter removes marks: DELETE /api/experiments/{id}/marks/{mark} with the token",
    "room": "only the presenter moves the room: PUT /api/room with the token",
}


def origin_allowed(ws: WebSocket) -> bool:
    """Browsers send Origin; it must name this server. Non-browser clients send none and are let in."""
    origin = ws.headers.get("origin")
    if origin is None:
        return True
    return urlsplit(origin).netloc.lower() == ws.headers.get("host", "").lower()


def downsample(steps: list[int], limit: int) -> list[int]:
    if len(steps) <= limit:
        return steps
    picks = {steps[round(i * (len(steps) - 1) / (limit - 1))] for i in range(limit)}
    return sorted(picks)


FRAME_PREFIX = '{"type":"frame",'


def step_of(text: str) -> int:
    """The step of an encoded frame without decoding all of it: frames start {"type":"frame","step":N,."""
    head = text[:64]
    i = head.index('"step":') + 7
    return int(head[i : head.index(",", i)])


@router.websocket("/ws/experiments/{experiment_id}")
async def experiment_socket(ws: WebSocket, experiment_id: str) -> None:
    app = ws.app
    if not origin_allowed(ws):
        await ws.close(code=1008, reason="origin not allowed")
        return
    encoding = ws.query_params.get("frames", "json")
    if encoding not in FRAME_ENCODINGS:
        await ws.accept()
        detail = f"frames={encoding!r} is not an encoding; use frames=json (the default) or frames=gzip"
        await ws.send_text(ErrorMessage(detail=detail).model_dump_json())
        await ws.close(code=4400, reason="unknown frame encoding")
        return
    hub = app.state.hub
    gzipped = hub.gzipped if encoding == "gzip" else None
    try:
        # joined before the first await, so viewers connecting at the same moment cannot pass the limit
        async with hub.subscribe(experiment_id, app.state.settings.max_clients, gzipped is not None) as sub:
            await _serve(ws, sub, app.state.store, experiment_id, app.state.settings.history_limit, gzipped)
    except HubFull:
        await ws.close(code=1013, reason="too many viewers; try again later")


async def _serve(
    ws: WebSocket, sub: Subscriber, store: Store, experiment_id: str, history: int, gzipped: GzipCache | None
) -> None:
    await ws.accept()
    experiment = store.get(experiment_id)
    if experiment is None:
        await ws.send_text(ErrorMessage(detail=f"no experiment {experiment_id!r}").model_dump_json())
        await ws.close(code=4404)
        return
    hello = HelloMessage(
        experiment=experiment,
        layers=store.layers(experiment_id),
        view=store.view(experiment_id),
        marks=store.marks(experiment_id),
    )
    try:
        await ws.send_text(hello.model_dump_json())
        last = await _send_history(ws, store, experiment_id, history, gzipped)
    except (WebSocketDisconnect, OSError):
        return  # gone while the history went out
    await stream_live(ws, sub, last, f"viewer of {experiment_id}")


async def stream_live(ws: WebSocket, sub: Subscriber, last: int, who: str) -> None:
    """What the hub publishes goes out while the client's pings are answered, until either side ends."""
    sender = asyncio.create_task(_pump(ws, sub, last))
    receiver = asyncio.create_task(_receive(ws, sub))
    done, pending = await asyncio.wait({sender, receiver}, return_when=asyncio.FIRST_COMPLETED)
    if receiver in done and not receiver.exception() and receiver.result():
        # the receiver queued a close: the sender delivers it, unless the client does not read at all
        done, pending = await asyncio.wait({sender, receiver}, timeout=CLOSE_WAIT_S)
    for task in pending:
        task.cancel()
    await asyncio.gather(*pending, return_exceptions=True)
    for task in done:
        error = task.exception()
        if error is not None and not _disconnected(ws, error):
            log.error("%s: %s failed", who, task.get_coro().__name__, exc_info=error)


def _disconnected(ws: WebSocket, error: BaseException) -> bool:
    """The client left (or the socket closed under a send): the normal end of a stream, not a bug."""
    if isinstance(error, WebSocketDisconnect | OSError):
        return True
    gone = WebSocketState.DISCONNECTED
    return isinstance(error, RuntimeError) and gone in (ws.client_state, ws.application_state)


async def _send_history(
    ws: WebSocket, store: Store, experiment_id: str, limit: int, gzipped: GzipCache | None
) -> int:
    steps = await asyncio.to_thread(store.frame_steps, experiment_id)
    picked = downsample(steps, limit)
    if len(picked) < len(steps):  # thinned: the frames that mark a learning-rate change stay in it
        kept = await asyncio.to_thread(store.kept_steps, experiment_id)
        picked = sorted(set(picked).union(kept[-limit:]))
    bodies = await asyncio.to_thread(store.frames_at, experiment_id, picked)
    if gzipped is None:
        for body in bodies:
            await ws.send_text(body)
    else:
        for i in range(0, len(bodies), HISTORY_BATCH):  # compressed off the loop, a batch at a time
            part = slice(i, i + HISTORY_BATCH)
            blobs = await asyncio.to_thread(_gzip_all, gzipped, experiment_id, picked[part], bodies[part])
            for blob in blobs:
                await ws.send_bytes(blob)
    return picked[-1] if picked else -1


def _gzip_all(gzipped: GzipCache, experiment_id: str, steps: list[int], bodies: list[str]) -> list[bytes]:
    return [gzipped.get(experiment_id, step, body) for step, body in zip(steps, bodies, strict=True)]


async def _pump(ws: WebSocket, sub: Subscriber, last_step: int) -> None:
    """The one task that writes to the socket: queued frames, statuses and replies, then a close if asked."""
    while True:
        msg = await sub.get()
        if msg.close is not None:
            await ws.close(code=msg.close[0], reason=msg.close[1])
            return
        if msg.droppable and msg.text.startswith(FRAME_PREFIX) and step_of(msg.text) <= last_step:
            continue  # already sent as history (download progress is droppable too, and has no step)
        if sub.gzip and msg.gz is not None:
            await ws.send_bytes(msg.gz)
        else:
            await ws.send_text(msg.text)


async def _receive(ws: WebSocket, sub: Subscriber) -> bool:
    """Viewers may send {"type": "ping"}; anything else gets an error message and the connection stays.
    At most one reply of each kind waits to be sent; a client past the message rate is closed (True)."""
    allowance, last = float(MESSAGE_BURST), time.monotonic()
    while True:
        event = await ws.receive()
        if event["type"] == "websocket.disconnect":
            return False
        now = time.monotonic()
        allowance = min(MESSAGE_BURST, allowance + (now - last) * MESSAGE_RATE) - 1
        last = now
        if allowance < 0:
            sub.close(*TOO_MANY)
            return True
        kind, reply = _answer(event.get("text"))
        sub.reply(kind, reply)


def _answer(text: str | None) -> tuple[str, str]:
    """(kind, reply) for one client message."""
    if text is None:
        return "error", ErrorMessage(
            detail="binary messages are not accepted; send JSON text"
        ).model_dump_json()
    if len(text) > MAX_CLIENT_MESSAGE:
        return "error", ErrorMessage(
            detail=f"message longer than {MAX_CLIENT_MESSAGE} characters"
        ).model_dump_json()
    try:
        data = json.loads(text)
    except json.JSONDecodeError:
        return "error", ErrorMessage(detail="messages must be JSON objects").model_dump_json()
    if isinstance(data, dict) and data.get("type") in PRESENTER_ONLY:
        return "error", ErrorMessage(detail=PRESENTER_ONLY[data["type"]]).model_dump_json()
    if not isinstance(data, dict) or data.get("type") != "ping":
        return "error", ErrorMessage(
            detail='unknown message; the only client message is {"type": "ping"}'
        ).model_dump_json()
    return "pong", PONG
