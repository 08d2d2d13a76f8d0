"""What the launch form offers, read from the spec's own types so the form's menus cannot drift from them."""

from typing import get_args

from pydantic import BaseModel

from normscope.schemas.spec import (
    IMAGE_DATASETS,
    Activation,
    DatasetName,
    Init,
    ModelKind,
    Norm,
    OptimizerName,
    Placement,
    Precision,
    ResidualInit,
)


class Catalog(BaseModel):
    datasets: list[str]
    image_datasets: list[str]  # the ones a cnn, vgg or resnet can take
    model_kinds: list[str]
    activations: list[str]
    inits: list[str]
    norms: list[str]
    placements: list[str]
    optimizers: list[str]
    precisions: list[str]
    residual_inits: list[str]


def catalog() -> Catalog:
    datasets = list(get_args(DatasetName))
    return Catalog(
        datasets=datasets,
        image_datasets=[d for d in datasets if d in IMAGE_DATASETS],
        model_kinds=list(get_args(ModelKind)),
        activations=list(get_args(Activation)),
        inits=list(get_args(Init)),
        norms=list(get_args(Norm)),
        placements=list(get_args(Placement)),
        optimizers=list(get_args(OptimizerName)),
        precisions=list(get_args(Precision)),
        residual_inits=list(get_args(ResidualInit)),
    )
