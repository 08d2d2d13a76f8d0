"""The room at scale: N followers of /ws/room; how long the presenter's move to another experiment takes to
reach them all, and what playing a recording costs the server.

Followers are websocket clients in separate processes (one Python process cannot drive hundreds of sockets
on two cores without its own backlog dominating), each noting when each room message arrives. The presenter
PUTs /api/room every --interval seconds, alternating between two experiments; latency is PUT sent -> message
received, for every follower and move. Then a tiny lesson recorded on the CPU (`normscope record`) is played
at 10 frames/s with nobody watching, and the server process's CPU over that window, less its idle CPU, is
the player's cost (its thread, with the store's writes and the hub's publish). Prints one JSON line.

    python bench/room.py [--followers 500] [--processes 5] [--moves 20] [--interval 1.0] [--play-s 10]
"""

import argparse
import asyncio
import json
import os
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
TARGET_PLAYER_CORE = 0.05
FRAMES_PER_S = 10
EVERY = 10
LESSON = f"""title = "Played at 10 frames/s"
summary = "The room bench's recording: a 3x100 net, a frame every {EVERY} steps."

[spec]
name = "room bench"
steps = 1500
pace = {FRAMES_PER_S * EVERY}
batch_size = 60
model = {{ hidden = [100, 100, 100], activation = "sigmoid" }}
variants = [{{ label = "plain" }}, {{ label = "BN", norm = "batch" }}]
probe = {{ every = {EVERY}, eval_every = 5 }}
"""
SPEC = {"name": "room bench", "model": {"hidden": [16, 12]}, "steps": 20, "probe": {"every": 10}}


async def follow(url: str, got: list[tuple[str, float]], end: str) -> None:
    async with websockets.connect(url, compression=None, open_timeout=120) as ws:
        first = True
        async for text in ws:
            at = time.time()
            shown = json.loads(text)["experiment"]
            if first:  # what is shown on connect: not a move
                first = False
                continue
            if shown == end:
                return
            got.append((shown, at))


async def followers(url: str, n: int, end: str) -> list[list[tuple[str, float]]]:
    got: list[list[tuple[str, float]]] = [[] for _ in range(n)]
    tasks = [asyncio.create_task(follow(url, got[i], end)) for i in range(n)]
    await asyncio.sleep(0)
    print("ready", flush=True)
    await asyncio.gather(*tasks)
    return got


def run_followers(url: str, n: int, end: str) -> None:
    print(json.dumps(asyncio.run(followers(url, n, end))), flush=True)


def record(data: Path) -> None:
    (data / "lessons").mkdir(parents=True, exist_ok=True)
    (data / "lessons" / "played.toml").write_text(LESSON)
    env = {**os.environ, "NORMSCOPE_DATA_DIR": str(data), "NORMSCOPE_TORCH_THREADS": "1"}
    cmd = [sys.executable, "-m", "normscope", "record", "played", "--device", "cpu", "--quiet"]
    subprocess.run(cmd, env=env, check=True, timeout=600, stdout=subprocess.DEVNULL)  # one JSON line out


def measure(args: argparse.Namespace) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "data"
        record(data)
        server = start_server(data, TOKEN, NORMSCOPE_MAX_CLIENTS=str(args.followers + 100))
        try:
            return {**_moves(server, args), **_player(server, args)}
        finally:
            server.stop()


