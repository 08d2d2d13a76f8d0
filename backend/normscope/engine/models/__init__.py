"""Models with probed layers: the lesson MLP and small CNN, VGG and ResNet. Layers of the same shape start
from identical weights in every variant of an experiment."""

from normscope.engine.models.base import (
    ACTIVATIONS,
    BatchNorm,
    Block,
    Input,
    InputShape,
    LayerFactory,
    ProbedNet,
    batchnorm_layers,
    init_weights,
)
from normscope.engine.models.mlp import Net, build_net
from normscope.engine.models.resnet import ResNet, build_resnet
from normscope.engine.models.vgg import VGG, build_vgg
from normscope.schemas import ExperimentSpec


def build_model(spec: ExperimentSpec, variant: int, shape: InputShape) -> ProbedNet:
    v, m = spec.variants[variant], spec.model
    make = LayerFactory(
        v.norm, v.placement, m.activation, spec.variant_init(variant), m.init_std, spec.seed, v.bn_momentum
    )
    input = Input(shape, flatten=m.kind == "mlp")
    match m.kind:
        case "vgg":
            return build_vgg(m.arch_depth, m.arch_width, input, shape, make)
        case "resnet":
            skip_init = v.norm == "none" and m.residual_init == "skipinit"
            return build_resnet(m.arch_depth, m.arch_width, input, shape, make, skip_init)
    return build_net(m.hidden, m.kind == "cnn", input, shape, make)


__all__ = [
    "ACTIVATIONS",
    "VGG",
    "BatchNorm",
    "Block",
    "Input",
    "InputShape",
    "Net",
    "ProbedNet",
    "ResNet",
    "batchnorm_layers",
    "build_model",
    "init_weights",
]
