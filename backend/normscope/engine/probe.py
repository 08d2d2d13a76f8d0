"""Probe: per-layer statistics of one model, computed on its device and packed into one vector per sample.

Forward hooks keep references to the tap outputs only on sampled ("armed") steps; take() copies what the
next steps would change, and the statistics are computed afterwards, on another thread if the caller likes,
in a few batched ops (taps of equal size share one sort and one bincount, across every run a Packer joins),
so a sample costs one host copy for the whole experiment and an unsampled step no probe work at all.
"""

import math
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Literal, Protocol, TypeVar

import numpy as np
import torch
from pydantic import TypeAdapter
from torch import nn

from normscope.engine.models import BatchNorm
from normscope.schemas import TAP_ORDER, LayerInfo, LayerStats, Tap
from normscope.schemas.spec import Activation

QUANTILES = (0.0, 0.15, 0.5, 0.85, 1.0)
INNER_QUANTILES = QUANTILES[1:-1]  # min and max are always exact
# Quantiles are exact for taps of at most this many elements; past it they come from a fixed random sample
# of this many positions, drawn once per run. Error bound (Dvoretzky-Kiefer-Wolfowitz, Massart's constant):
# with K i.i.d. draws the sample CDF is within eps of the tap's CDF everywhere, except with probability
# 2·exp(-2·K·eps²). For K = 65,536 and eps = 0.01 that is 4e-6: a reported p50 lies between the tap's true
# p49 and p51 (rank error at most 1 percentage point) in all but 4 in a million samples of a tap.
EXACT_QUANTILES_UP_TO = 65_536
SATURATION_MARGIN = 0.02
# What a layer's activation is to the probe: the lessons' three, or "signed" for the rest a user's model may
# have (GELU, SiLU, LeakyReLU, ...): negative values too, and no saturation to count.
ActKind = Activation | Literal["signed"]
# Saturated: below the first bound or above the second (sigmoid, tanh); for ReLU, exactly at the bound 0.
BN_KEYS = ("batch_mean", "batch_var", "running_mean", "running_var", "gamma", "beta")
SATURATION_BOUNDS: dict[ActKind, tuple[float, float]] = {
    "sigmoid": (SATURATION_MARGIN, 1 - SATURATION_MARGIN),
    "tanh": (-1 + SATURATION_MARGIN, 1 - SATURATION_MARGIN),
    "relu": (0.0, 0.0),
    "signed": (-math.inf, math.inf),
}
BOUNDED_RANGES: dict[ActKind, tuple[float, float]] = {"sigmoid": (0.0, 1.0), "tanh": (-1.0, 1.0)}
# A frame's layers built from plain dicts in one call into pydantic's compiled validator: a fifth less time
# holding the GIL the training thread needs than a Python model_construct per tap (and the values checked)
LAYER_STATS = TypeAdapter(list[LayerStats])


def nice_ceil(x: float) -> float:
    """Smallest of 1, 2, 2.5, 5 times a power of ten that is >= x: histogram ranges a lecturer can read."""
    x = max(x, 1e-6)
    p = 10.0 ** math.floor(math.log10(x))
    for m in (1.0, 2.0, 2.5, 5.0, 10.0):
        if m * p >= x * (1 - 1e-12):
            return m * p
    return 10.0 * p


# Unbounded taps span at least ±5: a normalized value's ±5σ, and room for what grows from a small init
# (the first sample of a net started with std 0.06 would otherwise fix the logits' range at ±0.2).
MIN_HALF_RANGE = 5.0


def tap_range(activation: ActKind, tap: Tap, absmax: float, layer_has_act: bool) -> tuple[float, float]:
    """Fixed histogram range: an activation's own range when bounded, else chosen from the first sample
    (gradients on their own scale, however small: what grows or vanishes later counts under and over)."""
    if tap == "grad":
        r = nice_ceil(1.5 * absmax) if absmax > 0 else 1e-6
        return (-r, r)
    if tap == "act" and layer_has_act:
        if activation in BOUNDED_RANGES:
            return BOUNDED_RANGES[activation]
        if activation == "relu":
            return (0.0, nice_ceil(1.5 * absmax))
    r = max(nice_ceil(1.5 * absmax), MIN_HALF_RANGE)
    return (-r, r)


