"""scikit-learn's shipped tables, read from its files: the numbers its loaders give, without its import."""

import subprocess
import sys

import numpy as np
import pytest

from normscope.engine.data.bundled import load_table


@pytest.mark.parametrize("name", ["digits", "breast_cancer", "wine"])
def test_a_table_is_what_scikit_learn_loads(name: str) -> None:
    from sklearn import datasets

    expected = getattr(datasets, f"load_{name}")()
    x, y = load_table(name)
    assert x.dtype == expected.data.dtype and y.dtype == expected.target.dtype
    assert np.array_equal(x, expected.data) and np.array_equal(y, expected.target)


def test_building_a_shipped_dataset_does_not_import_scikit_learn() -> None:
    code = (
        "import sys\n"
        "from normscope.engine.data import load_dataset\n"
        "from normscope.schemas import DatasetSpec\n"
        "for name in ('digits', 'breast_cancer', 'wine'):\n"
        "    load_dataset(DatasetSpec(name=name), seed=0)\n"
        "assert 'sklearn' not in sys.modules, sorted(m for m in sys.modules if m.startswith('sklearn'))\n"
    )
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
