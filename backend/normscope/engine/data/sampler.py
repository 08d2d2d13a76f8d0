"""Batches by index, drawn per epoch on the host in one go and uploaded once: a step slices on the device."""

import torch

from normscope.engine.data.augment import draw_crops
from normscope.engine.data.errors import DatasetError


class BatchSampler:
    """Seeded epoch permutations cut into batches of one size (drop_last): the same seed and size give
    the same batches, so variants of equal batch size train on identical mini-batches at every step. With
    augment, each position of the epoch also gets its crop and flip, drawn from the same generator."""

    def __init__(
        self, n: int, batch_size: int, seed: int, device: torch.device, augment: bool = False
    ) -> None:
        if batch_size > n:
            raise DatasetError(f"batch_size {batch_size} exceeds the {n} training samples")
        self.n, self.batch_size, self.device, self.augment = n, batch_size, device, augment
        self._gen = torch.Generator().manual_seed(seed)
        self._epoch = torch.empty(0, 1, dtype=torch.long)
        self._pos = 0

    def next(self) -> torch.Tensor:
        """(batch,) indices, or (batch, 4) with augment: index, row shift, column shift, flip."""
        if self._pos + self.batch_size > len(self._epoch):
            # one upload per epoch: the per-step slice below is a view on the device, with no copy
            epoch = torch.randperm(self.n, generator=self._gen)[:, None]
            if self.augment:
                epoch = torch.cat([epoch, draw_crops(self.n, self._gen)], dim=1)
            if self.device.type == "cuda":  # from pinned memory the upload does not wait for the GPU
                epoch = epoch.pin_memory()
            self._epoch = epoch.to(self.device, non_blocking=True)
            self._pos = 0
        batch = self._epoch[self._pos : self._pos + self.batch_size]
        self._pos += self.batch_size
        return batch if self.augment else batch[:, 0]