def merge_absmax(into: dict, found: Mapping) -> None:
    """The largest magnitude seen per tap across variants (a non-finite one counts as 0): shared ranges."""
    for k, v in found.items():
        into[k] = max(into.get(k, 0.0), v if math.isfinite(v) else 0.0)


K = TypeVar("K", int, str)  # a layer's key: its index in our models, its module path in a watched one


def layout(
    names: Mapping[K, str], ranges: Mapping[tuple[K, Tap], tuple[float, float]], bins: int
) -> list[LayerInfo]:
    """The experiment's layers with their fixed edges, in the order of `names` (layer key -> name), each with
    the taps any variant has: what the layers message and every frame's histograms are drawn against."""
    out = []
    for key, name in names.items():
        taps = sorted({t for (k, t) in ranges if k == key}, key=TAP_ORDER.index)
        edges = {t: np.linspace(*ranges[(key, t)], bins + 1).tolist() for t in taps}
        out.append(LayerInfo(name=name, taps=taps, edges=edges))
    return out


@dataclass
class Taken:
    """One sampled step as the probe saw it. The tap tensors are held by reference (no later step writes
    them); what later steps change is computed or copied now: weight and gradient norms, update ratios, and
    BN's running statistics and affine parameters."""

    captured: dict[tuple[int, Tap], torch.Tensor]
    norm_inputs: dict[int, torch.Tensor]
    scalars: torch.Tensor
    bn_params: list[torch.Tensor]


@dataclass
class _Row:
    layer: int
    tap: Tap


class TapPoints(Protocol):
    """Where one layer is watched: its linear map or conv, and the norm and activation modules after it."""

    linear: nn.Module
    norm: nn.Module | None
    act: nn.Module | None


class Layered(Protocol):
    """A model whose probed layers are known by name: ours (ProbedNet), or a user's as watch found them."""

    def layers(self) -> Mapping[str, TapPoints]: ...


@dataclass
class _Group:
    """Rows (layer, tap) whose tensors have the same element count n and whose layers have the same
    activation kind, with what pack() looks up per row."""

    rows: list[_Row]
    n: int
    kind: ActKind
    # (rows, bins + 3) float32, per mark (numpy's own float64 edges, then the saturation bounds): the largest
    # float32 below it and at or below it; a float32 value is below a mark exactly when it is at or below
    # the first, so sorted float32 rows are searched without a float64 copy of the whole group
    below: torch.Tensor
    at_or_below: torch.Tensor
    linear: torch.Tensor  # (rows, 3) float64: each row's low edge, bin width and high edge
    offsets: torch.Tensor  # (rows, 1): where each row's buckets start in the flat count buffer
    sample: torch.Tensor | None  # fixed positions of the quantile subsample; None: the whole row (n <= K)
    q_idx: torch.Tensor  # sorted positions below and above each inner quantile in the (sub)sample
    q_frac: np.ndarray  # numpy's 'linear' interpolation weight of each inner quantile


