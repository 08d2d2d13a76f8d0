"""Landscape probe (Santurkar et al. 2018, "How does batch normalization help optimization?").

On a sampled step's own batch, with every weight and BN running statistic put back afterwards:
- before the optimizer step, for each step size η along this step's gradient g: L(w − ηg) (the loss band)
  and ‖∇L(w) − ∇L(w − ηg)‖ (gradient predictiveness), whose largest ratio to ‖ηg‖ is the effective
  β-smoothness;
- after it, each layer's weight gradient G′ once the layers below it have taken their real update, against
  the G it was trained with: ‖G − G′‖ and cos(G, G′), the paper's measure of internal covariate shift.
The results stay on the device in one vector per probe; unpack() finishes on the host copy.
"""

from collections.abc import Sequence

import numpy as np
import torch
import torch.nn.functional as F

from normscope.engine.evaluate import frozen_bn_stats
from normscope.engine.models import ProbedNet
from normscope.engine.probe import finite, finite_list
from normscope.schemas import CovariateShift, Landscape


def _norm(tensors: Sequence[torch.Tensor]) -> torch.Tensor:
    """One l2 norm over a list of tensors, as if they were one vector."""
    return torch.linalg.vector_norm(torch.stack(torch._foreach_norm(list(tensors))))


class LandscapeProbe:
    """Call before_step() after backward, after_step() after the optimizer step, then pack() for the frame."""

    def __init__(self, model: ProbedNet, lr: float, multipliers: Sequence[float]) -> None:
        self.model = model
        self.multipliers = list(multipliers)
        self.etas = [lr * m for m in multipliers]
        self.params = [p for p in model.parameters() if p.requires_grad]
        index = {id(p): i for i, p in enumerate(self.params)}
        blocks = list(model.layers().values())
        self.block_params = [[index[id(p)] for p in b.parameters()] for b in blocks]
        self.weight_index = [index[id(b.linear.weight)] for b in blocks]
        self._w0: list[torch.Tensor] = []
        self._g: list[torch.Tensor] = []
        self._parts: list[torch.Tensor] = []

    def set_lr(self, lr: float) -> None:
        """The step sizes tried follow the run's learning rate when the presenter changes it."""
        self.etas = [lr * m for m in self.multipliers]

    @property
    def pending(self) -> bool:
        return bool(self._parts)

    def _grads(self, x: torch.Tensor, y: torch.Tensor, params: list[torch.Tensor]) -> list[torch.Tensor]:
        """[loss, then the gradient of each of params] at the current weights."""
        with torch.enable_grad():
            loss = F.cross_entropy(self.model(x), y)
            grads = torch.autograd.grad(loss, params, allow_unused=True)
        return [loss.detach()] + [
            torch.zeros_like(p) if g is None else g for p, g in zip(params, grads, strict=True)
        ]

    @torch.no_grad()
    def _load(self, values: list[torch.Tensor], which: Sequence[int] | None = None) -> None:
        for i in range(len(self.params)) if which is None else which:
            self.params[i].copy_(values[i])

    def before_step(self, x: torch.Tensor, y: torch.Tensor, loss: torch.Tensor) -> None:
        """p.grad holds this step's g and the weights are still w."""
        self._g = [torch.zeros_like(p) if p.grad is None else p.grad.detach().clone() for p in self.params]
        self._w0 = [p.detach().clone() for p in self.params]
        losses, changes = [], []
        with frozen_bn_stats(self.model):
            for eta in self.etas:
                self._load(torch._foreach_add(self._w0, self._g, alpha=-eta))
                loss_eta, *g_eta = self._grads(x, y, self.params)
                losses.append(loss_eta)
                changes.append(_norm(torch._foreach_sub(g_eta, self._g)))
            self._load(self._w0)
        self._parts = [
            loss.detach().reshape(1),
            _norm(self._g).reshape(1),
            torch.stack(losses),
            torch.stack(changes),
        ]

    def after_step(self, x: torch.Tensor, y: torch.Tensor) -> None:
        """The optimizer has moved w to w′: layer i's gradient with layers below i at w′ and the rest at w."""
        w1 = [p.detach().clone() for p in self.params]
        shifts = []
        with frozen_bn_stats(self.model):
            self._load(self._w0)
            for i in range(1, len(self.weight_index)):
                self._load(w1, self.block_params[i - 1])
                k = self.weight_index[i]
                _, g_shifted = self._grads(x, y, [self.params[k]])
                g = self._g[k]
                dot = (g * g_shifted).sum()
                cos = dot / (torch.linalg.vector_norm(g) * torch.linalg.vector_norm(g_shifted))
                shifts.append(torch.stack([torch.linalg.vector_norm(g - g_shifted), cos]))
            self._load(w1)
        self._parts.append(torch.stack(shifts).reshape(-1) if shifts else torch.zeros(0, device=w1[0].device))
        self._w0, self._g = [], []

    def pack(self) -> torch.Tensor:
        v = torch.cat([p.double().reshape(-1) for p in self._parts])
        self._parts = []
        return v

    def packed_size(self) -> int:
        return 2 + 2 * len(self.etas) + 2 * (len(self.weight_index) - 1)

    def unpack(self, v: np.ndarray, etas: Sequence[float] | None = None) -> Landscape:
        """`etas`: the step sizes when it was packed (the learning rate may have changed since)."""
        etas = list(self.etas if etas is None else etas)
        n = len(etas)
        grad_norm = v[1]
        changes = v[2 + n : 2 + 2 * n]
        with np.errstate(divide="ignore", invalid="ignore"):
            ratios = changes / (np.asarray(etas) * grad_norm)
        beta = float(np.max(ratios)) if np.all(np.isfinite(ratios)) else float("nan")
        pairs = v[2 + 2 * n :].reshape(-1, 2)
        return Landscape(
            etas=etas,
            loss=finite(v[0]),
            loss_at=finite_list(v[2 : 2 + n]),
            grad_norm=finite(grad_norm),
            grad_change=finite_list(changes),
            beta=finite(beta),
            shift=[None] + [CovariateShift(l2=finite(a), cos=finite(c)) for a, c in pairs],
        )