def _moves(server: ServerProcess, args: argparse.Namespace) -> dict:
    c = httpx.Client(base_url=server.url, headers={"Authorization": f"Bearer {TOKEN}"}, timeout=60)
    a, b, end = (c.post("/api/experiments", json=SPEC).json()["id"] for _ in range(3))
    while any(c.get(f"/api/experiments/{e}").json()["status"] != "done" for e in (a, b, end)):
        time.sleep(0.2)
    time.sleep(5.0)  # the workers' replacements import torch now, not while the room moves
    c.put("/api/room", json={"experiment_id": end}).raise_for_status()
    url = f"{server.ws_url}/ws/room"
    per = [
        args.followers // args.processes + (i < args.followers % args.processes)
        for i in range(args.processes)
    ]
    cmd = [sys.executable, __file__, "--role", "followers", "--url", url, "--end", end]
    procs = [subprocess.Popen([*cmd, "--followers", str(n)], stdout=subprocess.PIPE, text=True) for n in per]
    for p in procs:
        assert p.stdout is not None and p.stdout.readline().strip() == "ready"
    deadline = time.monotonic() + 120
    while c.get("/api/health").json()["viewers"] < args.followers and time.monotonic() < deadline:
        time.sleep(0.2)
    connected = c.get("/api/health").json()["viewers"]
    time.sleep(1.0)
    sent: list[tuple[str, float]] = []
    cpu0, t0 = cpu_seconds(server.proc.pid), time.monotonic()
    for k in range(args.moves):
        shown = (a, b)[k % 2]
        sent.append((shown, time.time()))
        c.put("/api/room", json={"experiment_id": shown}).raise_for_status()
        time.sleep(args.interval)
    cpu = cpu_seconds(server.proc.pid) - cpu0
    window = time.monotonic() - t0
    c.put("/api/room", json={"experiment_id": end}).raise_for_status()
    got = [g for p in procs for g in json.loads(p.communicate(timeout=120)[0].splitlines()[-1])]
    # the k-th message after the one on connect is the k-th move: a follower gets every one, in order
    lat = [
        (at - sent[k][1]) * 1000
        for g in got
        for k, (shown, at) in enumerate(g[: len(sent)])
        if shown == sent[k][0]
    ]
    expected = len(got) * len(sent)
    figures = latency_figures(lat, expected)
    return {
        "bench": "room",
        "followers": args.followers,
        "connected": connected,
        "processes": args.processes,
        "moves": args.moves,
        **figures,
        "server_cpu_core_moving": round(cpu / window, 3),
        "target_p95_ms": TARGET_P95_MS,
        "moves_met": bool(lat) and figures["p95_ms"] < TARGET_P95_MS and len(lat) == expected,
    }


def _player(server: ServerProcess, args: argparse.Namespace) -> dict:
    c = httpx.Client(base_url=server.url, headers={"Authorization": f"Bearer {TOKEN}"}, timeout=60)
    time.sleep(2.0)  # the followers' goodbyes settle
    cpu0, t0 = cpu_seconds(server.proc.pid), time.monotonic()
    time.sleep(args.play_s / 2)
    idle = (cpu_seconds(server.proc.pid) - cpu0) / (time.monotonic() - t0)
    r = c.post("/api/lessons/played/launch", json={"mode": "recording"})
    r.raise_for_status()
    eid = r.json()["id"]
    while c.get(f"/api/experiments/{eid}").json()["step"] < 3 * EVERY:
        time.sleep(0.05)
    step0, cpu0, t0 = (
        c.get(f"/api/experiments/{eid}").json()["step"],
        cpu_seconds(server.proc.pid),
        time.monotonic(),
    )
    time.sleep(args.play_s)
    cpu, window = cpu_seconds(server.proc.pid) - cpu0, time.monotonic() - t0
    step = c.get(f"/api/experiments/{eid}").json()["step"]
    player = cpu / window - idle
    return {
        "played_frames_per_s": round((step - step0) / EVERY / window, 2),
        "server_cpu_core_idle": round(idle, 4),
        "player_cpu_core": round(player, 4),
        "target_player_core": TARGET_PLAYER_CORE,
        "player_met": player < TARGET_PLAYER_CORE,
    }


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--followers", type=int, default=500)
    p.add_argument("--processes", type=int, default=5, help="follower processes (the load generators)")
    p.add_argument("--moves", type=int, default=20)
    p.add_argument("--interval", type=float, default=1.0, help="seconds between moves")
    p.add_argument("--play-s", type=float, default=10.0, help="seconds the recording's cost is measured over")
    p.add_argument("--role", choices=["presenter", "followers"], default="presenter", help=argparse.SUPPRESS)
    p.add_argument("--url", help=argparse.SUPPRESS)
    p.add_argument("--end", help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.role == "followers":
        run_followers(args.url, args.followers, args.end)
        return
    print(json.dumps(measure(args)))


if __name__ == "__main__":
    main()