class Probe:
    """Watches one model: inside attached(), arm() before a sampled forward, pack() after the step."""

    def __init__(
        self,
        model: Layered,
        activation: ActKind | Sequence[ActKind],
        bins: int,
        exact_up_to: int = EXACT_QUANTILES_UP_TO,
        seed: int = 0,
        grad: bool = False,
    ) -> None:
        self.model = model
        self.bins = bins
        self.exact_up_to, self.seed, self.grad = exact_up_to, seed, grad
        layers = model.layers()
        self.layer_names = list(layers)
        self.blocks = list(layers.values())
        kinds = [activation] * len(self.blocks) if isinstance(activation, str) else list(activation)
        self.kinds: list[ActKind] = kinds  # each layer's activation kind: its saturation and act range
        self.clone: set[tuple[int, Tap]] = set()  # taps an in-place op changes later in the forward
        self.layer_taps: list[list[Tap]] = [self._taps_of(b) for b in self.blocks]
        self.armed = False
        self._captured: dict[tuple[int, Tap], torch.Tensor] = {}
        self._norm_inputs: dict[int, torch.Tensor] = {}
        self._w_before: list[torch.Tensor] | None = None
        self._handles: list[torch.utils.hooks.RemovableHandle] = []
        self._rows: list[_Row] = []
        self._edges: dict[tuple[int, Tap], tuple[float, float]] = {}
        self._groups: list[_Group] | None = None
        self._packer: Packer | None = None  # this probe packed alone: pack()

    def _taps_of(self, block: nn.Module) -> list[Tap]:
        taps: list[Tap] = ["preact"]
        if block.norm is not None:
            taps.append("normed")
        if block.act is not None:
            taps.append("act")
        if self.grad:
            taps.append("grad")
        return sorted(taps, key=TAP_ORDER.index)

    # hooks -------------------------------------------------------------------------------------------
    def _hook(self, layer: int, tap: Tap) -> Callable[..., None]:
        def fn(module: nn.Module, inputs: tuple[torch.Tensor, ...], output: torch.Tensor) -> None:
            if self.armed and (layer, tap) not in self._captured:  # a module called twice: its first call
                out = output.detach()
                self._captured[(layer, tap)] = out.clone() if (layer, tap) in self.clone else out
                if tap == "normed":
                    self._norm_inputs[layer] = inputs[0].detach()
                if tap == "preact" and self.grad and output.requires_grad:
                    # a tensor hook on this step's output only: unsampled steps' backward passes carry none
                    output.register_hook(self._grad_hook(layer))

        return fn

    def _grad_hook(self, layer: int) -> Callable[[torch.Tensor], None]:
        def fn(grad: torch.Tensor) -> None:
            self._captured[(layer, "grad")] = grad.detach()

        return fn

    def attach(self) -> None:
        if self._handles:
            return
        for i, block in enumerate(self.blocks):
            modules = {"preact": block.linear, "normed": block.norm, "act": block.act}
            for tap in self.layer_taps[i]:
                if tap != "grad":  # the grad tap comes from the preact hook's tensor hook
                    self._handles.append(modules[tap].register_forward_hook(self._hook(i, tap)))

    def unhook(self) -> None:
        """The module hooks removed, what they captured kept (a hooked module's call costs ~5 µs more)."""
        for h in self._handles:
            h.remove()
        self._handles.clear()

    def detach(self) -> None:
        self.unhook()
        self._captured.clear()
        self._norm_inputs.clear()
        self.armed = False

    @contextmanager
    def attached(self) -> Iterator["Probe"]:
        """Hooks live exactly as long as the block, whatever way it is left."""
        self.attach()
        try:
            yield self
        finally:
            self.detach()

    @contextmanager
    def muted(self) -> Iterator[None]:
        """Extra forwards of the same step (the landscape probe) must not replace what the step captured."""
        armed, self.armed = self.armed, False
        try:
            yield
        finally:
            self.armed = armed

    @property
    def hook_count(self) -> int:
        return len(self._handles)

    # calibration -------------------------------------------------------------------------------------
    def arm(self) -> None:
        self._captured.clear()
        self._norm_inputs.clear()
        self.armed = True

    def absmax(self) -> dict[tuple[int, Tap], float]:
        """Largest magnitude per tap from the armed forward pass (one host copy), to choose ranges."""
        keys = list(self._captured)
        values = torch.stack([self._captured[k].abs().max().float() for k in keys]).cpu().tolist()
        self.armed = False
        return dict(zip(keys, values, strict=True))

    def set_ranges(self, ranges: dict[tuple[int, Tap], tuple[float, float]]) -> None:
        self._rows = [_Row(i, t) for i, taps in enumerate(self.layer_taps) for t in taps]
        self._edges = {(r.layer, r.tap): ranges[(r.layer, r.tap)] for r in self._rows}
        self._groups, self._packer = None, None

    def layer_info(self) -> list[LayerInfo]:
        return layout(dict(enumerate(self.layer_names)), self._edges, self.bins)

    # per-sample statistics ---------------------------------------------------------------------------
    def snapshot_weights(self) -> None:
        """Before the optimizer step of a sampled step: the update/weight ratio needs the old weights."""
        self._w_before = [b.linear.weight.detach().clone() for b in self.blocks]

    def _plan(self, captured: Mapping[tuple[int, Tap], torch.Tensor]) -> list[_Group]:
        """Rows grouped by element count (fixed for a run), so each group is one 2-D tensor; taps past K
        elements get their quantile subsample's positions here, once."""
        by_size: dict[tuple[int, ActKind], list[_Row]] = {}
        for r in self._rows:
            key = (captured[(r.layer, r.tap)].numel(), self.kinds[r.layer])
            by_size.setdefault(key, []).append(r)
        device = next(iter(captured.values())).device
        groups = []
        for (n, kind), rows in by_size.items():
            edges = np.stack([np.linspace(*self._edges[(r.layer, r.tap)], self.bins + 1) for r in rows])
            lows, highs = edges[:, 0], edges[:, -1]
            linear = np.stack(
                [lows, (highs - lows) / self.bins, highs], axis=1
            )  # what linspace computes from
            bounds = np.array([SATURATION_BOUNDS[kind]] * len(rows))
            sample = None
            if n > self.exact_up_to:  # i.i.d. positions: the DKW bound below holds for any tensor
                # drawn from (seed, n) alone: every run of an experiment has the same, so packs can be joined
                gen = torch.Generator().manual_seed(self.seed * 1_000_003 + n)
                sample = torch.randint(0, n, (self.exact_up_to,), generator=gen).sort().values.to(device)
            k = n if sample is None else self.exact_up_to
            marks = np.concatenate([edges, bounds], axis=1)
            pos = torch.tensor(INNER_QUANTILES, dtype=torch.float64) * (k - 1)
            q_lo = pos.floor().long()
            groups.append(
                _Group(
                    rows=rows,
                    n=n,
                    kind=kind,
                    below=_float32_under(marks, strict=True).to(device),
                    at_or_below=_float32_under(marks, strict=False).to(device),
                    linear=torch.from_numpy(linear).to(device),
                    offsets=(torch.arange(len(rows)) * (self.bins + 2)).view(-1, 1).to(device),
                    sample=sample,
                    q_idx=torch.cat([q_lo, torch.clamp(q_lo + 1, max=k - 1)]).to(device),
                    q_frac=(pos - q_lo).numpy(),
                )
            )
        return groups

    def complete(self) -> bool:
        """Whether the armed forward reached every tap (a user's loop may skip a branch on some steps)."""
        return all((r.layer, r.tap) in self._captured for r in self._rows)

    def take(self) -> Taken:
        """The armed step's part that cannot wait (call it before the next optimizer step); pack(taken) may
        then run on another thread while training goes on."""
        bns = [self.blocks[i].norm for i in self._bn_layers()]
        params = [  # copied: the next steps update them in place
            torch.stack([bn.running_mean, bn.running_var, bn.weight.detach(), bn.bias.detach()]).double()
            for bn in bns
        ]
        taken = Taken(dict(self._captured), dict(self._norm_inputs), self._layer_scalars(), params)
        self.armed = False
        return taken

    def pack(self, taken: Taken | None = None) -> torch.Tensor:
        """All statistics of the armed step (or of what take() kept of it) as one float64 vector on the
        model's device (no host sync).

        Per group of equal-size taps, the same numbers either way: bucket counts on the fixed edges (under,
        each bin, at or over the top), the count equal to the top edge, sums for mean and std, the
        saturation count, min, the quantiles' neighbours, max. Taps of at most K elements are sorted (cheap
        at that size, and exact quantiles); larger ones are binned in O(n) by arithmetic, corrected to
        numpy's float64 edges, with quantiles from their fixed sample. unpack() finishes on the host."""
        if self._packer is None:
            self._packer = Packer([self])
        (packed,) = self._packer.pack([self.take() if taken is None else taken])
        return packed

    def _group_stats(self, g: _Group, x: torch.Tensor) -> torch.Tensor:
        """A group's rows packed: buckets (rows × bins + 2), moments (4 × rows), then ends (rows × ...)."""
        if g.sample is None:
            parts = self._sorted_stats(g, x)
        elif x.device.type == "cpu":
            parts = self._binned_stats_numpy(g, x)
        else:
            parts = self._binned_stats(g, x)
        return torch.cat(parts)

    def _tail(self, t: Taken) -> list[torch.Tensor]:
        """What follows the groups in a pack: the layer scalars, then each BN layer's vectors."""
        bns = zip(self._bn_layers(), t.bn_params, strict=True)
        return [t.scalars, *(_bn_vectors(t.norm_inputs[i], p) for i, p in bns)]

    def _sorted_stats(self, g: _Group, x: torch.Tensor) -> list[torch.Tensor]:
        """A small group: sort each row, then find the edges and saturation bounds in it."""
        s = sort_rows(x)
        n, bins = g.n, self.bins
        left = torch.searchsorted(s, g.below, side="right")  # how many values lie below each mark
        right = torch.searchsorted(s, g.at_or_below, side="right")  # ... at or below it
        full = torch.full_like(left[:, :1], n)
        buckets = torch.diff(torch.cat([torch.zeros_like(full), left[:, : bins + 1], full], dim=1), dim=1)
        top = right[:, bins] - left[:, bins]
        if g.kind == "relu":  # exactly zero
            sat = right[:, bins + 1] - left[:, bins + 1]
        else:  # below the low bound or above the high one
            sat = left[:, bins + 1] + n - right[:, bins + 2]
        sums = s.sum(dim=1, dtype=torch.float64)
        sumsq = torch.linalg.vector_norm(s, dim=1, dtype=torch.float64).square()  # accumulated in float64
        moments = torch.stack([top.double(), sums, sumsq, sat.double()])
        ends = torch.cat([s[:, :1], s[:, g.q_idx], s[:, -1:]], dim=1).double()
        return [buckets.double().reshape(-1), moments.reshape(-1), ends.reshape(-1)]

    def _binned_stats_numpy(self, g: _Group, x: torch.Tensor) -> list[torch.Tensor]:
        """A large group on the CPU: numpy's own uniform-bin histogram (numpy's counts by definition, ~6 ns an
        element) and its reductions, several times faster here than torch's CPU kernels or a sort."""
        a = x.numpy()
        n, bins = g.n, self.bins
        linear = g.linear.numpy()
        top_keys = g.at_or_below[:, bins].numpy()  # per row the largest float32 at or below its high edge
        buckets = np.empty((len(g.rows), bins + 2))
        for k, (low, _, high) in enumerate(linear):
            buckets[k, 1 : bins + 1] = np.histogram(a[k], bins=bins, range=(low, high))[0]
            buckets[k, bins + 1] = np.count_nonzero(a[k] > top_keys[k])  # > high, exactly
        buckets[:, 0] = n - buckets[:, 1:].sum(axis=1)  # below the low edge (numpy counts both ends in)
        lo_sat, hi_sat = (np.float32(b) for b in SATURATION_BOUNDS[g.kind])  # compared as float32
        if g.kind == "relu":
            sat = n - np.count_nonzero(a, axis=1)
        else:
            sat = np.count_nonzero(a < lo_sat, axis=1) + np.count_nonzero(a > hi_sat, axis=1)
        top = np.zeros(len(g.rows))  # numpy's last bin already holds the values on the top edge
        sums = a.sum(axis=1, dtype=np.float64)
        sumsq = np.einsum("ij,ij->i", a, a, dtype=np.float64)
        sample = np.sort(a[:, g.sample.numpy()], axis=1)[:, g.q_idx.numpy()]
        ends = np.concatenate([a.min(axis=1)[:, None], sample, a.max(axis=1)[:, None]], axis=1)
        packed = np.concatenate([buckets.ravel(), np.stack([top, sums, sumsq, sat]).ravel(), ends.ravel()])
        return [torch.from_numpy(packed.astype(np.float64))]

    def _binned_stats(self, g: _Group, x: torch.Tensor) -> list[torch.Tensor]:
        """A large group in O(n): each value's bin by arithmetic in float32, then moved by one where numpy's
        float64 edges (linspace: i·step + low, the last one the high end exactly) say otherwise."""
        bins = self.bins
        low, step, high = g.linear[:, :1], g.linear[:, 1:2], g.linear[:, 2:3]
        f = ((x - low.float()) / step.float()).floor_().nan_to_num_(nan=bins - 1).clamp_(0, bins - 1)
        fd = f.double()
        lower = fd * step + low
        upper = torch.where(fd == bins - 1, high, (fd + 1) * step + low)
        bucket = f.long() + 1 - (x < lower).long() + (x >= upper).long()  # 0: under, bins + 1: at or over top
        counts = _count((bucket + g.offsets).reshape(-1), len(g.rows) * (bins + 2))
        top = (x == high).sum(dim=1)
        if g.kind == "relu":
            sat = (x == 0).sum(dim=1)
        else:  # a Python float against a float32 tensor compares as float32, as the numpy path does
            lo_sat, hi_sat = SATURATION_BOUNDS[g.kind]
            sat = (x < lo_sat).sum(dim=1) + (x > hi_sat).sum(dim=1)
        mean = x.mean(dim=1, keepdim=True)
        var = (x - mean).square().mean(dim=1)  # two passes: no cancellation between E[x²] and E[x]²
        mean64, n = mean[:, 0].double(), g.n
        moments = torch.stack([top.double(), mean64 * n, (var.double() + mean64.square()) * n, sat.double()])
        sample = sort_rows(x[:, g.sample])
        ends = torch.cat(
            [x.amin(dim=1, keepdim=True), sample[:, g.q_idx], x.amax(dim=1, keepdim=True)], dim=1
        )
        return [counts, moments.reshape(-1), ends.double().reshape(-1)]

    def _layer_scalars(self) -> torch.Tensor:
        weights = [b.linear.weight.detach() for b in self.blocks]
        grads = [  # a weight no gradient reached has no gradient norm (null), not a zero one
            w.grad if w.grad is not None else torch.full_like(w, math.nan)
            for w in (b.linear.weight for b in self.blocks)
        ]
        norms = torch._foreach_norm(grads + weights)
        if self._w_before is None:
            ratio = [torch.full_like(norms[0], float("nan"))] * len(weights)
        else:
            delta = torch._foreach_norm([*torch._foreach_sub(weights, self._w_before), *self._w_before])
            ratio = torch._foreach_div(delta[: len(weights)], delta[len(weights) :])
            self._w_before = None
        return torch.stack(list(norms) + list(ratio)).double()

    def _bn_layers(self) -> list[int]:
        return [  # the BN internals need the running statistics and the affine parameters
            i
            for i, b in enumerate(self.blocks)
            if isinstance(b.norm, BatchNorm) and b.norm.affine and b.norm.track_running_stats
        ]

    def packed_size(self) -> int:
        assert self._groups is not None, "pack() before packed_size()"
        per_row = (self.bins + 2) + 4 + 2 + 2 * len(INNER_QUANTILES)
        size = sum(len(g.rows) for g in self._groups) * per_row
        size += 3 * len(self.blocks)
        return size + sum(6 * self.blocks[i].norm.num_features for i in self._bn_layers())

    def unpack(self, v: np.ndarray) -> list[LayerStats]:
        """Inverse of pack() on the host copy: counts, moments, quantiles, summaries from the packed parts."""
        assert self._groups is not None, "pack() before unpack()"
        bins, nq = self.bins, len(INNER_QUANTILES)
        taps: list[dict[Tap, dict]] = [{} for _ in self.blocks]
        pos = 0

        def take(count: int) -> np.ndarray:
            nonlocal pos
            pos += count
            return v[pos - count : pos]

        for g in self._groups:
            r_n, n = len(g.rows), g.n
            buckets = take(r_n * (bins + 2)).reshape(r_n, bins + 2).astype(np.int64)
            top, sums, sumsq, sat = take(4 * r_n).reshape(4, r_n)
            qv = take(r_n * (2 + 2 * nq)).reshape(r_n, 2 + 2 * nq)
            mean = sums / n
            std = np.sqrt(np.maximum(sumsq / n - mean * mean, 0.0))
            inner = qv[:, 1 : 1 + nq] + (qv[:, 1 + nq : 1 + 2 * nq] - qv[:, 1 : 1 + nq]) * g.q_frac
            q = np.concatenate([qv[:, :1], inner, qv[:, -1:]], axis=1)
            counts = buckets[:, 1 : bins + 1].copy()
            counts[:, -1] += top.astype(np.int64)
            # whole columns to Python at once: a per-value conversion is most of a small net's decoding
            under, over = buckets[:, 0].tolist(), (buckets[:, bins + 1] - top.astype(np.int64)).tolist()
            means, stds, sats, norms = (finite_list(a) for a in (mean, std, sat / n, np.sqrt(sumsq)))
            rows = zip(g.rows, counts.tolist(), finite_rows(q), strict=True)
            for k, (r, row_counts, row_q) in enumerate(rows):
                taps[r.layer][r.tap] = {
                    "counts": row_counts,
                    "under": under[k],
                    "over": over[k],
                    "mean": means[k],
                    "std": stds[k],
                    "q": row_q,
                    "saturation": sats[k] if r.tap == "act" and g.kind != "signed" else None,
                    "norm": norms[k] if r.tap == "grad" else None,
                }
        n_layers = len(self.blocks)
        layer_sc = take(3 * n_layers).reshape(3, n_layers)
        bn: dict[int, dict] = {}
        for i in self._bn_layers():
            vecs = take(6 * self.blocks[i].norm.num_features).reshape(6, -1).copy()
            vecs[1] = np.maximum(vecs[1] - vecs[0] * vecs[0], 0.0)  # mean of squares -> batch variance
            means, stds = vecs.mean(axis=1), vecs.std(axis=1)
            bn[i] = {k: {"mean": finite(means[j]), "std": finite(stds[j])} for j, k in enumerate(BN_KEYS)}
        return LAYER_STATS.validate_python(
            [
                {
                    "name": name,
                    "taps": {t: taps[i][t] for t in self.layer_taps[i]},
                    "grad_norm": finite(layer_sc[0, i]),
                    "weight_norm": finite(layer_sc[1, i]),
                    "update_ratio": finite(layer_sc[2, i]),
                    "bn": bn.get(i),
                }
                for i, name in enumerate(self.layer_names)
            ]
        )


