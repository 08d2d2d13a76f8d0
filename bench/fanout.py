"""Fan-out: N websocket viewers on loopback watching one experiment at 10 frames/s, plus one stalled viewer.

Prints one JSON line: delivered-frame ratio and delivery latency (worker send -> client receive) over the
healthy viewers, server CPU, and the same latency without the stalled viewer for comparison.

--encodings instead compares frames=json with frames=gzip viewers on a deep MLP pair (32 hidden layers, 64
bins: frames of a deep net's size), each on a fresh experiment: bytes a viewer receives per frame, latency
and server CPU."""

import argparse
import asyncio
import gzip
import json
import socket
import statistics
import tempfile
import time
from pathlib import Path

import httpx
import websockets
from measured import cpu_seconds

from normscope.api.launcher import start_server
from normscope.lessons import builtin_lesson
from normscope.schemas import ExperimentSpec

TOKEN = "bench-token"
TARGETS = {"delivered_min": 0.99, "p95_ms_max_at_200": 100.0}


def _head(text: str) -> tuple[int, float] | None:
    """(step, sent_at) from a frame's first bytes, without decoding the rest."""
    if not text.startswith('{"type":"frame"'):
        return None
    head = json.loads(text[: text.index(',"elapsed"')] + "}")
    return head["step"], head["sent_at"]


async def viewer(
    url: str, start: float, end: float, latencies: list[float], steps: set[int], sizes: list[int]
) -> None:
    """Counts live frames sent between the wall-clock times start and end (and the bytes each took)."""
    async with websockets.connect(url, compression=None, max_size=None, open_timeout=60) as ws:
        end_mono = time.monotonic() + (end - time.time())
        while (left := end_mono - time.monotonic()) > 0:
            try:
                msg = await asyncio.wait_for(ws.recv(), left)
            except TimeoutError:
                return
            head = _head(
                gzip.decompress(msg)[:200].decode("utf-8", "replace") if isinstance(msg, bytes) else msg
            )
            if head is not None and start <= head[1] <= end:  # the measuring window only
                steps.add(head[0])
                latencies.append(time.time() - head[1])
                sizes.append(len(msg))


async def stalled(url: str, seconds: float) -> None:
    """Connects and never reads: TCP backs up, the server must drop its frames and not slow the rest."""
    sock = socket.socket()
    sock.setsockopt(
        socket.SOL_SOCKET, socket.SO_RCVBUF, 4096
    )  # tiny window: backpressure within a frame or two
    sock.setblocking(False)
    host, port = url.split("//")[1].split("/")[0].split(":")
    await asyncio.get_running_loop().sock_connect(sock, (host, int(port)))
    async with websockets.connect(
        url, sock=sock, compression=None, max_size=None, max_queue=1, open_timeout=60
    ):
        await asyncio.sleep(seconds)


async def measure(
    base: str, eid: str, n: int, seconds: float, stall_lead: float | None, pid: int, frames: str = "json"
) -> dict:
    """All viewers connect at once; with stall_lead a stalled viewer joins them and the measuring window
    opens stall_lead seconds later, when the kernel's socket buffers for it (up to 4 MB here) are full and
    the server's own queue for it is dropping frames."""
    url = f"{base.replace('http', 'ws')}/ws/experiments/{eid}?frames={frames}"
    lat: list[list[float]] = [[] for _ in range(n)]
    seen: list[set[int]] = [set() for _ in range(n)]
    sizes: list[int] = []
    lead = stall_lead or 3.0
    start = time.time() + lead
    end = start + seconds
    stall = asyncio.create_task(stalled(url, lead + seconds + 5)) if stall_lead is not None else None
    viewers = asyncio.gather(*(viewer(url, start, end, lat[i], seen[i], sizes) for i in range(n)))
    await asyncio.sleep(lead)
    cpu0, t0 = cpu_seconds(pid), time.monotonic()
    await viewers
    cpu = (cpu_seconds(pid) - cpu0) / (time.monotonic() - t0)
    if stall is not None:
        stall.cancel()
        await asyncio.gather(stall, return_exceptions=True)
    async with httpx.AsyncClient(base_url=base) as c:
        frames = (await c.get(f"/api/experiments/{eid}/frames", params={"limit": 5000})).json()
    published = {f["step"] for f in frames if start <= f["sent_at"] <= end}
    delivered = [len(s & published) / len(published) for s in seen]
    flat = sorted(x for xs in lat for x in xs)

    def pct(p: float) -> float:
        return round(flat[min(len(flat) - 1, int(p * len(flat)))] * 1e3, 2)

    return {
        "viewers": n,
        "stalled_viewer": stall_lead is not None,
        "frames_published": len(published),
        "delivered_ratio_min": round(min(delivered), 4),
        "delivered_ratio_mean": round(statistics.mean(delivered), 4),
        "latency_ms": {"p50": pct(0.5), "p95": pct(0.95), "p99": pct(0.99)},
        "server_cpu": round(cpu, 3),
        "bytes_per_frame": round(statistics.mean(sizes)) if sizes else None,
        "server_cpu_ms_per_delivery": round(cpu * seconds / max(len(flat), 1) * 1e3, 3),
    }


