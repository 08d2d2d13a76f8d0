"""`pip install normscope` outside a checkout: the sdist and wheel a release makes, installed into a fresh
venv and used from an empty directory, as a new user would (server, dashboard, a launch, exports, watch)."""

import base64
import gzip
import json
import os
import shutil
import subprocess
import sys
import time
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from normscope.api.launcher import free_port

ROOT = Path(__file__).resolve().parents[1]
TOKEN = "wheel-test-token"
# What the program reads at run time, by the name it has inside the wheel.
RUNTIME_FILES = {
    "normscope/py.typed",
    "normscope/web/index.html",
    "normscope/web/experiment.html",
    "normscope/web/experiment.js",
    "normscope/web/offline.js",
    "normscope/web/style.css",
    "normscope/web/lib/figures.js",
    "normscope/lessons/ioffe-szegedy.toml",
    "normscope/lessons/lectures/batch-norm.toml",
}


@dataclass
class Install:
    wheel: Path
    sdist: Path
    venv: Path
    home: Path  # an empty directory, not the checkout: the user's working directory

    def bin(self, name: str) -> str:
        return str(self.venv / "bin" / name)

    def run(self, *args: str, timeout: float = 120, **env: str) -> subprocess.CompletedProcess:
        full_env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
        return subprocess.run(
            list(args),
            cwd=self.home,
            env={**full_env, "NORMSCOPE_DATA_DIR": str(self.home / "data"), **env},
            capture_output=True,
            text=True,
            timeout=timeout,
        )


def _source_tree(dest: Path) -> Path:
    """The files git would give a fresh clone (tracked, or new and not ignored): what a release builds from,
    without this checkout's build/, caches or venv (a stale build/lib would leak into a wheel)."""
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT, capture_output=True, check=True,
    ).stdout.decode().split("\0")  # fmt: skip
    for name in filter(None, listed):
        if (ROOT / name).is_file():
            (dest / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, dest / name)
    return dest


