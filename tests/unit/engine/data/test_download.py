"""Downloads against a real HTTP server on 127.0.0.1: checksums, interruptions, mirrors, no network."""

import gzip
import hashlib
import socket

import pytest
import torch

from normscope.catalog import FILE_DATASETS, FileDataset, RemoteFile
from normscope.engine.data import (
    ChecksumMismatch,
    DataRoot,
    DatasetError,
    download,
    ensure_files,
    load_dataset,
)
from normscope.schemas import DatasetSpec
from tests.unit.engine.data.formats import idx_bytes


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_a_download_arrives_whole_with_progress(tmp_path, file_server):
    body = bytes(range(256)) * 20_000  # 5 MB: several chunks
    file_server.files["f.bin"] = body
    seen = []
    path = download(
        file_server.url("f.bin"),
        tmp_path / "f.bin",
        hashlib.md5(body).hexdigest(),
        1,
        lambda name, done, total: seen.append((name, done, total)),
    )
    assert path.read_bytes() == body
    assert seen[-1] == ("f.bin", len(body), len(body))  # the server's length, not the catalog's guess
    assert list(tmp_path.iterdir()) == [path]


def test_a_checksum_mismatch_is_refused_and_nothing_is_kept(tmp_path, file_server):
    file_server.files["f.bin"] = b"not what the checksum names"
    with pytest.raises(ChecksumMismatch, match="checksum"):
        download(file_server.url("f.bin"), tmp_path / "f.bin", "0" * 32, 10)
    assert list(tmp_path.iterdir()) == []


def test_an_interrupted_download_leaves_no_half_file(tmp_path, file_server):
    body = b"x" * 300_000
    file_server.files["f.bin"] = body
    file_server.cut.add("f.bin")
    with pytest.raises(Exception):  # noqa: B017 - http.client's IncompleteRead or a checksum mismatch
        download(file_server.url("f.bin"), tmp_path / "f.bin", hashlib.md5(body).hexdigest(), len(body))
    assert list(tmp_path.iterdir()) == []


def test_a_wrong_file_is_refused_from_every_source_in_turn(tmp_path, file_server):
    """The real catalog's checksums: a file that is not MNIST's is refused and removed, the next source is
    tried, and the launch fails with the files and the folder named."""
    mnist = FILE_DATASETS["mnist"]
    two_sources = FileDataset("mnist", mnist.files, (file_server.url("a/"), file_server.url("b/")))
    for f in mnist.files:
        file_server.files[f"a/{f.name}"] = file_server.files[f"b/{f.name}"] = gzip.compress(b"not mnist")
    with pytest.raises(DatasetError) as e:
        ensure_files(DataRoot(tmp_path / "datasets"), two_sources)
    text = str(e.value)
    assert "checksum" in text and "train-images-idx3-ubyte.gz" in text
    assert str(tmp_path / "datasets" / "mnist") in text
    assert file_server.requests == ["a/train-images-idx3-ubyte.gz", "b/train-images-idx3-ubyte.gz"]
    assert list((tmp_path / "datasets" / "mnist").iterdir()) == []


def test_a_mirror_replaces_the_public_sources(tmp_path, file_server):
    for f in FILE_DATASETS["mnist"].files:
        file_server.files[f"lab/mnist/{f.name}"] = gzip.compress(b"not mnist")
    root = DataRoot(tmp_path / "datasets", mirror=file_server.url("lab"))
    with pytest.raises(DatasetError, match="checksum"):
        ensure_files(root, FILE_DATASETS["mnist"])
    assert file_server.requests == ["lab/mnist/train-images-idx3-ubyte.gz"]  # no public source was asked


def test_downloaded_files_are_loaded(tmp_path, file_server):
    gen = torch.Generator().manual_seed(0)
    files = []
    for prefix, n in (("train", 30), ("t10k", 10)):
        images = torch.randint(0, 256, (n, 28, 28), dtype=torch.uint8, generator=gen).numpy()
        labels = (torch.arange(n) % 10).to(torch.uint8).numpy()
        for kind, arr in (("images-idx3", images), ("labels-idx1", labels)):
            body = gzip.compress(idx_bytes(arr))
            name = f"{prefix}-{kind}-ubyte.gz"
            file_server.files[f"m/{name}"] = body
            files.append(RemoteFile(name, hashlib.md5(body).hexdigest(), len(body)))
    catalog = FileDataset("mnist", tuple(files), (file_server.url("m/"),))
    progress = []
    root = DataRoot(tmp_path / "datasets", on_progress=lambda *a: progress.append(a))
    folder = ensure_files(root, catalog)
    assert sorted(p.name for p in folder.iterdir()) == sorted(f.name for f in files)
    assert {p[0] for p in progress} == {f.name for f in files}
    d = load_dataset(DatasetSpec(name="mnist"), seed=0, root=DataRoot(tmp_path / "datasets", downloads=False))
    assert len(d.y_train) == 30 and len(d.y_val) == 10
    assert (
        ensure_files(root, catalog) == folder and len(file_server.requests) == 4
    )  # present: not fetched again


def test_no_network_names_the_files_the_folder_and_the_reason(tmp_path):
    unreachable = FileDataset(
        "cifar10",
        FILE_DATASETS["cifar10"].files,
        (f"http://127.0.0.1:{closed_port()}/",),
        "cifar-10-batches-py",
    )
    with pytest.raises(DatasetError) as e:
        ensure_files(DataRoot(tmp_path / "datasets"), unreachable)
    text = str(e.value)
    assert "could not download cifar-10-python.tar.gz" in text and "refused" in text
    assert str(tmp_path / "datasets" / "cifar10") in text and "cifar-10-batches-py" in text
