"""ExperimentSpec and its parts: what one launch asks for, with the bounds the server enforces."""

import itertools
import math
from typing import Annotated, Literal, Self

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator, model_validator

from normscope.schemas.architectures import (
    DEFAULT_DEPTH,
    DEFAULT_WIDTH,
    RESNET_DEPTHS,
    VGG_STAGES,
    conv_weights,
    layer_names,
)
from normscope.schemas.sweep import MAX_SWEEP_VARIANTS, SweepSpec

DatasetName = Literal[
    "digits",
    "breast_cancer",
    "wine",
    "spirals",
    "blobs",
    "idx",
    "mnist",
    "fashion_mnist",
    "cifar10",
    "cifar100",
    "shapes",
]
# Sets read from their distributed files, which use the official test split for validation.
FILE_DATASETS = frozenset({"mnist", "fashion_mnist", "cifar10", "cifar100"})
# Images kept as uint8 pixels (the others are float features, some of them images too: digits, idx).
PIXEL_DATASETS = FILE_DATASETS | {"shapes"}
IMAGE_DATASETS = PIXEL_DATASETS | {"digits", "idx"}
# Augmented by default: the CIFAR sets, where crop and flip are the standard recipe.
AUGMENTED_BY_DEFAULT = frozenset({"cifar10", "cifar100"})
# Samples a drawn set makes when n_samples is not given (file sets read all of theirs).
DEFAULT_SAMPLES = {"spirals": 3000, "blobs": 3000, "shapes": 6000}
ModelKind = Literal["mlp", "cnn", "vgg", "resnet"]
Precision = Literal["fp32", "bf16"]
Activation = Literal["sigmoid", "tanh", "relu"]
Init = Literal["default", "gaussian", "xavier", "he"]
Norm = Literal["none", "batch", "layer"]
Placement = Literal["before", "after"]
OptimizerName = Literal["sgd", "adam"]
ResidualInit = Literal["skipinit", "standard"]

MAX_WIDTH = 4096
MAX_DEPTH = 32
MAX_VARIANTS = 16
# Hidden-to-hidden weights summed over variants: keeps one launch within a CPU machine's memory and patience.
MAX_TOTAL_WEIGHTS = 50_000_000
# Conv weights summed over variants: room for a VGG-16 trained three ways, as the cifar-vgg lesson does.
MAX_CONV_WEIGHTS = 150_000_000
# Frames one experiment stores (a lesson's frame is ~10 KB): bounds its storage whatever steps and every say.
MAX_FRAMES = 20_000
# A lesson's id: also its file's name, so no dots or slashes can lead a write out of the lessons folder.
LESSON_ID = r"^[a-z0-9][a-z0-9-]{0,63}$"


class Strict(BaseModel):
    """No unknown fields, and each field takes the JSON type its schema states: no `true` for a number, no
    0.0 for a boolean, no "5" for an integer (what lax coercion let through, found by the fuzzer)."""

    model_config = ConfigDict(extra="forbid", strict=True)


class DatasetSpec(Strict):
    name: DatasetName = "digits"
    standardize: bool = Field(True, description="Scale features to zero mean, unit variance (train split).")
    val_fraction: float = Field(0.2, ge=0.05, le=0.5)
    n_samples: int | None = Field(
        None,
        ge=50,
        le=100_000,
        description="Synthetic sets: samples drawn (3000; shapes 6000); file sets: the most training samples "
        "read (all).",
    )
    n_classes: int = Field(3, ge=2, le=10, description="Synthetic sets only.")
    n_features: int = Field(2, ge=2, le=256, description="blobs only.")
    noise: float = Field(0.2, ge=0.0, le=5.0, description="Synthetic sets only.")
    feature_scales: list[Annotated[float, Field(gt=0, le=1e6)]] | None = Field(
        None, max_length=256, description="blobs only: one multiplier per feature, e.g. [1, 100, 10000]."
    )
    path: str | None = Field(
        None,
        max_length=1024,
        description="idx only: folder with train-images-idx3-ubyte and train-labels-idx1-ubyte (.gz too).",
    )
    augment: bool | None = Field(
        None,
        description="Random crop (4-pixel padding) and horizontal flip of each training image, on the "
        "device; default on for CIFAR.",
    )

    @property
    def augmented(self) -> bool:
        return self.name in AUGMENTED_BY_DEFAULT if self.augment is None else self.augment

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        if self.augment and self.name not in PIXEL_DATASETS:
            raise ValueError(f"augment applies to {', '.join(sorted(PIXEL_DATASETS))}, not '{self.name}'")
        if self.name == "idx" and not self.path:
            raise ValueError("dataset 'idx' needs a 'path' to a folder with MNIST-format files")
        if self.feature_scales is not None:
            if self.name != "blobs":
                raise ValueError("feature_scales applies to the 'blobs' dataset only")
            if len(self.feature_scales) != self.n_features:
                raise ValueError(
                    f"feature_scales has {len(self.feature_scales)} entries "
                    f"but n_features is {self.n_features}"
                )
        return self


