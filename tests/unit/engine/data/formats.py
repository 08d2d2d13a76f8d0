"""Small files in exactly the distributed formats: gzip IDX (MNIST, Fashion-MNIST) and CIFAR's pickled
batches in their tarball, written the way the originals were (numpy arrays in pickled dicts)."""

import gzip
import io
import pickle
import struct
import tarfile
from pathlib import Path

import numpy as np

IDX_CODES = {np.dtype(np.uint8): 0x08}


def idx_bytes(arr: np.ndarray) -> bytes:
    return (
        bytes([0, 0, IDX_CODES[arr.dtype], arr.ndim])
        + struct.pack(f">{arr.ndim}I", *arr.shape)
        + arr.tobytes()
    )


def write_idx(path: Path, arr: np.ndarray, gz: bool = False) -> Path:
    raw = idx_bytes(arr)
    if gz:
        path = path.with_name(path.name + ".gz")
        path.write_bytes(gzip.compress(raw))
    else:
        path.write_bytes(raw)
    return path


def mnist_folder(folder: Path, n_train: int = 60, n_test: int = 20, gz: bool = True, seed: int = 0) -> dict:
    """The four idx files under their usual names; returns the arrays written."""
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    arrays = {}
    for prefix, n in (("train", n_train), ("t10k", n_test)):
        images = rng.integers(0, 256, (n, 28, 28), dtype=np.uint8)
        labels = (np.arange(n) % 10).astype(np.uint8)
        write_idx(folder / f"{prefix}-images-idx3-ubyte", images, gz)
        write_idx(folder / f"{prefix}-labels-idx1-ubyte", labels, gz)
        arrays[prefix] = (images, labels)
    return arrays


def cifar_batch(
    n: int, rng: np.random.Generator, label_key: str, classes: int
) -> tuple[bytes, np.ndarray, list]:
    data = rng.integers(0, 256, (n, 3072), dtype=np.uint8)
    labels = [int(x) for x in rng.integers(0, classes, n)]
    batch = {
        b"batch_label": b"training batch",
        label_key.encode(): labels,
        b"data": data,
        b"filenames": [f"img{i}.png".encode() for i in range(n)],
    }
    return pickle.dumps(batch, protocol=2), data, labels


CIFAR_LAYOUT = {
    "cifar10": (
        "cifar-10-python.tar.gz",
        "cifar-10-batches-py",
        [f"data_batch_{i}" for i in range(1, 6)],
        "test_batch",
        "labels",
        10,
    ),
    "cifar100": ("cifar-100-python.tar.gz", "cifar-100-python", ["train"], "test", "fine_labels", 100),
}


def cifar_files(name: str, seed: int = 0, per_batch: int = 8) -> dict[str, bytes]:
    """{path inside the tarball: bytes}, the batches in CIFAR's own layout."""
    _, sub, train, test, key, classes = CIFAR_LAYOUT[name]
    rng = np.random.default_rng(seed)
    files = {f"{sub}/{n}": cifar_batch(per_batch, rng, key, classes)[0] for n in [*train, test]}
    files[f"{sub}/batches.meta"] = pickle.dumps({b"label_names": [b"x"] * classes}, protocol=2)
    return files


def write_cifar(folder: Path, name: str, extracted: bool = False, seed: int = 0) -> dict[str, bytes]:
    archive = CIFAR_LAYOUT[name][0]
    files = cifar_files(name, seed)
    folder.mkdir(parents=True, exist_ok=True)
    if extracted:
        for path, raw in files.items():
            (folder / path).parent.mkdir(parents=True, exist_ok=True)
            (folder / path).write_bytes(raw)
    else:
        with tarfile.open(folder / archive, "w:gz") as tar:
            for path, raw in files.items():
                info = tarfile.TarInfo(path)
                info.size = len(raw)
                tar.addfile(info, io.BytesIO(raw))
    return files
