"""Settings from the environment (prefix NORMSCOPE_), shared by the server, the workers and the CLI."""

import os
from pathlib import Path

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="NORMSCOPE_")

    host: str = "127.0.0.1"
    port: int = Field(8000, ge=0, le=65535)
    data_dir: Path = Path("data")
    token: str | None = Field(None, description="Presenter token; generated at start when unset.")
    device: str = Field(
        "auto", description="auto or cuda: every visible GPU (auto: else the CPU); cpu; cuda:N"
    )
    torch_threads: int = Field(
        default_factory=lambda: max(1, (os.cpu_count() or 2) - 1),
        ge=1,
        le=256,
        description="Torch threads per worker; one core is left for the server.",
    )
    max_running: int = Field(
        2, ge=1, le=64, description="Experiments training at once (per GPU on several); the rest queue."
    )
    max_queued: int = Field(
        20, ge=0, le=10_000, description="Experiments waiting for a slot; past it a launch is refused (429)."
    )
    max_data_gb: float = Field(
        10.0, gt=0, le=100_000, description="The store's size limit; past it launches are refused (507)."
    )
    max_clients: int = Field(1000, ge=1, le=100_000, description="Websocket viewers at once.")
    warm_spare: bool = Field(True, description="Keep a worker with torch imported ready for the next launch.")
    downloads: bool = Field(True, description="Fetch missing dataset files on first use.")
    dataset_mirror: str | None = Field(
        None, description="A base URL used instead of the public sources: <mirror>/<dataset>/<file>."
    )
    history_limit: int = Field(
        300,
        ge=2,
        le=100_000,
        description="Frames a joining viewer gets at once; past that, evenly spaced (REST has the rest).",
    )

    @property
    def datasets_dir(self) -> Path:
        return self.data_dir / "datasets"

    @field_validator("token")
    @classmethod
    def _token(cls, v: str | None) -> str | None:
        return v or None  # an empty NORMSCOPE_TOKEN (compose passes one through) means "generate one"

    @field_validator("device")
    @classmethod
    def _device(cls, v: str) -> str:
        v = v.strip().lower()
        if v in ("auto", "cpu", "cuda") or (v.startswith("cuda:") and v[5:].isdigit()):
            return v
        raise ValueError(f"device must be auto, cpu, cuda or cuda:N, not {v!r}")


def resolve_devices(setting: str) -> list[str]:
    """'auto' and 'cuda' become every GPU torch sees ('auto' falls back to the cpu); a named device is
    checked to exist. Experiments are spread over the list."""
    import torch

    gpus = [f"cuda:{i}" for i in range(torch.cuda.device_count())] if torch.cuda.is_available() else []
    if setting == "auto":
        return gpus or ["cpu"]
    if setting.startswith("cuda"):
        if not gpus:
            raise RuntimeError(f"NORMSCOPE_DEVICE={setting} but torch sees no CUDA device")
        if ":" not in setting:
            return gpus
        if int(setting.split(":")[1]) >= len(gpus):
            raise RuntimeError(f"NORMSCOPE_DEVICE={setting} but only {len(gpus)} CUDA device(s)")
        return [setting]
    return ["cpu"]