class Packer:
    """Several probes' samples packed at once: each set of equal-size taps of one activation kind, across
    every probe, is one group (one sort or one binning for all the runs of an experiment instead of one per
    run: a sweep's cost per sample grows with its tensors, not with its count of small ops). Each probe
    still gets its own pack, exactly what it would have packed alone, for its own unpack()."""

    def __init__(self, probes: Sequence[Probe]) -> None:
        self.probes = list(probes)
        self._joint: list[tuple[_Group, list[tuple[int, _Group, int]]]] | None = None

    def _plan(self, takens: Sequence[Taken]) -> list[tuple[_Group, list[tuple[int, _Group, int]]]]:
        """Per joint group: the group over every probe's rows, and (probe, its own group, first row)."""
        by_key: dict[tuple[int, ActKind], list[tuple[int, _Group]]] = {}
        for j, (probe, t) in enumerate(zip(self.probes, takens, strict=True)):
            if probe._groups is None:
                probe._groups = probe._plan(t.captured)
            for g in probe._groups:
                by_key.setdefault((g.n, g.kind), []).append((j, g))
        bins = self.probes[0].bins
        joint = []
        for members in by_key.values():
            first = members[0][1]
            if len(members) == 1:  # a probe alone with this size: its own group as it is
                joint.append((first, [(members[0][0], first, 0)]))
                continue
            rows = [r for _, g in members for r in g.rows]
            starts = np.cumsum([0] + [len(g.rows) for _, g in members[:-1]]).tolist()
            group = _Group(
                rows=rows,
                n=first.n,
                kind=first.kind,
                below=torch.cat([g.below for _, g in members]),
                at_or_below=torch.cat([g.at_or_below for _, g in members]),
                linear=torch.cat([g.linear for _, g in members]),
                offsets=(torch.arange(len(rows)) * (bins + 2)).view(-1, 1).to(first.offsets.device),
                sample=first.sample,  # the same in every probe: drawn from (seed, n)
                q_idx=first.q_idx,
                q_frac=first.q_frac,
            )
            joint.append((group, [(j, g, s) for (j, g), s in zip(members, starts, strict=True)]))
        return joint

    def pack(self, takens: Sequence[Taken]) -> list[torch.Tensor]:
        if self._joint is None:
            self._joint = self._plan(takens)
        probe0, bins = self.probes[0], self.probes[0].bins
        slices: list[dict[int, torch.Tensor]] = [{} for _ in self.probes]  # probe -> id(its group) -> part
        for group, members in self._joint:
            x = torch.stack(
                [takens[j].captured[(r.layer, r.tap)].reshape(-1) for j, g, _ in members for r in g.rows]
            ).float()
            flat = probe0._group_stats(group, x)
            n_rows = len(group.rows)
            buckets = flat[: n_rows * (bins + 2)].view(n_rows, bins + 2)
            moments = flat[n_rows * (bins + 2) : n_rows * (bins + 6)].view(4, n_rows)
            ends = flat[n_rows * (bins + 6) :].view(n_rows, -1)
            if len(members) == 1:  # a probe alone: its part is the whole
                slices[members[0][0]][id(members[0][1])] = flat
                continue
            for j, g, s in members:
                e = s + len(g.rows)
                part = [buckets[s:e].reshape(-1), moments[:, s:e].reshape(-1), ends[s:e].reshape(-1)]
                slices[j][id(g)] = torch.cat(part)
        out = []
        for j, (probe, t) in enumerate(zip(self.probes, takens, strict=True)):
            assert probe._groups is not None
            out.append(torch.cat([slices[j][id(g)] for g in probe._groups] + probe._tail(t)))
        return out


