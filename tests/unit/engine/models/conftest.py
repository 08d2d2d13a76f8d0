import pytest

from normscope.schemas import ExperimentSpec


def conv_spec(
    kind: str, depth: int, width: int = 4, dataset: str = "shapes", **model: object
) -> ExperimentSpec:
    return ExperimentSpec.model_validate(
        {
            "dataset": {"name": dataset},
            "model": {
                "kind": kind,
                "depth": depth,
                "width": width,
                "activation": "relu",
                "init": "he",
                **model,
            },
            "variants": [
                {"label": "plain"},
                {"label": "BN", "norm": "batch"},
                {"label": "LN", "norm": "layer"},
                {"label": "BN after", "norm": "batch", "placement": "after"},
            ],
        }
    )


@pytest.fixture
def spec_for():
    return conv_spec
