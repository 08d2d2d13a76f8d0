"""The tables scikit-learn ships (digits, breast_cancer, wine), read from its package folder without importing
scikit-learn: its import costs ~1.7 s of CPU in every training worker, fork server and Ray actor."""

import importlib.util
from pathlib import Path

import numpy as np

from normscope.engine.data.errors import DatasetError

# name → (file in sklearn/datasets/data, whether its first line is "n_samples,n_features,class names…")
TABLES = {
    "digits": ("digits.csv.gz", False),
    "breast_cancer": ("breast_cancer.csv", True),
    "wine": ("wine_data.csv", True),
}


def data_folder() -> Path:
    """sklearn/datasets/data, found without running scikit-learn's __init__."""
    spec = importlib.util.find_spec("sklearn")
    if spec is None or not spec.submodule_search_locations:
        raise DatasetError(
            "the shipped datasets come with scikit-learn, which is not installed: pip install scikit-learn"
        )
    return Path(next(iter(spec.submodule_search_locations))) / "datasets" / "data"


def load_table(name: str) -> tuple[np.ndarray, np.ndarray]:
    """Features (float64, a row per sample) and integer labels, as scikit-learn's load_<name>() gives them."""
    file, headed = TABLES[name]
    path = data_folder() / file
    try:
        if headed:  # the header line and the rows from one read of the file
            with path.open() as f:
                expected = int(f.readline().split(",")[0])
                table = np.loadtxt(f, delimiter=",", ndmin=2)
        else:
            table = np.loadtxt(path, delimiter=",", ndmin=2)
    except (OSError, ValueError) as e:
        raise DatasetError(f"scikit-learn's {name} table at {path} cannot be read: {e}") from e
    if headed and len(table) != expected:
        raise DatasetError(f"{path}: {len(table)} rows where its header says {expected}")
    return table[:, :-1], table[:, -1].astype(int)
