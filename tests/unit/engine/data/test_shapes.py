import torch

from normscope.engine.data import load_dataset
from normscope.engine.data.shapes import CLASSES, make_shapes
from normscope.schemas import DatasetSpec


def test_shapes_are_balanced_rgb_uint8_and_repeat_from_the_seed():
    x, y = make_shapes(500, seed=3)
    assert x.shape == (500, 3, 32, 32) and x.dtype == torch.uint8
    assert torch.bincount(y).tolist() == [50] * len(CLASSES)
    x2, y2 = make_shapes(500, seed=3)
    assert torch.equal(x, x2) and torch.equal(y, y2)
    assert not torch.equal(make_shapes(500, seed=4)[0], x)


def test_classes_differ_in_their_figure_not_their_colours():
    """Mean colour says nothing of the class: the figure must be seen."""
    x, y = make_shapes(4000, seed=0)
    per_class = torch.stack([x[y == k].float().mean() for k in range(len(CLASSES))])
    assert per_class.std() < 6  # on a 0..255 scale


def test_the_shapes_dataset_splits_by_val_fraction():
    d = load_dataset(DatasetSpec(name="shapes", n_samples=1000, val_fraction=0.1), seed=0)
    assert (
        len(d.y_train) == 900 and len(d.y_val) == 100 and d.image_shape == (3, 32, 32) and d.n_classes == 10
    )
