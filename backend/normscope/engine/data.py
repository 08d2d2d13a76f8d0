"""Datasets that ship with the code (scikit-learn, synthetic) or sit on local disk (IDX), split and scaled."""

import gzip
import struct
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from normscope.schemas import DatasetSpec


class DatasetError(ValueError):
    """A dataset that cannot be built as asked: the message says why."""


@dataclass
class Dataset:
    """A fixed train/val split; float32 features, optionally standardized with train-split statistics."""

    x_train: np.ndarray
    y_train: np.ndarray
    x_val: np.ndarray
    y_val: np.ndarray
    n_classes: int
    image_shape: tuple[int, int] | None
    _cache: dict[tuple[bool, str], tuple[torch.Tensor, ...]] = field(default_factory=dict, repr=False)

    @property
    def n_features(self) -> int:
        return int(self.x_train.shape[1])

    def tensors(self, standardize: bool, device: torch.device) -> tuple[torch.Tensor, ...]:
        """(x_train, y_train, x_val, y_val) on the device; built once per scaling."""
        key = (standardize, str(device))
        if key not in self._cache:
            xt, xv = self.x_train, self.x_val
            if standardize:
                mean = xt.mean(axis=0)
                std = xt.std(axis=0)
                std[std == 0] = (
                    1.0  # constant features (digit borders) stay constant instead of dividing by 0
                )
                xt, xv = (xt - mean) / std, (xv - mean) / std
            self._cache[key] = tuple(
                torch.as_tensor(a).to(device)
                for a in (xt.astype(np.float32), self.y_train, xv.astype(np.float32), self.y_val)
            )
        return self._cache[key]


def load_dataset(spec: DatasetSpec, seed: int) -> Dataset:
    x, y, image_shape = _load_raw(spec, seed)
    y = np.asarray(y, dtype=np.int64)
    n_classes = int(y.max()) + 1
    order = np.random.default_rng(seed).permutation(len(x))
    n_val = max(1, round(len(x) * spec.val_fraction))
    val, train = order[:n_val], order[n_val:]
    return Dataset(
        x_train=x[train].astype(np.float64),
        y_train=y[train],
        x_val=x[val].astype(np.float64),
        y_val=y[val],
        n_classes=n_classes,
        image_shape=image_shape,
    )


def _load_raw(spec: DatasetSpec, seed: int) -> tuple[np.ndarray, np.ndarray, tuple[int, int] | None]:
    from sklearn import datasets as skd  # scikit-learn import is slow; only pay it when a dataset is built

    rng = np.random.default_rng(seed + 7919)
    match spec.name:
        case "digits":
            d = skd.load_digits()
            return d.data, d.target, (8, 8)
        case "breast_cancer":
            d = skd.load_breast_cancer()
            return d.data, d.target, None
        case "wine":
            d = skd.load_wine()
            return d.data, d.target, None
        case "spirals":
            x, y = make_spirals(spec.n_samples, spec.n_classes, spec.noise, rng)
            return x, y, None
        case "blobs":
            x, y = make_blobs(spec.n_samples, spec.n_classes, spec.n_features, spec.noise, rng)
            if spec.feature_scales is not None:
                x = x * np.asarray(spec.feature_scales)
            return x, y, None
        case "idx":
            assert spec.path is not None
            x, y = load_idx_folder(Path(spec.path), spec.n_samples)
            return x.reshape(len(x), -1) / 255.0, y, (int(x.shape[1]), int(x.shape[2]))
    raise DatasetError(f"unknown dataset {spec.name!r}")


