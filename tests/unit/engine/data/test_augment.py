"""Device-side crop and flip: shapes kept, the geometry right, reproducible from the seed."""

import pytest
import torch

from normscope.engine.data import BatchSampler, crop_flip
from normscope.engine.data.augment import PAD


def images(n: int = 6) -> torch.Tensor:
    return torch.randint(
        0, 256, (n, 3, 32, 32), dtype=torch.uint8, generator=torch.Generator().manual_seed(1)
    )


def test_crop_flip_keeps_shape_and_dtype():
    x = images()
    params = torch.tensor([[0, 8, 1], [4, 4, 0], [8, 0, 1], [3, 5, 0], [1, 1, 1], [7, 2, 0]])
    out = crop_flip(x, params)
    assert out.shape == x.shape and out.dtype == torch.uint8


def test_centre_crop_is_the_image_and_its_flip_the_mirror():
    x = images(2)
    centred = torch.tensor([[PAD, PAD, 0], [PAD, PAD, 1]])
    out = crop_flip(x, centred)
    assert torch.equal(out[0], x[0])
    assert torch.equal(out[1], x[1].flip(-1))


def test_a_shift_moves_the_image_and_fills_with_zeros():
    x = images(1)
    out = crop_flip(x, torch.tensor([[0, PAD + 2, 0]]))  # 4 rows down, 2 columns left
    assert torch.equal(out[0, :, PAD:, : 32 - 2], x[0, :, : 32 - PAD, 2:])
    assert out[0, :, :PAD].eq(0).all() and out[0, :, :, 32 - 2 :].eq(0).all()


@pytest.mark.parametrize("seed", [0, 5])
def test_batches_and_their_augmentation_repeat_from_the_seed(seed):
    a = BatchSampler(100, 32, seed, torch.device("cpu"), augment=True)
    b = BatchSampler(100, 32, seed, torch.device("cpu"), augment=True)
    other = BatchSampler(100, 32, seed + 1, torch.device("cpu"), augment=True)
    for _ in range(7):  # past an epoch boundary
        batch = a.next()
        assert batch.shape == (32, 4) and torch.equal(batch, b.next())
        assert (
            batch[:, 1:3].min() >= 0
            and batch[:, 1:3].max() <= 2 * PAD
            and set(batch[:, 3].tolist()) <= {0, 1}
        )
    assert not torch.equal(a.next(), other.next())


def test_without_augment_the_batches_are_the_same_indices():
    plain = BatchSampler(100, 32, 3, torch.device("cpu"))
    augmented = BatchSampler(100, 32, 3, torch.device("cpu"), augment=True)
    assert torch.equal(plain.next(), augmented.next()[:, 0])