class ModelSpec(Strict):
    kind: ModelKind = "mlp"
    depth: int | None = Field(None, description="vgg: 11, 13 or 16 (11); resnet: 20, 32, 44 or 56 (20).")
    width: int | None = Field(
        None,
        ge=1,
        le=512,
        description="vgg, resnet: channels of the first stage, doubling per stage (64; 16).",
    )
    residual_init: ResidualInit = Field(
        "skipinit",
        description="resnet variants without a norm: 'skipinit' scales each residual branch by a learnable "
        "scalar that starts at 0 (De & Smith 2020), so the deep plain net starts as a shallow one and "
        "trains.",
    )
    hidden: list[Annotated[int, Field(ge=1, le=MAX_WIDTH)]] = Field(
        default_factory=lambda: [100, 100, 100],
        min_length=1,
        max_length=MAX_DEPTH,
        description="MLP: hidden widths; CNN: channels of each 3x3 conv layer.",
    )
    activation: Activation = "sigmoid"
    init: Init = "default"
    init_std: float = Field(0.1, gt=0, le=10, description="Standard deviation of the 'gaussian' init.")

    @property
    def arch_depth(self) -> int:
        return self.depth or DEFAULT_DEPTH[self.kind]

    @property
    def arch_width(self) -> int:
        return self.width or DEFAULT_WIDTH[self.kind]

    @property
    def layer_names(self) -> list[str]:
        return layer_names(self.kind, self.depth or DEFAULT_DEPTH.get(self.kind, 0), len(self.hidden))

    @model_validator(mode="after")
    def _shape(self) -> Self:
        allowed = {"vgg": tuple(VGG_STAGES), "resnet": RESNET_DEPTHS}.get(self.kind)
        if allowed is None:
            if self.depth is not None or self.width is not None:
                raise ValueError(f"depth and width apply to vgg and resnet; model '{self.kind}' uses hidden")
        elif self.depth is not None and self.depth not in allowed:
            raise ValueError(
                f"{self.kind} depth must be one of {', '.join(map(str, allowed))}, not {self.depth}"
            )
        return self


class OptimizerSpec(Strict):
    name: OptimizerName = "sgd"
    lr: float = Field(0.1, gt=0, le=1000)
    momentum: float = Field(0.0, ge=0, lt=1)
    weight_decay: float = Field(0.0, ge=0, le=1)

    @field_validator("lr")
    @classmethod
    def _finite(cls, v: float) -> float:
        if not math.isfinite(v):
            raise ValueError("lr must be a finite number")
        return v


class VariantSpec(Strict):
    label: str = Field(min_length=1, max_length=60)
    norm: Norm = "none"
    placement: Placement = "before"
    lr: float | None = Field(None, gt=0, le=1000)
    batch_size: int | None = Field(None, ge=2, le=8192)
    standardize: bool | None = Field(None, description="Overrides dataset.standardize for this variant.")
    init: Init | None = Field(None, description="Overrides model.init for this variant.")
    bn_momentum: float | None = Field(None, gt=0, le=1, description="BatchNorm running-average momentum.")
    momentum: float | None = Field(None, ge=0, lt=1, description="Overrides optimizer.momentum (SGD's β).")
    weight_decay: float | None = Field(None, ge=0, le=1, description="Overrides optimizer.weight_decay.")

    @field_validator("lr")
    @classmethod
    def _finite(cls, v: float | None) -> float | None:
        if v is not None and not math.isfinite(v):
            raise ValueError("lr must be a finite number")
        return v


class ProbeSpec(Strict):
    every: int = Field(10, ge=1, le=100_000, description="Steps between frames.")
    bins: int = Field(64, ge=8, le=256)
    eval_every: int = Field(5, ge=1, le=100_000, description="Frames between validation passes.")
    grad: bool = Field(
        False,
        description="A fourth tap, grad: the gradient of the loss at each layer's pre-activation on sampled "
        "steps, with its norm: vanishing and exploding gradients, layer by layer.",
    )
    exact_quantiles_up_to: int = Field(
        65_536,
        ge=1024,
        le=2**24,
        description="Taps of at most this many elements get exact percentiles; larger ones take them from a "
        "fixed random sample of this many (rank error at most 1 point at the default).",
    )
    landscape_every: int = Field(
        0, ge=0, le=100_000, description="Frames between landscape probes (Santurkar et al.); 0 turns it off."
    )
    landscape_steps: list[Annotated[float, Field(gt=0, le=100)]] = Field(
        default_factory=lambda: [0.25, 0.5, 1.0, 2.0, 4.0],
        min_length=1,
        max_length=8,
        description="Step sizes the landscape probe tries along the gradient, as multiples of the run's lr.",
    )
    batch_dependence: bool = Field(
        False,
        description="At each validation, how often a BN run's train-mode prediction of an example changes "
        "with its batch companions.",
    )


class ExternalSpec(Strict):
    """Frames come from `normscope.watch` in the user's own training loop, not from a server worker: the
    dataset, model and optimizer fields describe nothing then; variants name the user's models."""

    untapped: list[Annotated[str, Field(max_length=300)]] = Field(
        default_factory=list,
        max_length=256,
        description="What watch could not tap, one line each (an activation called as F.relu, a layer cap).",
    )


