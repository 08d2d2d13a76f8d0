"""Readers for the distributed formats: IDX (MNIST, Fashion-MNIST, gzipped or not) and CIFAR's pickled
batches (from the tarball as downloaded, or its extracted folder). numpy only, no torchvision."""

import gzip
import io
import pickle
import struct
import tarfile
from pathlib import Path
from typing import ClassVar

import numpy as np

from normscope.engine.data.errors import DatasetError

_IDX_DTYPES = {0x08: np.uint8, 0x09: np.int8, 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}
Split = tuple[np.ndarray, np.ndarray]  # images (n, C, H, W) uint8, labels (n,) int64


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
            data = np.frombuffer(
                bytearray(f.read(count * dtype.itemsize)), dtype=dtype
            )  # writable: torch shares it
    except (OSError, EOFError) as e:
        raise DatasetError(f"{path}: cannot read ({getattr(e, 'strerror', None) or e})") from e
    except struct.error as e:
        raise DatasetError(f"{path}: truncated IDX header") from e
    if data.size != count:
        raise DatasetError(f"{path}: truncated, expected {count} values, found {data.size}")
    return data.reshape(dims)


def find_idx(folder: Path, stem: str) -> Path:
    for name in (stem, stem + ".gz", stem.replace("-idx", ".idx"), stem.replace("-idx", ".idx") + ".gz"):
        if (folder / name).is_file():
            return folder / name
    raise DatasetError(f"{folder}: no {stem} (or {stem}.gz) found")


def read_idx_split(folder: Path, prefix: str, limit: int | None) -> Split:
    """One split's images and labels (prefix 'train' or 't10k'), checked to agree."""
    images = read_idx(find_idx(folder, f"{prefix}-images-idx3-ubyte"), limit)
    labels = read_idx(find_idx(folder, f"{prefix}-labels-idx1-ubyte"), limit)
    if images.ndim != 3:
        raise DatasetError(f"{folder}: images must have 3 dimensions (n, rows, cols), found {images.ndim}")
    if len(images) != len(labels):
        raise DatasetError(f"{folder}: {len(images)} {prefix} images but {len(labels)} labels")
    if len(labels) and (labels.min() < 0 or labels.max() > 255):
        raise DatasetError(f"{folder}: labels out of range")
    return images[:, None], labels.astype(np.int64)


class _ArraysOnly(pickle.Unpickler):
    """CIFAR's batches are pickles: of what a pickle may build, allow only numpy arrays (no code runs)."""

    ALLOWED: ClassVar[set[tuple[str, str]]] = {
        ("numpy.core.multiarray", "_reconstruct"),
        ("numpy._core.multiarray", "_reconstruct"),
        ("numpy", "ndarray"),
        ("numpy", "dtype"),
        ("_codecs", "encode"),  # how a protocol-2 pickle written by Python 3 carries an array's bytes
    }

    def find_class(self, module: str, name: str) -> type:
        if (module, name) not in self.ALLOWED:
            raise DatasetError(f"a CIFAR batch may hold only arrays, not {module}.{name}")
        return super().find_class(module, name)


CIFAR_BATCHES = {
    "cifar10": ("cifar-10-batches-py", [f"data_batch_{i}" for i in range(1, 6)], ["test_batch"], b"labels"),
    "cifar100": ("cifar-100-python", ["train"], ["test"], b"fine_labels"),
}


def _cifar_batch(raw: bytes, where: str, label_key: bytes) -> Split:
    try:
        batch = _ArraysOnly(io.BytesIO(raw), encoding="bytes").load()
        data = np.asarray(batch[b"data"], dtype=np.uint8)
        labels = np.asarray(batch[label_key], dtype=np.int64)
    except (pickle.UnpicklingError, KeyError, TypeError, ValueError, EOFError) as e:
        raise DatasetError(f"{where}: not a CIFAR batch ({e})") from e
    if data.ndim != 2 or data.shape[1] != 3 * 32 * 32 or len(data) != len(labels):
        raise DatasetError(
            f"{where}: expected n x 3072 pixels and n labels, found {data.shape} and {len(labels)}"
        )
    return data.reshape(-1, 3, 32, 32), labels


def read_cifar(folder: Path, name: str, archive: str) -> tuple[Split, Split]:
    """(train, test) from the extracted folder when there is one, else straight from the tarball."""
    sub, train_names, test_names, label_key = CIFAR_BATCHES[name]
    raws: dict[str, bytes] = {}
    if (folder / sub).is_dir():
        for n in train_names + test_names:
            try:
                raws[n] = (folder / sub / n).read_bytes()
            except OSError as e:
                raise DatasetError(f"{folder / sub}: cannot read {n} ({e.strerror or e})") from e
    else:
        try:
            with tarfile.open(folder / archive, "r:gz") as tar:
                for n in train_names + test_names:
                    member = tar.extractfile(f"{sub}/{n}")
                    if member is None:
                        raise KeyError(n)
                    raws[n] = member.read()
        except KeyError as e:
            raise DatasetError(f"{folder / archive}: no {sub}/{e.args[0]} inside") from e
        except (OSError, tarfile.TarError, EOFError) as e:
            raise DatasetError(f"{folder / archive}: cannot read ({e})") from e

    def join(names: list[str]) -> Split:
        parts = [_cifar_batch(raws[n], f"{folder}/{sub}/{n}", label_key) for n in names]
        return np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts])

    return join(train_names), join(test_names)