def make_spirals(n: int, k: int, noise: float, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """k interleaved spiral arms in 2-D: not linearly separable, so depth and nonlinearity matter."""
    y = np.arange(n) % k
    t = rng.uniform(0.0, 1.0, n)
    r = t * 4.0
    angle = t * 3.0 * np.pi + y * (2 * np.pi / k)
    x = np.stack([r * np.cos(angle), r * np.sin(angle)], axis=1)
    return x + rng.normal(0.0, noise, x.shape), y


def make_blobs(
    n: int, k: int, d: int, noise: float, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """k Gaussian clusters in d dimensions with centres on a unit-scale grid of random directions."""
    centres = rng.normal(0.0, 1.0, (k, d))
    y = np.arange(n) % k
    return centres[y] + rng.normal(0.0, max(noise, 1e-3), (n, d)), y


_IDX_DTYPES = {0x08: np.uint8, 0x09: np.int8, 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}


def read_idx(path: Path, limit: int | None = None) -> np.ndarray:
    """Read an IDX file (the MNIST format), gzipped or not, keeping at most `limit` items."""
    opener = gzip.open if path.suffix == ".gz" else open
    try:
        with opener(path, "rb") as f:
            header = f.read(4)
            if len(header) < 4 or header[0] != 0 or header[1] != 0 or header[2] not in _IDX_DTYPES:
                raise DatasetError(f"{path}: not an IDX file (bad magic number)")
            ndim = header[3]
            dims = list(struct.unpack(f">{ndim}I", f.read(4 * ndim)))
            if limit is not None:
                dims[0] = min(dims[0], limit)
            dtype = np.dtype(_IDX_DTYPES[header[2]])
            count = int(np.prod(dims))
            data = np.frombuffer(f.read(count * dtype.itemsize), dtype=dtype)
    except OSError as e:
        raise DatasetError(f"{path}: cannot read ({e.strerror or e})") from e
    except struct.error as e:
        raise DatasetError(f"{path}: truncated IDX header") from e
    if data.size != count:
        raise DatasetError(f"{path}: truncated, expected {count} values, found {data.size}")
    return data.reshape(dims)


def _find(folder: Path, stem: str) -> Path:
    for name in (stem, stem + ".gz", stem.replace("-idx", ".idx"), stem.replace("-idx", ".idx") + ".gz"):
        if (folder / name).is_file():
            return folder / name
    raise DatasetError(f"{folder}: no {stem} (or {stem}.gz) found")


def load_idx_folder(folder: Path, limit: int) -> tuple[np.ndarray, np.ndarray]:
    if not folder.is_dir():
        raise DatasetError(f"idx path {folder} is not a folder")
    images = read_idx(_find(folder, "train-images-idx3-ubyte"), limit)
    labels = read_idx(_find(folder, "train-labels-idx1-ubyte"), limit)
    if images.ndim != 3:
        raise DatasetError(f"{folder}: images must have 3 dimensions (n, rows, cols), found {images.ndim}")
    if len(images) != len(labels):
        raise DatasetError(f"{folder}: {len(images)} images but {len(labels)} labels")
    if labels.min() < 0 or labels.max() > 255:
        raise DatasetError(f"{folder}: labels out of range")
    return images.astype(np.float64), labels.astype(np.int64)


class BatchSampler:
    """Seeded epoch permutations cut into batches of one size (drop_last): the same seed and size give
    the same batches, so variants of equal batch size train on identical mini-batches at every step."""

    def __init__(self, n: int, batch_size: int, seed: int, device: torch.device) -> None:
        if batch_size > n:
            raise DatasetError(f"batch_size {batch_size} exceeds the {n} training samples")
        self.n, self.batch_size, self.device = n, batch_size, device
        self._gen = torch.Generator().manual_seed(seed)
        self._perm = torch.empty(0, dtype=torch.long)
        self._pos = 0

    def next(self) -> torch.Tensor:
        if self._pos + self.batch_size > len(self._perm):
            # one upload per epoch: the per-step slice below is a view on the device, with no copy
            perm = torch.randperm(self.n, generator=self._gen)
            if self.device.type == "cuda":  # from pinned memory the upload does not wait for the GPU
                perm = perm.pin_memory()
            self._perm = perm.to(self.device, non_blocking=True)
            self._pos = 0
        idx = self._perm[self._pos : self._pos + self.batch_size]
        self._pos += self.batch_size
        return idx
