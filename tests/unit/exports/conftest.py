"""One real experiment in a real store, trained here on CPU: BN, the grad tap, the landscape and batch
dependence probes, a cancelled ending with an error, a mark and the folds, so every export branch has data."""

import json
from dataclasses import dataclass
from pathlib import Path

import pytest

from normscope.engine.trainer import Trainer
from normscope.schemas import Experiment, ExperimentSpec, Frame, MarkCreate
from normscope.store import Store
from tests.api.conftest import tiny_spec


@dataclass
class Stored:
    store: Store
    experiment: Experiment
    frames: list[Frame]


def train_into(store: Store, eid: str, spec: ExperimentSpec) -> list[Frame]:
    frames: list[Frame] = []
    store.create(eid, spec)

    def on_frame(frame: Frame) -> None:
        frames.append(frame)
        store.add_frame(eid, frame.step, frame.prev_step, frame.model_dump_json())

    trainer = Trainer(
        spec,
        "cpu",
        on_frame=on_frame,
        on_folds=lambda folds: store.set_folds(eid, json.dumps([f.model_dump() for f in folds])),
    )
    store.set_layers(eid, json.dumps([li.model_dump() for li in trainer.layout()]))
    trainer.run()
    return frames


@pytest.fixture(scope="package")
def stored(tmp_path_factory: pytest.TempPathFactory) -> Stored:
    spec = ExperimentSpec.model_validate(
        tiny_spec(
            name="export check",
            steps=40,
            probe={
                "every": 5,
                "bins": 16,
                "eval_every": 2,
                "grad": True,
                "landscape_every": 3,
                "batch_dependence": True,
            },
        )
    )
    store = Store(Path(tmp_path_factory.mktemp("exports")) / "normscope.sqlite3")
    frames = train_into(store, "exported", spec)
    store.set_status(
        "exported",
        "cancelled",
        step=frames[-1].step,
        run_statuses=["cancelled", "done"],
        error="stopped by hand",
    )
    store.add_mark("exported", MarkCreate(step=20, note="the plain band drifts"))
    store.add_mark("exported", MarkCreate(step=35, note="BN steady"))
    experiment = store.get("exported")
    assert experiment is not None
    return Stored(store, experiment, frames)