class ExperimentSpec(Strict):
    name: str = Field("experiment", min_length=1, max_length=120)
    dataset: DatasetSpec = Field(default_factory=DatasetSpec)
    model: ModelSpec = Field(default_factory=ModelSpec)
    optimizer: OptimizerSpec = Field(default_factory=OptimizerSpec)
    batch_size: int = Field(60, ge=2, le=8192)
    steps: int = Field(1000, ge=1, le=1_000_000)
    precision: Precision = Field(
        "fp32", description="bf16: autocast for matmuls and convs; BN statistics and the weights stay fp32."
    )
    seed: int = Field(0, ge=0, le=2**31 - 1)
    pace: float | None = Field(
        None,
        gt=0,
        le=100_000,
        description="Steps per second to start at, for a lesson the room watches unfold (the presenter's "
        "pace control changes it); null: as fast as it goes.",
    )
    sweep: SweepSpec | None = Field(
        None, description="Random or grid search: expands into the variants (leave variants out)."
    )
    variants: list[VariantSpec] = Field(
        default_factory=lambda: [VariantSpec(label="plain"), VariantSpec(label="BN", norm="batch")],
        min_length=1,
        max_length=MAX_SWEEP_VARIANTS,
        description=f"At most {MAX_VARIANTS}, or {MAX_SWEEP_VARIANTS} when a sweep makes them.",
    )
    probe: ProbeSpec = Field(default_factory=ProbeSpec)
    external: ExternalSpec | None = Field(
        None, description="Set by normscope.watch: the server trains nothing, the client uploads frames."
    )
    lesson: str | None = Field(
        None, pattern=LESSON_ID, description="The id of the lesson it was launched from; null: none."
    )
    lecture: str | None = Field(
        None, pattern=LESSON_ID, description="The lecture its lesson was launched as part of; null: none."
    )

    @field_validator("variants")
    @classmethod
    def _few_by_hand(cls, variants: list[VariantSpec], info: ValidationInfo) -> list[VariantSpec]:
        if info.data.get("sweep") is None and len(variants) > MAX_VARIANTS:
            raise ValueError(f"at most {MAX_VARIANTS} variants (a sweep may make up to {MAX_SWEEP_VARIANTS})")
        return variants

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        if self.sweep is not None:
            made = [VariantSpec.model_validate(v) for v in self.sweep.variants()]
            if "variants" in self.model_fields_set and self.variants != made:
                raise ValueError("a sweep makes the variants: give sweep or variants, not both")
            self.variants = made
        if self.optimizer.name == "adam" and any(v.momentum is not None for v in self.variants):
            raise ValueError("momentum is SGD's: with adam, leave the variants' momentum out")
        labels = [v.label for v in self.variants]
        if len(set(labels)) != len(labels):
            raise ValueError(f"variant labels must be unique, got {labels}")
        if self.model.kind != "mlp" and self.dataset.name not in IMAGE_DATASETS:
            raise ValueError(
                f"model kind '{self.model.kind}' needs an image dataset "
                f"({', '.join(sorted(IMAGE_DATASETS))}), not '{self.dataset.name}'"
            )
        frames = math.ceil(self.steps / self.probe.every)  # the last step always sends one
        if frames > MAX_FRAMES:
            every = math.ceil(self.steps / MAX_FRAMES)
            raise ValueError(
                f"{self.steps:,} steps sampled every {self.probe.every} make {frames:,} frames; "
                f"an experiment keeps at most {MAX_FRAMES:,}: set probe.every to {every} or more"
            )
        m = self.model
        if m.kind in ("vgg", "resnet"):
            convs = conv_weights(m.kind, m.arch_depth, m.arch_width) * len(self.variants)
            if convs > MAX_CONV_WEIGHTS:
                raise ValueError(
                    f"the variants hold {convs:,} conv weights together; the limit is {MAX_CONV_WEIGHTS:,} "
                    "(use a smaller depth or width, or fewer variants)"
                )
            return self
        weights = sum(a * b for a, b in itertools.pairwise(m.hidden)) * len(self.variants)
        if weights > MAX_TOTAL_WEIGHTS:
            raise ValueError(
                f"the variants hold {weights:,} hidden-to-hidden weights together; the limit is "
                f"{MAX_TOTAL_WEIGHTS:,} (use fewer or narrower layers, or fewer variants)"
            )
        return self

    def variant_lr(self, i: int) -> float:
        return self.variants[i].lr or self.optimizer.lr

    def variant_momentum(self, i: int) -> float:
        m = self.variants[i].momentum
        return self.optimizer.momentum if m is None else m

    def variant_weight_decay(self, i: int) -> float:
        wd = self.variants[i].weight_decay
        return self.optimizer.weight_decay if wd is None else wd

    def variant_batch_size(self, i: int) -> int:
        return self.variants[i].batch_size or self.batch_size

    def variant_standardize(self, i: int) -> bool:
        s = self.variants[i].standardize
        return self.dataset.standardize if s is None else s

    def variant_init(self, i: int) -> Init:
        return self.variants[i].init or self.model.init
