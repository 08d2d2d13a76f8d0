"""examples/: the plain-loop script and the notebook run against a real server, as the README tells users."""

import os
import subprocess
import sys
from pathlib import Path

import nbformat
from nbclient import NotebookClient

from tests.api.conftest import TOKEN, wait_status

EXAMPLES = Path(__file__).parents[2] / "examples"


def newest(client) -> dict:
    return client.get("/api/experiments").json()[0]


def test_the_loop_example_streams_to_the_server(server):
    env = {**os.environ, "NORMSCOPE_TOKEN": TOKEN, "NORMSCOPE_TORCH_THREADS": "1"}
    cmd = [sys.executable, str(EXAMPLES / "watch_loop.py"), "--server", server.url, "--steps", "60"]
    done = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=300)
    assert done.returncode == 0, done.stderr
    assert "done: 60 steps" in done.stdout
    client = server.client()
    e = newest(client)
    assert (e["spec"]["name"], e["status"], e["step"]) == ("my CNN", "done", 60)
    frames = client.get(f"/api/experiments/{e['id']}/frames").json()
    assert [ls["name"] for ls in frames[-1]["runs"][1]["layers"]] == ["0", "3", "7"]  # Sequential's paths


def test_the_notebook_runs_in_a_jupyter_kernel(server, monkeypatch, tmp_path):
    monkeypatch.setenv("NORMSCOPE_SERVER", server.url)
    monkeypatch.setenv("NORMSCOPE_TOKEN", TOKEN)
    nb = nbformat.read(EXAMPLES / "watch_notebook.ipynb", as_version=4)
    NotebookClient(
        nb, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}
    ).execute()
    output = "".join(o.get("text", "") for o in nb.cells[-1].outputs)
    assert "100 steps" in output
    e = wait_status(server.client(), newest(server.client())["id"], {"done"}, timeout=10)
    assert (e["spec"]["name"], e["step"]) == ("notebook MLP", 100)
