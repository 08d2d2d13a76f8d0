"""The lecture hall at scale: N viewers follow the presenter; how long a view change takes to reach them all.

The viewers are websocket clients in separate processes (one Python process cannot drive hundreds of sockets
on two cores without its own backlog dominating), each recording when each view message arrives. The
presenter PUTs a view change every --interval seconds; latency is PUT sent -> message received, for every
viewer and change. Server CPU is read from /proc for the measuring window (the server process only; training
runs in workers) and divided by the view messages delivered: with --pace it includes sending the frames.
Prints one JSON line.

    python bench/follow.py [--viewers 500] [--processes 5] [--changes 20] [--interval 1.0] [--pace 0]

--pace N resumes training at N steps/s (a frame every 10 steps) so frames flow beside the view changes;
0 (the default) keeps the experiment paused, as while a lecturer explains.
"""

import argparse
import asyncio
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import websockets
from measured import cpu_seconds, latency_figures

from normscope.api.launcher import ServerProcess, start_server

TOKEN = "bench-token"
TARGET_P95_MS = 200.0
LAST = 10**9  # replay_step of the closing view: the viewers stop when it arrives
SPEC = {
    "name": "follow bench",
    "model": {"hidden": [32, 32, 32], "activation": "tanh"},
    "batch_size": 32,
    "steps": 200_000,
    "variants": [{"label": "plain"}, {"label": "BN", "norm": "batch"}],
    "probe": {"every": 10, "bins": 32},
}
LAYERS = ["hidden1", "hidden2", "hidden3"]
TAPS = ["preact", "normed", "act"]


async def follow(url: str, received: dict[int, float]) -> None:
    async with websockets.connect(url, compression=None, max_size=None, open_timeout=120) as ws:
        async for text in ws:
            if not text.startswith('{"type":"view"'):
                continue
            at = time.time()
            step = json.loads(text)["replay_step"]
            if step == LAST:
                return
            received[step] = at


async def viewers(url: str, n: int) -> list[dict[int, float]]:
    got: list[dict[int, float]] = [{} for _ in range(n)]
    tasks = [asyncio.create_task(follow(url, got[i])) for i in range(n)]
    await asyncio.sleep(0)
    print("ready", flush=True)  # connecting happens while the others start; the parent waits for hellos
    await asyncio.gather(*tasks)
    return got


def run_viewers(url: str, n: int) -> None:
    got = asyncio.run(viewers(url, n))
    print(json.dumps([{str(k): v for k, v in g.items()} for g in got]), flush=True)


def measure(args: argparse.Namespace) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        server = start_server(Path(tmp) / "data", TOKEN, NORMSCOPE_MAX_CLIENTS=str(args.viewers + 100))
        try:
            return _measure(server, args)
        finally:
            server.stop()


def _measure(server: ServerProcess, args: argparse.Namespace) -> dict:
    c = httpx.Client(base_url=server.url, headers={"Authorization": f"Bearer {TOKEN}"}, timeout=60)
    r = c.post("/api/experiments", json=SPEC)
    r.raise_for_status()
    eid = r.json()["id"]
    while c.get(f"/api/experiments/{eid}").json()["step"] < 20:
        time.sleep(0.05)
    c.post(f"/api/experiments/{eid}/control", json={"action": "pause"})
    url = f"{server.ws_url}/ws/experiments/{eid}"
    per = [
        args.viewers // args.processes + (i < args.viewers % args.processes) for i in range(args.processes)
    ]
    procs = [
        subprocess.Popen(
            [sys.executable, __file__, "--role", "viewers", "--url", url, "--viewers", str(n)],
            stdout=subprocess.PIPE,
            text=True,
        )
        for n in per
    ]
    for p in procs:
        assert p.stdout is not None and p.stdout.readline().strip() == "ready"
    deadline = time.monotonic() + 120
    while c.get("/api/health").json()["viewers"] < args.viewers and time.monotonic() < deadline:
        time.sleep(0.2)
    connected = c.get("/api/health").json()["viewers"]
    if args.pace:
        c.post(f"/api/experiments/{eid}/control", json={"action": "pace", "steps_per_second": args.pace})
        c.post(f"/api/experiments/{eid}/control", json={"action": "resume"})
    time.sleep(1.0)
    sent: dict[int, float] = {}
    cpu0, t0 = cpu_seconds(server.proc.pid), time.monotonic()
    for k in range(1, args.changes + 1):
        view = {"layer": LAYERS[k % 3], "tap": TAPS[k % 3], "chart": "bands", "replay_step": k}
        sent[k] = time.time()
        c.put(f"/api/experiments/{eid}/view", json=view).raise_for_status()
        time.sleep(args.interval)
    cpu = cpu_seconds(server.proc.pid) - cpu0
    window = time.monotonic() - t0
    c.put(f"/api/experiments/{eid}/view", json={"replay_step": LAST}).raise_for_status()
    got = [g for p in procs for g in json.loads(p.communicate(timeout=120)[0].splitlines()[-1])]
    c.post(f"/api/experiments/{eid}/control", json={"action": "cancel"})
    lat = [(g[str(k)] - sent[k]) * 1000 for g in got for k in sent if str(k) in g]
    expected = len(got) * len(sent)
    figures = latency_figures(lat, expected)
    return {
        "bench": "follow",
        "viewers": args.viewers,
        "connected": connected,
        "processes": args.processes,
        "changes": args.changes,
        "pace_steps_per_s": args.pace,
        **figures,
        "server_cpu_core": round(cpu / window, 3),
        "server_cpu_us_per_view_delivered": round(1e6 * cpu / max(1, len(lat)), 1),
        "target_p95_ms": TARGET_P95_MS,
        "met": bool(lat) and figures["p95_ms"] < TARGET_P95_MS and len(lat) == expected,
    }


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--viewers", type=int, default=500)
    p.add_argument("--processes", type=int, default=5, help="viewer processes (the load generators)")
    p.add_argument("--changes", type=int, default=20)
    p.add_argument("--interval", type=float, default=1.0, help="seconds between view changes")
    p.add_argument("--pace", type=float, default=0.0, help="training steps/s meanwhile; 0: paused")
    p.add_argument("--role", choices=["presenter", "viewers"], default="presenter", help=argparse.SUPPRESS)
    p.add_argument("--url", help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.role == "viewers":
        run_viewers(args.url, args.viewers)
        return
    print(json.dumps(measure(args)))


if __name__ == "__main__":
    main()
