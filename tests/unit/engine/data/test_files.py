"""Each loader on small files written in exactly the distributed formats."""

import io
import os
import pickle
import tarfile

import numpy as np
import pytest
import torch

from normscope.engine.data import DataRoot, DatasetError, load_dataset
from normscope.schemas import DatasetSpec
from tests.unit.engine.data.formats import CIFAR_LAYOUT, mnist_folder, write_cifar


def offline(tmp_path) -> DataRoot:
    return DataRoot(tmp_path / "datasets", downloads=False)


@pytest.mark.parametrize("name", ["mnist", "fashion_mnist"])
@pytest.mark.parametrize("gz", [True, False])
def test_idx_sets_read_train_and_the_official_test_split(tmp_path, name, gz):
    arrays = mnist_folder(tmp_path / "datasets" / name, gz=gz)
    d = load_dataset(DatasetSpec(name=name), seed=0, root=offline(tmp_path))
    assert d.x_train.dtype == torch.uint8 and d.x_train.shape == (60, 1, 28, 28)
    assert d.image_shape == (1, 28, 28) and d.n_classes == 10 and d.n_features == 784
    np.testing.assert_array_equal(d.x_train[:, 0].numpy(), arrays["train"][0])
    np.testing.assert_array_equal(d.x_val[:, 0].numpy(), arrays["t10k"][0])
    np.testing.assert_array_equal(d.y_val.numpy(), arrays["t10k"][1])


def test_n_samples_caps_the_training_split_only(tmp_path):
    mnist_folder(tmp_path / "datasets" / "mnist")
    d = load_dataset(DatasetSpec(name="mnist", n_samples=50), seed=0, root=offline(tmp_path))
    assert len(d.y_train) == 50 and len(d.y_val) == 20


@pytest.mark.parametrize("name", ["cifar10", "cifar100"])
@pytest.mark.parametrize("extracted", [False, True])
def test_cifar_from_the_tarball_or_its_extracted_folder(tmp_path, name, extracted):
    files = write_cifar(tmp_path / "datasets" / name, name, extracted=extracted)
    _, sub, train, test, key, classes = CIFAR_LAYOUT[name]
    d = load_dataset(DatasetSpec(name=name), seed=0, root=offline(tmp_path))
    assert d.x_train.shape == (8 * len(train), 3, 32, 32) and d.x_train.dtype == torch.uint8
    first = pickle.loads(files[f"{sub}/{train[0]}"], encoding="bytes")
    # CIFAR's rows are 1024 red, then 1024 green, then 1024 blue values, each row-major
    np.testing.assert_array_equal(d.x_train[0].numpy(), first[b"data"][0].reshape(3, 32, 32))
    assert d.y_train[:8].tolist() == first[key.encode()]
    held_out = pickle.loads(files[f"{sub}/{test}"], encoding="bytes")
    assert d.y_val.tolist() == held_out[key.encode()]
    assert d.image_shape == (3, 32, 32) and d.n_classes <= classes


def test_a_cifar_pickle_that_would_run_code_is_refused(tmp_path):
    class Evil:
        def __reduce__(self):
            return (os.system, ("echo pwned > " + str(tmp_path / "pwned"),))

    sub = tmp_path / "datasets" / "cifar10" / "cifar-10-batches-py"
    write_cifar(tmp_path / "datasets" / "cifar10", "cifar10", extracted=True)
    (sub / "data_batch_1").write_bytes(pickle.dumps({b"data": Evil()}))
    with pytest.raises(DatasetError, match="only arrays"):
        load_dataset(DatasetSpec(name="cifar10"), seed=0, root=offline(tmp_path))
    assert not (tmp_path / "pwned").exists()


def test_a_truncated_tarball_is_a_dataset_error(tmp_path):
    folder = tmp_path / "datasets" / "cifar10"
    write_cifar(folder, "cifar10")
    tarball = folder / "cifar-10-python.tar.gz"
    tarball.write_bytes(tarball.read_bytes()[:200])
    with pytest.raises(DatasetError, match=r"cifar-10-python\.tar\.gz"):
        load_dataset(DatasetSpec(name="cifar10"), seed=0, root=offline(tmp_path))


def test_a_tarball_without_the_batches_names_what_is_missing(tmp_path):
    folder = tmp_path / "datasets" / "cifar10"
    folder.mkdir(parents=True)
    with tarfile.open(folder / "cifar-10-python.tar.gz", "w:gz") as tar:
        info = tarfile.TarInfo("README")
        info.size = 2
        tar.addfile(info, io.BytesIO(b"hi"))
    with pytest.raises(DatasetError, match="data_batch_1"):
        load_dataset(DatasetSpec(name="cifar10"), seed=0, root=offline(tmp_path))


@pytest.mark.parametrize("name", ["mnist", "cifar10"])
def test_missing_files_with_downloads_off_name_the_files_and_the_folder(tmp_path, name):
    with pytest.raises(DatasetError) as e:
        load_dataset(DatasetSpec(name=name), seed=0, root=offline(tmp_path))
    folder = tmp_path / "datasets" / name
    assert str(folder) in str(e.value) and "downloads are off" in str(e.value)
    assert ("train-images-idx3-ubyte.gz" if name == "mnist" else "cifar-10-python.tar.gz") in str(e.value)
    assert not folder.exists()
