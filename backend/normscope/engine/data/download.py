"""Dataset files fetched on first use with the standard library: mirrors in order, checksum checked, progress
reported; a download is written beside its target and renamed only once it is whole and verified."""

import hashlib
import os
import time
import urllib.error
import urllib.request
from pathlib import Path

from normscope.catalog import DataRoot, FileDataset, Progress, RemoteFile, missing_message, unavailable
from normscope.engine.data.errors import DatasetError

CHUNK = 1 << 20
PROGRESS_EVERY_S = 0.5
TIMEOUT_S = 30.0


class ChecksumMismatch(DatasetError):
    """What arrived is not the file the checksum names: refused, and nothing of it is kept."""


def ensure_files(root: DataRoot, dataset: FileDataset) -> Path:
    """The dataset's folder, with its files downloaded first when some are missing and downloads are on."""
    folder, missing, refusal = unavailable(dataset, root)
    if refusal is not None:
        raise DatasetError(refusal)
    if not missing:
        return folder
    folder.mkdir(parents=True, exist_ok=True)
    # a lab's own mirror replaces the public sources: no surprise traffic out of a hall that set one
    bases = [f"{root.mirror.rstrip('/')}/{dataset.name}/"] if root.mirror else list(dataset.mirrors)
    for f in dataset.files:
        if f.name in missing:
            _fetch(f, folder, bases, dataset, root.on_progress)
    return folder


def _fetch(file: RemoteFile, folder: Path, bases: list[str], dataset: FileDataset, progress: Progress | None):
    failures = []
    for base in bases:
        try:
            download(base + file.name, folder / file.name, file.md5, file.size, progress)
            return
        except ChecksumMismatch as e:
            failures.append(str(e))
        except (urllib.error.URLError, OSError, TimeoutError) as e:
            reason = getattr(e, "reason", None) or e
            failures.append(f"{base + file.name}: {reason}")
    why = f"could not download {file.name} ({'; '.join(failures)})"
    raise DatasetError(missing_message(dataset, folder, why))


def download(url: str, dest: Path, md5: str, size: int, progress: Progress | None = None) -> Path:
    """url to dest through dest.part; the part is removed whatever happens, so no half file is ever read."""
    part = dest.with_name(dest.name + ".part")
    digest = hashlib.md5(usedforsecurity=False)
    try:
        with urllib.request.urlopen(url, timeout=TIMEOUT_S) as response, open(part, "wb") as out:
            total = int(response.headers.get("Content-Length") or 0) or size
            done, shown = 0, 0.0
            while chunk := response.read(CHUNK):
                out.write(chunk)
                digest.update(chunk)
                done += len(chunk)
                if progress is not None and time.monotonic() - shown >= PROGRESS_EVERY_S:
                    progress(dest.name, done, total)
                    shown = time.monotonic()
        if digest.hexdigest() != md5:
            raise ChecksumMismatch(f"{url}: checksum {digest.hexdigest()} is not the expected {md5}")
        if progress is not None:
            progress(dest.name, done, max(total, done))
        os.replace(part, dest)
    finally:
        part.unlink(missing_ok=True)
    return dest
