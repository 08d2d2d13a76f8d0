"""Validation of one model: eval mode (BN's running statistics) and train mode (each batch's statistics),
and how much a train-mode prediction depends on the examples batched with it. Results stay on the device."""

import copy
from collections.abc import Iterator
from contextlib import contextmanager

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from normscope.engine.models import batchnorm_layers

EVAL_CHUNK = 4096
# Batch dependence looks at this many examples at most (each batching is one vectorized forward).
DEPENDENCE_EXAMPLES = 512


def has_batchnorm(model: nn.Module) -> bool:
    return bool(batchnorm_layers(model))


@contextmanager
def frozen_bn_stats(model: nn.Module) -> Iterator[None]:
    """Train-mode forwards that must not move BN's running averages (calibration, evaluation, probes)."""
    bns = batchnorm_layers(model)
    saved = [(m.running_mean.clone(), m.running_var.clone(), m.num_batches_tracked.clone()) for m in bns]
    try:
        yield
    finally:
        for m, (mean, var, n) in zip(bns, saved, strict=True):
            m.running_mean.copy_(mean)
            m.running_var.copy_(var)
            m.num_batches_tracked.copy_(n)


@torch.no_grad()
def evaluate(model: nn.Module, x: torch.Tensor, y: torch.Tensor, batch_size: int) -> torch.Tensor:
    """[loss, acc] in eval mode, then [loss, acc] in train mode in batches of the run's size."""
    model.eval()
    loss, correct = _pass(model, x, y, EVAL_CHUNK, len(y))
    model.train()
    eval_mode = torch.stack([loss, correct])
    if not has_batchnorm(model):
        return torch.cat([eval_mode, eval_mode])  # without BN the two modes compute the same thing
    b = min(batch_size, len(y))
    usable = len(y) - len(y) % b  # full batches only: BN never sees a batch of 1
    with frozen_bn_stats(model):
        tloss, tcorrect = _pass(model, x, y, b, usable)
    return torch.cat([eval_mode, torch.stack([tloss, tcorrect])])


def _pass(model: nn.Module, x: torch.Tensor, y: torch.Tensor, chunk: int, n: int) -> tuple[torch.Tensor, ...]:
    loss = torch.zeros((), dtype=torch.float64, device=x.device)
    correct = torch.zeros((), dtype=torch.float64, device=x.device)
    for s in range(0, n, chunk):
        out = model(x[s : min(s + chunk, n)])
        t = y[s : min(s + chunk, n)]
        loss += F.cross_entropy(out, t, reduction="sum").double()
        correct += (out.argmax(dim=1) == t).sum().double()
    return loss / n, correct / n


@torch.no_grad()
def batch_dependence(model: nn.Module, x: torch.Tensor, batch_size: int, seed: int) -> torch.Tensor:
    """[flips at the run's batch size, flips in pairs]: the share of examples whose train-mode predicted
    class differs between two random batchings of the same examples (0 in eval mode, by construction)."""
    rng = np.random.default_rng(seed)
    n = min(len(x), DEPENDENCE_EXAMPLES)
    xs = x[torch.from_numpy(rng.permutation(len(x))[:n]).to(x.device)]
    batch_stats = _batch_statistics_copy(model)
    flips = []
    for b in (min(batch_size, n), 2):
        usable = n - n % b
        orders = torch.from_numpy(np.stack([rng.permutation(n)[:usable] for _ in range(2)])).to(x.device)
        pred = _grouped_logits(batch_stats, xs[orders.reshape(-1)], b).argmax(dim=1).view(2, usable)
        by_example = torch.full((2, n), -1, dtype=torch.long, device=x.device)
        by_example.scatter_(1, orders, pred)
        both = (by_example >= 0).all(dim=0)
        changed = (by_example[0] != by_example[1]) & both
        flips.append(changed.sum().double() / both.sum().clamp(min=1))
    return torch.stack(flips)


def _batch_statistics_copy(model: nn.Module) -> nn.Module:
    """A copy whose BN layers always normalize with the batch's statistics and keep no running averages."""
    copy_ = copy.deepcopy(model)
    torch.func.replace_all_batch_norm_modules_(copy_)
    return copy_


def _grouped_logits(model: nn.Module, x: torch.Tensor, b: int) -> torch.Tensor:
    """The model on consecutive groups of b examples, each group its own batch, in one vectorized pass."""
    state = {**dict(model.named_parameters()), **dict(model.named_buffers())}
    groups = x.view(len(x) // b, b, *x.shape[1:])
    out = torch.func.vmap(lambda g: torch.func.functional_call(model, state, (g,)))(groups)
    return out.reshape(len(x), -1)
