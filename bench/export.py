"""Exports of the Ioffe preset run: each format's size and time over HTTP from a real server, and the server's
memory while it streams a large experiment (the same run's frames tiled to --large frames).

The run is trained headless first (`normscope train --preset ioffe-szegedy`: 3000 steps, a frame every 10),
and its training time is the baseline each export time is divided by (this machine is noisy). Memory is the
server's resident set, sampled every 10 ms from /proc during each download, minus what it held before: if an
export were buffered whole, the growth would reach the export's size. Prints one JSON line.

    python bench/export.py [--large 5000]
"""

import argparse
import json
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx

from normscope.api.launcher import start_server
from normscope.store import Store
from normscope.store.imports import import_lines

TOKEN = "bench-token"
FORMATS = ("jsonl", "csv", "tensorboard", "html")
HTML_TARGET_MB = 5.0


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS")


def download(client: httpx.Client, eid: str, fmt: str, pid: int) -> dict:
    """Streams one export, counting bytes, while a thread samples the server's memory."""
    before, peak, done = rss_mb(pid), [0.0], threading.Event()

    def sample() -> None:
        while not done.is_set():
            peak[0] = max(peak[0], rss_mb(pid))
            time.sleep(0.01)

    sampler = threading.Thread(target=sample)
    sampler.start()
    started, size, first = time.perf_counter(), 0, None
    with client.stream("GET", f"/api/experiments/{eid}/export", params={"format": fmt}) as r:
        r.raise_for_status()
        for chunk in r.iter_bytes():
            first = first or time.perf_counter() - started
            size += len(chunk)
    took = time.perf_counter() - started
    done.set()
    sampler.join()
    return {
        "mb": round(size / 1e6, 2),
        "s": round(took, 2),
        "first_byte_s": round(first or took, 3),
        "server_rss_growth_mb": round(max(0.0, peak[0] - before), 1),
    }


def tiled(lines: list[str], frames: int) -> list[str]:
    """The run's frames repeated with steps renumbered past the last: a long experiment of real frames."""
    head = [ln for ln in lines if json.loads(ln)["type"] != "frame"]
    body = [json.loads(ln) for ln in lines if json.loads(ln)["type"] == "frame"]
    span = body[-1]["step"]
    out = []
    for i in range(frames):
        f = dict(body[i % len(body)])
        shift = (i // len(body)) * span
        f["step"], f["prev_step"] = f["step"] + shift, f["prev_step"] + shift
        out.append(json.dumps(f))
    experiment = json.loads(head[0])
    experiment["spec"]["steps"] = out and json.loads(out[-1])["step"]
    experiment["spec"]["name"] = f"Ioffe run tiled to {frames} frames"
    return [json.dumps(experiment), *head[1:], *out]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--large", type=int, default=5000, help="frames of the tiled large experiment")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        run = Path(tmp) / "ioffe.jsonl"
        started = time.perf_counter()
        subprocess.run(
            [
                sys.executable,
                "-m",
                "normscope",
                "train",
                "--preset",
                "ioffe-szegedy",
                "--quiet",
                "--out",
                str(run),
                "--device",
                "cpu",
            ],
            check=True,
        )
        train_s = time.perf_counter() - started
        lines = run.read_text().splitlines()
        data = Path(tmp) / "data"
        store = Store(data / "normscope.sqlite3")
        ioffe = import_lines(store, lines, "ioffe").id
        large = import_lines(store, tiled(lines, args.large), "large").id
        store.close()
        server = start_server(data, TOKEN)
        try:
            with httpx.Client(base_url=server.url, timeout=600) as client:
                small = {fmt: download(client, ioffe, fmt, server.proc.pid) for fmt in FORMATS}
                big = {
                    fmt: download(client, large, fmt, server.proc.pid)
                    for fmt in ("csv", "tensorboard", "html")
                }
        finally:
            server.stop()
    for figures in small.values():
        figures["time_vs_training"] = round(figures["s"] / train_s, 3)
    print(
        json.dumps(
            {
                "bench": "export",
                "ioffe_run": {"steps": 3000, "frames": len(lines) - 2, "train_s": round(train_s, 2)},
                "ioffe": small,
                "html_under_5mb": small["html"]["mb"] < HTML_TARGET_MB,
                "large": {"frames": args.large, **big},
                "streams": all(f["server_rss_growth_mb"] < f["mb"] / 4 for f in big.values() if f["mb"] > 50),
            }
        )
    )


if __name__ == "__main__":
    main()