def launch(base: str, spec: ExperimentSpec) -> str:
    with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {TOKEN}"}) as c:
        eid = c.post("/api/experiments", json=spec.model_dump()).json()["id"]
    launch_control(base, eid, {"action": "pace", "steps_per_second": 100})  # every=10: 10 frames/s
    return eid


def launch_control(base: str, eid: str, body: dict) -> None:
    with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {TOKEN}"}) as c:
        c.post(f"/api/experiments/{eid}/control", json=body).raise_for_status()


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--clients", type=int, default=200)
    p.add_argument("--seconds", type=float, default=15)
    p.add_argument("--stall-lead", type=float, default=30, help="seconds the stalled viewer is in before")
    p.add_argument("--encodings", action="store_true", help="frames=json vs frames=gzip on deep-net frames")
    args = p.parse_args()
    if args.encodings:
        print(json.dumps(compare_encodings(args.clients, args.seconds)))
        return
    spec = builtin_lesson("ioffe-szegedy").spec.model_copy(deep=True)
    spec.steps = 200_000  # 20,000 frames, the most an experiment keeps: far more than the bench watches
    spec.probe.every = 10
    with tempfile.TemporaryDirectory() as tmp:
        server = start_server(
            Path(tmp) / "data",
            TOKEN,
            NORMSCOPE_MAX_CLIENTS=str(args.clients + 10),
            NORMSCOPE_TORCH_THREADS="1",
        )
        try:
            runs = {}
            for stalled_too in (True, False):  # each on a fresh experiment: no history to send first
                eid = launch(server.url, spec)
                time.sleep(1.5)
                lead = args.stall_lead if stalled_too else None
                runs[stalled_too] = asyncio.run(
                    measure(server.url, eid, args.clients, args.seconds, lead, server.proc.pid)
                )
                launch_control(server.url, eid, {"action": "cancel"})
            stalled_run, baseline = runs[True], runs[False]
        finally:
            server.stop()
            drops = server.log.read_text().count("too slow for the stream")
    result = {
        "bench": "fanout",
        "frames_per_second": 10,
        "targets": TARGETS,
        "slow_viewers_dropped_frames": drops,
        "with_stalled": stalled_run,
        "without_stalled": baseline,
        "meets": {
            "delivered": stalled_run["delivered_ratio_min"] >= TARGETS["delivered_min"],
            "p95": stalled_run["latency_ms"]["p95"] < TARGETS["p95_ms_max_at_200"],
        },
    }
    print(json.dumps(result))


def compare_encodings(clients: int, seconds: float) -> dict:
    spec = builtin_lesson("ioffe-szegedy").spec.model_copy(deep=True)
    spec.model.hidden, spec.model.activation = [64] * 32, "relu"
    spec.steps, spec.probe.every, spec.probe.bins = 200_000, 10, 64
    with tempfile.TemporaryDirectory() as tmp:
        server = start_server(
            Path(tmp) / "data", TOKEN, NORMSCOPE_MAX_CLIENTS=str(clients + 10), NORMSCOPE_TORCH_THREADS="1"
        )
        try:
            out = {}
            for frames in ("json", "gzip"):
                eid = launch(server.url, spec)
                time.sleep(1.5)
                out[frames] = asyncio.run(
                    measure(server.url, eid, clients, seconds, None, server.proc.pid, frames)
                )
                launch_control(server.url, eid, {"action": "cancel"})
        finally:
            server.stop()
    return {"bench": "fanout-encodings", "frames_per_second": 10, "viewers": clients, **out}


if __name__ == "__main__":
    main()
