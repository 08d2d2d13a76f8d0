"""Data: datasets from every source, their files and downloads, batches and augmentation on the device."""

from normscope.catalog import DataRoot
from normscope.engine.data.augment import crop_flip
from normscope.engine.data.dataset import Dataset, load_dataset
from normscope.engine.data.download import ChecksumMismatch, download, ensure_files
from normscope.engine.data.errors import DatasetError
from normscope.engine.data.files import read_idx
from normscope.engine.data.sampler import BatchSampler

__all__ = [
    "BatchSampler",
    "ChecksumMismatch",
    "DataRoot",
    "Dataset",
    "DatasetError",
    "crop_flip",
    "download",
    "ensure_files",
    "load_dataset",
    "read_idx",
]