def _bn_vectors(x: torch.Tensor, params: torch.Tensor) -> torch.Tensor:
    """Per channel: batch mean, mean of squares, then the running mean/var, gamma, beta that take() copied;
    summarized on the host."""
    dims = [0, *range(2, x.dim())]  # per channel: over the batch and, for convs, the pixels
    x = x.float()  # under bf16 autocast the input is bf16: its sums are not precise enough
    moments = torch.stack([x.mean(dim=dims), (x * x).mean(dim=dims)]).double()
    return torch.cat([moments, params]).reshape(-1)


def _float32_under(marks: np.ndarray, strict: bool) -> torch.Tensor:
    """Per float64 mark, the largest float32 below it (strict) or at or below it: for float32 values v,
    v < mark exactly when v <= the first, and v <= mark exactly when v <= the second."""
    with np.errstate(over="ignore"):  # a mark past float32's range: every finite float32 is below it
        f = marks.astype(np.float32)
    wide = f.astype(np.float64)
    keep = wide < marks if strict else wide <= marks
    return torch.from_numpy(np.where(keep, f, np.nextafter(f, np.float32(-np.inf))))


def _count(buckets: torch.Tensor, size: int) -> torch.Tensor:
    """How many of each bucket index. On CUDA bincount reads its input's max back to the host (a sync);
    scatter_add into a zeroed buffer does not. On the CPU bincount is the faster of the two."""
    if buckets.device.type == "cpu":
        return torch.bincount(buckets, minlength=size).double()
    counts = torch.zeros(size, dtype=torch.int64, device=buckets.device)
    ones = torch.ones((), dtype=torch.int64, device=buckets.device).expand(buckets.shape)
    return counts.scatter_add_(0, buckets, ones).double()


def sort_rows(x: torch.Tensor) -> torch.Tensor:
    """Each row sorted. On the CPU numpy's sort is ~18x faster than torch's (measured on 8x6000 floats) and
    shares the tensor's memory, so nothing leaves the device; on a GPU torch sorts in place."""
    if x.device.type == "cpu":
        return torch.from_numpy(np.sort(x.contiguous().numpy(), axis=1))
    return x.sort(dim=1).values


def finite_list(a: np.ndarray) -> list[float | None]:
    """finite() over a 1-D array: one conversion when every value is finite (as until a divergence)."""
    values = a.tolist()
    return values if np.isfinite(a).all() else [finite(x) for x in values]


def finite_rows(a: np.ndarray) -> list[list[float | None]]:
    return a.tolist() if np.isfinite(a).all() else [finite_list(row) for row in a]


def finite(x: float) -> float | None:
    """JSON has no NaN or infinity: a diverged run's statistics become null."""
    x = float(x)
    return x if math.isfinite(x) else None
