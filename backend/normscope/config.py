"""Settings from the environment (prefix NORMSCOPE_), shared by the server, the workers and the CLI."""

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


@dataclass(frozen=True)
class ExecutorSettings:
    """Where a worker trains an experiment's variants: all in its own process (local), or in groups of
    variants_per_group as Ray actors, each asking the cluster for group_cpus (and group_gpus on CUDA)."""

    kind: Literal["local", "ray"] = "local"
    ray_address: str = "auto"
    variants_per_group: int = 8
    group_cpus: float = 1.0
    group_gpus: float = 1.0


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
    executor: Literal["local", "ray"] = Field(
        "local",
        description="local: one worker process trains every variant; ray: groups on a Ray cluster.",
    )
    ray_address: str = Field(
        "auto", description="The Ray cluster: auto (the one on this machine) or host:port."
    )
    ray_group_variants: int = Field(8, ge=1, le=256, description="Variants a Ray actor trains in lockstep.")
    ray_group_cpus: float = Field(1.0, gt=0, le=256, description="CPUs each group asks Ray for.")
    ray_group_gpus: float = Field(1.0, gt=0, le=64, description="GPUs each group asks Ray for, on CUDA.")
    lessons_path: str = Field(
        "",
        description="More folders of own lessons (<id>.toml; lectures in their lectures/), separated by "
        "colons: a course's repository.",
    )
    max_recording_mb: float = Field(
        2048,
        gt=0,
        le=1_000_000,
        description="A recording played may inflate to this many MB; past it (a gzip bomb) it is refused.",
    )
    history_limit: int = Field(
        300,
        ge=2,
        le=100_000,
        description="Frames a joining viewer gets at once; past that, evenly spaced (REST has the rest).",
    )

    @property
    def executor_settings(self) -> ExecutorSettings:
        return ExecutorSettings(
            self.executor, self.ray_address, self.ray_group_variants, self.ray_group_cpus, self.ray_group_gpus
        )

    @property
    def datasets_dir(self) -> Path:
        return self.data_dir / "datasets"

    @property
    def lessons_dir(self) -> Path:
        """Own lessons: where the presenter's saved ones go."""
        return self.data_dir / "lessons"

    @property
    def lectures_dir(self) -> Path:
        """Own lectures: lists of lessons, one file each."""
        return self.data_dir / "lectures"

    @property
    def lesson_folders(self) -> list[Path]:
        return [Path(folder) for folder in self.lessons_path.split(":") if folder]

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
