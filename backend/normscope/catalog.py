"""The datasets that come as files: what each folder must hold, where the files download from, their
checksums, and where they live. No torch: the server reads it to refuse a launch whose files are missing
when it may not download, and hands the same DataRoot to its workers.
"""

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

Progress = Callable[[str, int, int], None]  # file name, bytes done, bytes in all


@dataclass(frozen=True)
class DataRoot:
    """Where dataset folders live ($NORMSCOPE_DATA_DIR/datasets) and whether missing files may be fetched."""

    folder: Path = Path("data") / "datasets"  # the default NORMSCOPE_DATA_DIR's
    downloads: bool = True
    mirror: str | None = None  # a base URL used instead of the public ones: <mirror>/<dataset>/<file>
    on_progress: Progress | None = None  # set in the process that downloads (a worker, the CLI)


@dataclass(frozen=True)
class RemoteFile:
    name: str
    md5: str
    size: int  # bytes: progress shows a total even when the server sends no length


@dataclass(frozen=True)
class FileDataset:
    name: str
    files: tuple[RemoteFile, ...]
    mirrors: tuple[str, ...]  # base URLs tried in order; a file is at base + file name
    extracted: str | None = None  # the folder an archive unpacks to, which may stand in for the archive

    def missing(self, folder: Path) -> list[str]:
        """The files the folder lacks (an extracted archive counts as its archive)."""
        if self.extracted is not None and (folder / self.extracted).is_dir():
            return []
        return [f.name for f in self.files if not _present(folder, f.name)]

    def where(self) -> str:
        names = ", ".join(f.name for f in self.files)
        alt = f" (or the extracted {self.extracted}/)" if self.extracted else ""
        return f"{names}{alt}"


def _present(folder: Path, name: str) -> bool:
    # an idx file may also sit uncompressed, as some mirrors and unzip habits leave it
    return (folder / name).is_file() or (name.endswith(".gz") and (folder / name[:-3]).is_file())


def _idx_files(md5s: tuple[str, str, str, str], sizes: tuple[int, int, int, int]) -> tuple[RemoteFile, ...]:
    names = ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz")
    names += ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz")
    return tuple(RemoteFile(n, m, s) for n, m, s in zip(names, md5s, sizes, strict=True))


FILE_DATASETS: dict[str, FileDataset] = {
    "mnist": FileDataset(
        "mnist",
        _idx_files(
            (
                "f68b3c2dcbeaaa9fbdd348bbdeb94873",
                "d53e105ee54ea40749a09fcbcd1e9432",
                "9fb629c4189551a2d022fa330f9573f3",
                "ec29112dd5afa0611ce80d1b7f02629c",
            ),
            (9912422, 28881, 1648877, 4542),
        ),
        ("https://ossci-datasets.s3.amazonaws.com/mnist/", "https://yann.lecun.com/exdb/mnist/"),
    ),
    "fashion_mnist": FileDataset(
        "fashion_mnist",
        _idx_files(
            (
                "8d4fb7e6c68d591d4c3dfef9ec88bf0d",
                "25c81989df183df01b3e8a0aad5dffbe",
                "bef4ecab320f06d8554ea6380940ec79",
                "bb300cfdad3c16e7a12a480ee83cd310",
            ),
            (26421880, 29515, 4422102, 5148),
        ),
        (
            "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",
            "https://raw.githubusercontent.com/zalandoresearch/fashion-mnist/master/data/fashion/",
        ),
    ),
    "cifar10": FileDataset(
        "cifar10",
        (RemoteFile("cifar-10-python.tar.gz", "c58f30108f718f92721af3b95e74349a", 170498071),),
        ("https://www.cs.toronto.edu/~kriz/",),
        extracted="cifar-10-batches-py",
    ),
    "cifar100": FileDataset(
        "cifar100",
        (RemoteFile("cifar-100-python.tar.gz", "eb9058c3a382ffc7106e4002c42a8d85", 169001437),),
        ("https://www.cs.toronto.edu/~kriz/",),
        extracted="cifar-100-python",
    ),
}


def unavailable(dataset: FileDataset, root: DataRoot) -> tuple[Path, list[str], str | None]:
    """The dataset's folder, the files it lacks, and, when they are missing and may not be downloaded, the
    refusal to show: the one check the server makes at launch and a worker makes before it downloads."""
    folder = root.folder / dataset.name
    missing = dataset.missing(folder)
    refusal = None
    if missing and not root.downloads:
        refusal = missing_message(dataset, folder, f"{', '.join(missing)} missing and downloads are off")
    return folder, missing, refusal


def missing_message(dataset: FileDataset, folder: Path, why: str) -> str:
    """What a lecturer needs to fix it: which files, which folder, and how to get them."""
    return (
        f"dataset {dataset.name!r}: {why}. Put {dataset.where()} in {folder} "
        f"(from {dataset.mirrors[0]}), or allow downloads (NORMSCOPE_DOWNLOADS=true) on a machine with "
        "a network"
    )
