"""Ready experiments for teaching: each an ExperimentSpec plus a title and what to look for."""

from pydantic import BaseModel, Field

from normscope.schemas import ExperimentSpec


class PresetView(BaseModel):
    """Where the dashboard opens for a preset."""

    layer: str = "hidden3"
    tap: str = "normed"
    chart: str = "bands"


class Preset(BaseModel):
    id: str
    title: str
    summary: str = Field(description="What to look for, in two or three sentences.")
    spec: ExperimentSpec
    view: PresetView = Field(default_factory=PresetView)


PRESETS: list[Preset] = [
    Preset(
        id="ioffe-szegedy",
        title="Ioffe & Szegedy, Figure 1: BN vs plain, 3x100 sigmoid MLP",
        summary=(
            "The same network with and without batch norm, same weights, same batches. Watch the "
            "15/50/85 percentile band of the last hidden layer's sigmoid input: without BN it drifts as "
            "the layers below change, with BN it stays put. BN reaches high validation accuracy far sooner."
        ),
        spec=ExperimentSpec.model_validate(
            {
                "name": "BN vs plain, sigmoid (Ioffe & Szegedy Fig. 1)",
                "dataset": {"name": "digits", "standardize": True, "val_fraction": 0.2},
                "model": {
                    "kind": "mlp",
                    "hidden": [100, 100, 100],
                    "activation": "sigmoid",
                    "init": "gaussian",
                    "init_std": 0.06,
                },
                "optimizer": {"name": "sgd", "lr": 0.5, "momentum": 0.0},
                "batch_size": 60,
                "steps": 3000,
                "seed": 0,
                "variants": [
                    {"label": "plain", "norm": "none"},
                    {"label": "BN", "norm": "batch", "placement": "before"},
                ],
                "probe": {"every": 10, "bins": 64, "eval_every": 5},
            }
        ),
    ),
]


def get_preset(preset_id: str) -> Preset:
    for p in PRESETS:
        if p.id == preset_id:
            return p
    raise KeyError(f"unknown preset {preset_id!r}; known: {', '.join(p.id for p in PRESETS)}")
