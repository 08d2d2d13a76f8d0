"""Launch latency: POST /api/experiments -> first frame on a websocket, with the warm spare and without.

Prints one JSON line. Each launch uses probe.every=1 so the first frame follows the first training step;
before each warm launch the bench waits for /api/health to say the spare has warmed up, and reports how long
that took (the spare's own start-up cost, paid while nobody waits)."""

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path

import httpx
from websockets.sync.client import connect

from normscope.api.launcher import ServerProcess, start_server

TOKEN = "bench-token"
TARGET_WARM_S = 1.0
SPEC = {
    "name": "launch latency",
    "model": {"hidden": [100, 100, 100], "activation": "sigmoid"},
    "steps": 5,
    "variants": [{"label": "plain"}, {"label": "BN", "norm": "batch"}],
    "probe": {"every": 1},
}


def time_to_first_frame(server: ServerProcess) -> float:
    with httpx.Client(base_url=server.url, headers={"Authorization": f"Bearer {TOKEN}"}, timeout=60) as c:
        t0 = time.perf_counter()
        eid = c.post("/api/experiments", json=SPEC).json()["id"]
        with connect(f"{server.ws_url}/ws/experiments/{eid}") as ws:
            while True:
                msg = ws.recv(timeout=60)
                if msg.startswith('{"type":"frame"'):
                    return time.perf_counter() - t0


def wait_warm(server: ServerProcess, timeout: float = 120) -> float:
    t0 = time.perf_counter()
    while not httpx.get(f"{server.url}/api/health").json()["warm"]:
        if time.perf_counter() - t0 > timeout:
            raise RuntimeError("the spare never warmed up")
        time.sleep(0.05)
    return time.perf_counter() - t0


def measure(warm: bool, launches: int, settle: float) -> tuple[list[float], list[float]]:
    with tempfile.TemporaryDirectory() as tmp:
        server = start_server(
            Path(tmp) / "data", TOKEN, NORMSCOPE_WARM_SPARE=str(warm).lower(), NORMSCOPE_TORCH_THREADS="1"
        )
        try:
            out, warm_ups = [], []
            for _ in range(launches):
                if warm:
                    warm_ups.append(wait_warm(server))
                time.sleep(settle)  # the previous launch's experiment has finished
                out.append(time_to_first_frame(server))
            return out, warm_ups
        finally:
            server.stop()


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--launches", type=int, default=5)
    p.add_argument("--settle", type=float, default=2.0, help="seconds between launches")
    args = p.parse_args()
    warm, warm_ups = measure(True, args.launches, args.settle)
    cold, _ = measure(False, args.launches, args.settle)
    result = {
        "bench": "launch",
        "launches": args.launches,
        "warm_s": {"median": round(statistics.median(warm), 3), "max": round(max(warm), 3)},
        "cold_s": {"median": round(statistics.median(cold), 3), "max": round(max(cold), 3)},
        "spare_warm_up_s": {
            "median": round(statistics.median(warm_ups[1:]), 3),
            "max": round(max(warm_ups[1:]), 3),
        },
        "cold_over_warm": round(statistics.median(cold) / statistics.median(warm), 2),
        "target_warm_s": TARGET_WARM_S,
        "meets": statistics.median(warm) < TARGET_WARM_S,
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
