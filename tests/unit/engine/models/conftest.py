import pytest

from normscope.engine.models import InputShape
from normscope.schemas import ExperimentSpec

# one channel at MNIST's size (scaled inside the model), three at CIFAR's
SHAPES = {1: InputShape(784, 10, (1, 28, 28), (33.0,), (78.0,)), 3: InputShape(3072, 10, (3, 32, 32))}


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