def _build(out: Path, *flags: str) -> None:
    src = _source_tree(out.parent / f"src{len(flags)}")
    done = subprocess.run(
        [sys.executable, "-m", "build", *flags, "--outdir", str(out), str(src)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]


@pytest.fixture(scope="module")
def install(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Install]:
    base = tmp_path_factory.mktemp("wheel")
    _build(base / "dist")  # the sdist, then the wheel built from that sdist
    sdist = next((base / "dist").glob("normscope-*.tar.gz"))
    wheel = next((base / "dist").glob("normscope-*.whl"))
    venv = base / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
    # --no-compile: byte-compiling torch's files is most of pip's CPU (56 s against 29 s); imports compile
    # what they use, and what the wheel carries and declares is checked the same
    pip = subprocess.run(
        [str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet", "--no-compile",
         "--disable-pip-version-check", "-c", str(ROOT / "constraints.txt"), str(wheel)],
        capture_output=True,
        text=True,
        timeout=600,
    )  # fmt: skip
    assert pip.returncode == 0, pip.stderr[-3000:]
    home = base / "home"
    home.mkdir()
    yield Install(wheel, sdist, venv, home)
    shutil.rmtree(base / "venv", ignore_errors=True)


def _names(wheel: Path) -> set[str]:
    with zipfile.ZipFile(wheel) as z:
        return {n for n in z.namelist() if ".dist-info/" not in n}


def test_the_wheel_carries_what_the_program_reads_and_the_sdist_builds_the_same_wheel(install, tmp_path):
    names = _names(install.wheel)
    assert names >= RUNTIME_FILES, f"missing from the wheel: {RUNTIME_FILES - names}"
    web = {p.relative_to(ROOT / "backend").as_posix() for p in (ROOT / "backend/normscope/web").rglob("*")}
    assert {n for n in web if "." in n.rsplit("/", 1)[-1]} <= names  # every file of the dashboard
    assert not any(n.startswith(("tests/", "bench/", "frontend/")) for n in names)
    _build(tmp_path / "dist", "--wheel")  # straight from the tree, no sdist between
    direct = next((tmp_path / "dist").glob("normscope-*.whl"))
    assert _names(direct) == names
    with zipfile.ZipFile(direct) as a, zipfile.ZipFile(install.wheel) as b:
        assert all(a.read(n) == b.read(n) for n in names)
    with zipfile.ZipFile(install.wheel) as z:
        meta = z.read(next(n for n in z.namelist() if n.endswith(".dist-info/METADATA"))).decode()
    for line in ("Requires-Python: >=3.11", "License-Expression: MIT", "Provides-Extra: ray",
                 "Provides-Extra: bench", "Provides-Extra: dev", "Project-URL: Source"):  # fmt: skip
        assert line in meta, line
    torch = [x for x in meta.splitlines() if x.startswith("Requires-Dist: torch")]
    assert len(torch) == 1 and ">=" in torch[0] and "==" not in torch[0], torch  # a bound; the pin is ours
    assert "## Install" in meta  # the README is the long description


def test_version_from_one_place(install):
    out = install.run(install.bin("normscope"), "--version")
    assert out.returncode == 0, out.stderr
    version = install.wheel.name.split("-")[1]
    assert out.stdout.strip() == f"normscope {version}"
    code = "import normscope; print(normscope.__version__, normscope.__file__)"
    got = install.run(install.bin("python"), "-c", code).stdout.split()
    assert got[0] == version and str(install.venv) in got[1]  # the installed copy, not the checkout


def test_the_installed_server_serves_the_dashboard_launches_and_exports(install):
    port = free_port()
    log = (install.home / "serve.log").open("w")
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env |= {"NORMSCOPE_DATA_DIR": str(install.home / "data"), "NORMSCOPE_TOKEN": TOKEN,
            "NORMSCOPE_TORCH_THREADS": "1"}  # fmt: skip
    proc = subprocess.Popen(
        [install.bin("normscope"), "serve", "--port", str(port)],
        cwd=install.home,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        client = httpx.Client(base_url=url, timeout=30, headers={"Authorization": f"Bearer {TOKEN}"})
        deadline = time.monotonic() + 90
        while True:
            assert proc.poll() is None, (install.home / "serve.log").read_text()
            try:
                if client.get("/api/health").status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, (install.home / "serve.log").read_text()
            time.sleep(0.2)
        page = client.get("/")
        assert page.status_code == 200 and "text/html" in page.headers["content-type"]
        assert "<form" in page.text or "normscope" in page.text
        for path in ("/static/experiment.js", "/static/lib/figures.js", "/static/index.js"):
            r = client.get(path)
            assert r.status_code == 200 and "javascript" in r.headers["content-type"], path
        css = client.get("/static/style.css")
        assert css.status_code == 200 and "text/css" in css.headers["content-type"]
        plotly = client.get("/vendor/plotly.min.js")
        assert plotly.status_code == 200 and "javascript" in plotly.headers["content-type"]
        assert len(plotly.content) > 1_000_000
        spec = {
            "name": "from the wheel",
            "model": {"hidden": [16, 12], "activation": "tanh"},
            "optimizer": {"lr": 0.1},
            "batch_size": 32,
            "steps": 40,
            "variants": [{"label": "plain"}, {"label": "BN", "norm": "batch"}],
            "probe": {"every": 10, "bins": 16},
        }
        made = client.post("/api/experiments", json=spec)
        assert made.status_code == 201, made.text
        eid = made.json()["id"]
        deadline = time.monotonic() + 120
        while client.get(f"/api/experiments/{eid}").json()["status"] != "done":
            assert time.monotonic() < deadline, (install.home / "serve.log").read_text()
            time.sleep(0.2)
        frames = client.get(f"/api/experiments/{eid}/frames").json()
        assert frames and frames[-1]["step"] == 40 and len(frames[-1]["runs"]) == 2
    finally:
        proc.terminate()
        proc.wait(30)
        log.close()
    out = install.run(install.bin("normscope"), "export", eid, "--format", "html", "--out", "page.html")
    assert out.returncode == 0, out.stderr
    html = (install.home / "page.html").read_text()
    assert "/static/" not in html and "/vendor/" not in html  # self-contained: opens with no server
    plotly_js, data = (_embedded(html, name) for name in ("normscope-plotly", "normscope-data"))
    assert plotly_js.startswith(b"/**") and len(plotly_js) > 1_000_000
    head = json.loads(data)
    assert head["experiment"]["spec"]["name"] == "from the wheel" and head["frames"][-1]["step"] == 40


def _embedded(html: str, element_id: str) -> bytes:
    """A payload the offline page carries: gzipped, in base64, inside a script element."""
    start = html.index(f'id="{element_id}">') + len(f'id="{element_id}">')
    return gzip.decompress(base64.b64decode(html[start : html.index("</script>", start)]))


def test_watch_in_the_users_own_loop_writes_frames(install):
    loop = """
import torch, normscope
from torch import nn
torch.manual_seed(0)
nets = {"plain": nn.Sequential(nn.Linear(8, 16), nn.ReLU(), nn.Linear(16, 2)),
        "BN": nn.Sequential(nn.Linear(8, 16), nn.BatchNorm1d(16), nn.ReLU(), nn.Linear(16, 2))}
opts = {k: torch.optim.SGD(n.parameters(), lr=0.1) for k, n in nets.items()}
with normscope.watch(nets, out="frames.jsonl", every=2, steps=10, name="mine") as s:
    for _ in range(10):
        x, y = torch.randn(32, 8), torch.randint(0, 2, (32,))
        losses = {}
        for k, n in nets.items():
            loss = nn.functional.cross_entropy(n(x), y)
            opts[k].zero_grad(); loss.backward(); opts[k].step()
            losses[k] = loss
        s.step(loss=losses)
"""
    (install.home / "loop.py").write_text(loop)
    out = install.run(install.bin("python"), "loop.py", NORMSCOPE_TORCH_THREADS="1")
    assert out.returncode == 0, out.stderr
    lines = [json.loads(x) for x in (install.home / "frames.jsonl").read_text().splitlines()]
    assert lines[0]["type"] == "experiment" and lines[0]["spec"]["name"] == "mine"
    assert [v["label"] for v in lines[0]["spec"]["variants"]] == ["plain", "BN"]
    frames = [x for x in lines if x["type"] == "frame"]
    assert [f["step"] for f in frames] == [2, 4, 6, 8, 10]
    assert all(len(f["runs"]) == 2 and f["runs"][1]["layers"] for f in frames)
