"""Dataset: a fixed train/val split as tensors, built from shipped, synthetic or downloaded data.

Features (tabular sets, digits, idx) are float32 and standardized here with train-split statistics. Images
of the pixel sets (mnist, fashion_mnist, cifar10, cifar100, shapes) stay uint8 on the device, a quarter of
the memory and of the upload; the model's Input stage scales them with per-channel statistics."""

import functools
import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from normscope.catalog import FILE_DATASETS, DataRoot
from normscope.engine.data.bundled import load_table
from normscope.engine.data.download import ensure_files
from normscope.engine.data.errors import DatasetError
from normscope.engine.data.files import read_cifar, read_idx_split
from normscope.engine.data.shapes import make_shapes
from normscope.engine.data.synthetic import make_blobs, make_spirals
from normscope.engine.models import InputShape
from normscope.schemas import DatasetSpec
from normscope.schemas.spec import DEFAULT_SAMPLES

STATS_SAMPLES = 10_000  # images the per-channel mean and std are estimated from: plenty, and quick


@dataclass
class Dataset:
    """Train and validation tensors on the host; `tensors()` puts them on a device once per scaling."""

    x_train: torch.Tensor  # float32 features (n, f), or uint8 images (n, C, H, W)
    y_train: torch.Tensor
    x_val: torch.Tensor
    y_val: torch.Tensor
    n_classes: int
    image_shape: tuple[int, int, int] | None  # (channels, height, width) of an image set
    _cache: dict[tuple[bool, str], tuple[torch.Tensor, ...]] = field(default_factory=dict, repr=False)

    @property
    def pixels(self) -> bool:
        return self.x_train.dtype == torch.uint8

    @property
    def n_features(self) -> int:
        return math.prod(self.x_train.shape[1:])

    @functools.cached_property
    def _pixel_stats(self) -> tuple[tuple[float, ...], tuple[float, ...]]:
        """Per-channel mean and std of the train split's pixels: estimated once, shared by every variant."""
        channels = self.x_train.shape[1]
        sample = self.x_train[:STATS_SAMPLES].float().transpose(0, 1).reshape(channels, -1)
        return tuple(sample.mean(1).tolist()), tuple(sample.std(1).clamp(min=1.0).tolist())

    def input_shape(self, standardize: bool) -> InputShape:
        mean = std = None
        if self.pixels:
            channels = self.x_train.shape[1]
            # unstandardized pixels end in [0, 1]
            mean, std = self._pixel_stats if standardize else ((0.0,) * channels, (255.0,) * channels)
        return InputShape(self.n_features, self.n_classes, self.image_shape, mean, std)

    def tensors(self, standardize: bool, device: torch.device) -> tuple[torch.Tensor, ...]:
        """(x_train, y_train, x_val, y_val) on the device; built once per scaling (pixels: once)."""
        key = (standardize and not self.pixels, str(device))
        if key not in self._cache:
            xt, xv = self.x_train, self.x_val
            if key[0]:
                mean = xt.double().mean(0)
                std = xt.double().std(0, unbiased=False)
                std[std == 0] = (
                    1.0  # constant features (digit borders) stay constant instead of dividing by 0
                )
                xt, xv = ((a.double() - mean) / std for a in (xt, xv))
            self._cache[key] = tuple(
                a.to(device)
                for a in (
                    xt.float() if xt.is_floating_point() else xt,
                    self.y_train,
                    xv.float() if xv.is_floating_point() else xv,
                    self.y_val,
                )
            )
        return self._cache[key]


def load_dataset(spec: DatasetSpec, seed: int, root: DataRoot | None = None) -> Dataset:
    if spec.name in FILE_DATASETS:
        return _from_files(spec, root or DataRoot())
    if spec.name == "shapes":
        x, y = make_shapes(spec.n_samples or DEFAULT_SAMPLES["shapes"], seed)
        return _split(x, y, spec.val_fraction, seed, (3, 32, 32), 10)
    x, y, image_shape = _tabular(spec, seed)
    y = np.asarray(y, dtype=np.int64)
    return _split(
        torch.from_numpy(np.asarray(x, dtype=np.float64)),
        torch.from_numpy(y),
        spec.val_fraction,
        seed,
        image_shape,
        int(y.max()) + 1,
    )


def _split(
    x: torch.Tensor,
    y: torch.Tensor,
    val_fraction: float,
    seed: int,
    image: tuple[int, int, int] | None,
    n_classes: int,
) -> Dataset:
    order = torch.from_numpy(np.random.default_rng(seed).permutation(len(x)))
    n_val = max(1, round(len(x) * val_fraction))
    val, train = order[:n_val], order[n_val:]
    return Dataset(x[train], y[train], x[val], y[val], n_classes, image)


def _from_files(spec: DatasetSpec, root: DataRoot) -> Dataset:
    """The official split: train (at most n_samples of it) for training, test for validation."""
    catalog = FILE_DATASETS[spec.name]
    folder = ensure_files(root, catalog)
    if spec.name.startswith("cifar"):
        (xt, yt), (xv, yv) = read_cifar(folder, spec.name, catalog.files[0].name)
    else:
        (xt, yt), (xv, yv) = read_idx_split(folder, "train", None), read_idx_split(folder, "t10k", None)
    if spec.n_samples is not None:
        xt, yt = xt[: spec.n_samples], yt[: spec.n_samples]
    if len(yt) == 0 or len(yv) == 0:
        raise DatasetError(f"{folder}: no training or no test images")
    n_classes = int(max(yt.max(), yv.max())) + 1
    image = (int(xt.shape[1]), int(xt.shape[2]), int(xt.shape[3]))
    return Dataset(
        torch.from_numpy(xt),
        torch.from_numpy(yt),
        torch.from_numpy(xv),
        torch.from_numpy(yv),
        n_classes,
        image,
    )


def _tabular(spec: DatasetSpec, seed: int) -> tuple[np.ndarray, np.ndarray, tuple[int, int, int] | None]:
    rng = np.random.default_rng(seed + 7919)
    n = spec.n_samples or DEFAULT_SAMPLES.get(spec.name, 0)  # only the drawn sets use it
    match spec.name:
        case "digits":
            return *load_table("digits"), (1, 8, 8)
        case "breast_cancer" | "wine":
            return *load_table(spec.name), None
        case "spirals":
            x, y = make_spirals(n, spec.n_classes, spec.noise, rng)
            return x, y, None
        case "blobs":
            x, y = make_blobs(n, spec.n_classes, spec.n_features, spec.noise, rng)
            if spec.feature_scales is not None:
                x = x * np.asarray(spec.feature_scales)
            return x, y, None
        case "idx":
            assert spec.path is not None
            folder = Path(spec.path)
            if not folder.is_dir():
                raise DatasetError(f"idx path {folder} is not a folder")
            images, labels = read_idx_split(folder, "train", spec.n_samples)
            return images.reshape(len(images), -1) / 255.0, labels, tuple(images.shape[1:])
    raise DatasetError(f"unknown dataset {spec.name!r}")
