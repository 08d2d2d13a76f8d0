import numpy as np
import pytest
import torch

from normscope.engine.data import BatchSampler, DatasetError, load_dataset, read_idx
from normscope.schemas import DatasetSpec
from tests.unit.engine.data.formats import write_idx


@pytest.mark.parametrize("name", ["digits", "breast_cancer", "wine", "spirals", "blobs"])
def test_shipped_datasets_split_and_standardize_on_train(name):
    d = load_dataset(DatasetSpec(name=name, n_samples=300), seed=3)
    assert len(d.y_val) == pytest.approx(0.2 * (len(d.y_val) + len(d.y_train)), abs=1)
    xt, yt, _, _ = d.tensors(True, torch.device("cpu"))
    assert xt.dtype == torch.float32 and yt.dtype == torch.int64
    np.testing.assert_allclose(xt.mean(0).numpy(), 0, atol=1e-4)
    assert set(np.unique(d.y_train)) <= set(range(d.n_classes))


def test_split_is_fixed_by_the_seed():
    a, b, c = (load_dataset(DatasetSpec(name="wine"), seed=s) for s in (1, 1, 2))
    assert np.array_equal(a.y_val, b.y_val) and np.array_equal(a.x_train, b.x_train)
    assert not np.array_equal(a.x_train, c.x_train)


def test_blobs_feature_scales_make_features_differ_by_orders_of_magnitude():
    d = load_dataset(DatasetSpec(name="blobs", n_features=3, feature_scales=[1, 100, 10000]), seed=0)
    spread = d.x_train.std(0)
    assert spread[2] / spread[0] > 1000
    xt = d.tensors(True, torch.device("cpu"))[0]
    np.testing.assert_allclose(xt.std(0, correction=0).numpy(), 1, rtol=1e-3)


def test_idx_folder_plain_and_gzipped(tmp_path):
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (50, 6, 5), dtype=np.uint8)
    labels = (np.arange(50) % 4).astype(np.uint8)
    write_idx(tmp_path / "train-images-idx3-ubyte", images)
    write_idx(tmp_path / "train-labels-idx1-ubyte", labels, gz=True)
    assert np.array_equal(read_idx(tmp_path / "train-images-idx3-ubyte"), images)
    d = load_dataset(DatasetSpec(name="idx", path=str(tmp_path), n_samples=50), seed=0)
    assert d.image_shape == (1, 6, 5) and d.n_features == 30 and d.n_classes == 4
    assert d.x_train.max() <= 1.0


def test_idx_errors_are_specific(tmp_path):
    with pytest.raises(DatasetError, match="not a folder"):
        load_dataset(DatasetSpec(name="idx", path=str(tmp_path / "nope")), seed=0)
    with pytest.raises(DatasetError, match="no train-images-idx3-ubyte"):
        load_dataset(DatasetSpec(name="idx", path=str(tmp_path)), seed=0)
    (tmp_path / "train-images-idx3-ubyte").write_bytes(b"\x12\x34\x56\x78")
    with pytest.raises(DatasetError, match="bad magic"):
        read_idx(tmp_path / "train-images-idx3-ubyte")
    bad = write_idx(tmp_path / "short", np.zeros((4, 3, 3), dtype=np.uint8))
    bad.write_bytes(bad.read_bytes()[:-5])
    with pytest.raises(DatasetError, match="truncated"):
        read_idx(bad)


def test_batch_sampler_is_deterministic_drops_last_and_covers_an_epoch():
    a, b = (BatchSampler(10, 3, seed=5, device=torch.device("cpu")) for _ in range(2))
    first = [a.next() for _ in range(3)]
    assert all(torch.equal(x, b.next()) for x in first)
    assert all(len(x) == 3 for x in first)
    assert len(set(torch.cat(first).tolist())) == 9  # one epoch, the 10th sample dropped
    with pytest.raises(DatasetError, match="exceeds"):
        BatchSampler(10, 11, seed=0, device=torch.device("cpu"))
