"""What the load benches share: a process's CPU time, and the latency figures of the messages that arrived."""

import os
import statistics
from pathlib import Path


def cpu_seconds(pid: int) -> float:
    """User and system CPU time of a process so far (from /proc, in clock ticks)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def latency_figures(lat: list[float], expected: int) -> dict:
    """received (the share of the expected messages that came), p50, p95 and max of their latencies (ms)."""
    lat = sorted(lat)
    return {
        "received": round(len(lat) / expected, 4) if expected else 0.0,
        "p50_ms": round(statistics.median(lat), 1) if lat else None,
        "p95_ms": round(lat[int(0.95 * (len(lat) - 1))], 1) if lat else float("nan"),
        "max_ms": round(lat[-1], 1) if lat else None,
    }
