"""Websocket /ws/experiments/{id}: hello, then history, then live frames and status from the Hub."""

import asyncio
import json
from urllib.parse import urlsplit

from fastapi import APIRouter, WebSocket, WebSocketDisconnect

from normscope.realtime import Message, Subscriber
from normscope.schemas import ErrorMessage, HelloMessage
from normscope.store import Store

router = APIRouter()
MAX_CLIENT_MESSAGE = 4096
PONG = json.dumps({"type": "pong"})


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
    if app.state.hub.subscriber_count() >= app.state.settings.max_clients:
        await ws.close(code=1013, reason="too many viewers; try again later")
        return
    store = app.state.store
    experiment = store.get(experiment_id)
    await ws.accept()
    if experiment is None:
        await ws.send_text(ErrorMessage(detail=f"no experiment {experiment_id!r}").model_dump_json())
        await ws.close(code=4404)
        return
    async with app.state.hub.subscribe(experiment_id) as sub:  # before reading history: nothing falls between
        hello = HelloMessage(experiment=experiment, layers=store.layers(experiment_id))
        try:
            await ws.send_text(hello.model_dump_json())
            last = await _send_history(ws, store, experiment_id, app.state.settings.history_limit)
            sender = asyncio.create_task(_pump(ws, sub, last))
            receiver = asyncio.create_task(_receive(ws, sub))
            done, pending = await asyncio.wait({sender, receiver}, return_when=asyncio.FIRST_COMPLETED)
            for task in pending:
                task.cancel()
            await asyncio.gather(*pending, return_exceptions=True)
            for task in done:
                task.exception()  # retrieved so a disconnect is not logged as unhandled
        except (WebSocketDisconnect, RuntimeError):
            pass


async def _send_history(ws: WebSocket, store: Store, experiment_id: str, limit: int) -> int:
    steps = await asyncio.to_thread(store.frame_steps, experiment_id)
    picked = downsample(steps, limit)
    bodies = await asyncio.to_thread(store.frames_at, experiment_id, picked)
    for body in bodies:
        await ws.send_text(body)
    return picked[-1] if picked else -1


async def _pump(ws: WebSocket, sub: Subscriber, last_step: int) -> None:
    while True:
        msg = await sub.get()
        if msg.droppable and step_of(msg.text) <= last_step:
            continue  # already sent as history
        await ws.send_text(msg.text)


async def _receive(ws: WebSocket, sub: Subscriber) -> None:
    """Viewers may send {"type": "ping"}; anything else gets an error message and the connection stays."""
    while True:
        event = await ws.receive()
        if event["type"] == "websocket.disconnect":
            return
        text = event.get("text")
        reply = _answer(text)
        sub.put(Message(reply, droppable=False))  # through the queue: one task writes to the socket


def _answer(text: str | None) -> str:
    if text is None:
        return ErrorMessage(detail="binary messages are not accepted; send JSON text").model_dump_json()
    if len(text) > MAX_CLIENT_MESSAGE:
        return ErrorMessage(detail=f"message longer than {MAX_CLIENT_MESSAGE} characters").model_dump_json()
    try:
        data = json.loads(text)
    except json.JSONDecodeError:
        return ErrorMessage(detail="messages must be JSON objects").model_dump_json()
    if not isinstance(data, dict) or data.get("type") != "ping":
        return ErrorMessage(
            detail='unknown message; the only client message is {"type": "ping"}'
        ).model_dump_json()
    return PONG
