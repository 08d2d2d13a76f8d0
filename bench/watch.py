"""What normscope.watch costs a user's own loop: the same models, batches and optimizer trained bare, watched
into a file, and watched through a real server process (the transport), each as a ratio to the bare loop
timed in the same run (alternating rounds, median). Prints one JSON line.

    python bench/watch.py [--steps 600] [--every 10] [--rounds 3] [--device cpu|cuda]
"""

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

import normscope
from normscope.api.launcher import start_server

TOKEN = "bench-token"


def bn_paper_pair(device: str) -> dict[str, nn.Module]:
    """Ioffe & Szegedy's Figure 1 net as a user writes it: 784-100-100-100-10, sigmoid, plain and BN"""

    def net(bn: bool) -> nn.Module:
        layers: list[nn.Module] = []
        for i, o in [(784, 100), (100, 100), (100, 100)]:
            layers += [nn.Linear(i, o), nn.BatchNorm1d(o) if bn else nn.Identity(), nn.Sigmoid()]
        return nn.Sequential(*layers, nn.Linear(100, 10)).to(device)

    torch.manual_seed(0)
    return {"plain": net(False), "BN": net(True)}


def run(steps: int, device: str, where: dict | None, every: int) -> float:
    models = bn_paper_pair(device)
    opts = {k: torch.optim.SGD(m.parameters(), lr=0.5) for k, m in models.items()}
    g = torch.Generator(device=device).manual_seed(0)
    xs = torch.randn(64, 60, 784, device=device, generator=g)
    ys = torch.randint(0, 10, (64, 60), device=device, generator=g)
    session = normscope.watch(models, every=every, steps=steps, **where) if where else None
    t0 = time.perf_counter()
    for s in range(steps):
        x, y = xs[s % 64], ys[s % 64]
        losses = {}
        for k, m in models.items():
            loss = F.cross_entropy(m(x), y)
            opts[k].zero_grad(set_to_none=True)
            loss.backward()
            opts[k].step()
            losses[k] = loss
        if session is not None:
            session.step(loss=losses)
    if device == "cuda":
        torch.cuda.synchronize()
    elapsed = time.perf_counter() - t0
    if session is not None:
        session.close()
    return elapsed


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--steps", type=int, default=600)
    p.add_argument("--every", type=int, default=10)
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    args = p.parse_args()
    torch.set_num_threads(1)
    with tempfile.TemporaryDirectory() as tmp:
        server = start_server(
            Path(tmp) / "data", TOKEN, NORMSCOPE_TORCH_THREADS="1", NORMSCOPE_WARM_SPARE="false"
        )
        try:
            cases = {
                "bare": None,
                "file": {"out": Path(tmp) / "frames.jsonl"},
                "server": {"server": server.url, "token": TOKEN},
            }
            run(50, args.device, None, args.every)  # warm-up
            times: dict[str, list[float]] = {k: [] for k in cases}
            for _ in range(args.rounds):
                for k, where in cases.items():
                    times[k].append(run(args.steps, args.device, where, args.every))
        finally:
            server.stop()
    bare = statistics.median(times["bare"])
    out = {
        "bench": "watch",
        "device": args.device,
        "steps": args.steps,
        "every": args.every,
        "bare_steps_per_s": round(args.steps / bare, 1),
        "file_ratio": round(statistics.median(times["file"]) / bare, 3),
        "server_ratio": round(statistics.median(times["server"]) / bare, 3),
        "transport_over_file": round(
            statistics.median(times["server"]) / statistics.median(times["file"]), 3
        ),
    }
    print(json.dumps(out))


if __name__ == "__main__":
    main()
