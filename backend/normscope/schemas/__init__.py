"""Pydantic models shared by every layer: no torch, no fastapi."""

from normscope.schemas.control import Action, ControlCommand
from normscope.schemas.frame import (
    TAP_ORDER,
    BNStats,
    EvalResult,
    Frame,
    LayerInfo,
    LayerStats,
    RunFrame,
    RunStatus,
    Summary,
    Tap,
    TapStats,
)
from normscope.schemas.spec import (
    DatasetSpec,
    ExperimentSpec,
    ModelSpec,
    OptimizerSpec,
    ProbeSpec,
    VariantSpec,
)

__all__ = [
    "TAP_ORDER",
    "Action",
    "BNStats",
    "ControlCommand",
    "DatasetSpec",
    "EvalResult",
    "ExperimentSpec",
    "Frame",
    "LayerInfo",
    "LayerStats",
    "ModelSpec",
    "OptimizerSpec",
    "ProbeSpec",
    "RunFrame",
    "RunStatus",
    "Summary",
    "Tap",
    "TapStats",
    "VariantSpec",
]
