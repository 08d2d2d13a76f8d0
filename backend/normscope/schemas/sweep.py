"""A sweep: hyperparameter search as the week-3 notes teach it. Random points, not a grid (25 random points
try 25 learning rates, a 5×5 grid only 5); the learning rate on a log scale, momentum's β through 1 − β on a
log scale (near 1 a small change matters a lot); each configuration crossed with a list of norms. It expands
into the experiment's variants, labelled by their values."""

import itertools
import math
import random
from typing import Annotated, Literal, Self

from pydantic import BaseModel, ConfigDict, Field, model_validator

SweepParam = Literal["optimizer.lr", "optimizer.momentum", "optimizer.weight_decay", "batch_size"]
SWEEP_PARAMS: tuple[SweepParam, ...] = (
    "optimizer.lr",
    "optimizer.momentum",
    "optimizer.weight_decay",
    "batch_size",
)
SHORT = {"optimizer.lr": "lr", "optimizer.momentum": "β", "optimizer.weight_decay": "wd", "batch_size": "bs"}
NORM_LABEL = {"none": "plain", "batch": "BN", "layer": "LN"}
MAX_SWEEP_VARIANTS = 256
BOUNDS: dict[str, tuple[float, float]] = {  # what each parameter may take, both ends included
    "optimizer.lr": (1e-6, 1000.0),
    "optimizer.momentum": (0.0, 0.9999),
    "optimizer.weight_decay": (0.0, 1.0),
    "batch_size": (2, 8192),
}
SweepNorm = Literal["none", "batch", "layer"]
Pair = Annotated[list[float], Field(min_length=2, max_length=2)]  # [low, high]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)


class Distribution(_Strict):
    """One parameter's values: exactly one of these."""

    log_uniform: Pair | None = Field(None, description="[low, high]: uniform in log(x).")
    uniform: Pair | None = Field(None, description="[low, high]: uniform in x.")
    one_minus_log_uniform: Pair | None = Field(
        None,
        description="[low, high] of 1 − x, uniform in log(1 − x): β near 1 (0.001–0.1 gives β 0.9–0.999).",
    )
    choice: list[float] | None = Field(
        None, min_length=1, max_length=64, description="One of these, at random."
    )
    grid: list[float] | None = Field(
        None,
        min_length=1,
        max_length=64,
        description="Every one of these: the sweep is the product of its grids.",
    )

    @model_validator(mode="after")
    def _one(self) -> Self:
        given = [k for k in type(self).model_fields if getattr(self, k) is not None]
        if len(given) != 1:
            raise ValueError(
                f"give exactly one of {', '.join(type(self).model_fields)}; got {given or 'none'}"
            )
        low_high = self.log_uniform or self.uniform or self.one_minus_log_uniform
        if low_high is not None:
            low, high = low_high
            if not (math.isfinite(low) and math.isfinite(high) and low < high):
                raise ValueError(f"[low, high] must be finite with low < high, got [{low}, {high}]")
            if self.log_uniform and low <= 0:
                raise ValueError("log_uniform needs low > 0")
            if self.one_minus_log_uniform and not (low > 0 and high < 1):
                raise ValueError("one_minus_log_uniform bounds 1 − x: they must lie in (0, 1)")
        return self

    @property
    def is_grid(self) -> bool:
        return self.grid is not None

    def draw(self, rng: random.Random) -> float:
        if self.log_uniform:
            low, high = self.log_uniform
            return 10 ** rng.uniform(math.log10(low), math.log10(high))
        if self.uniform:
            return rng.uniform(*self.uniform)
        if self.one_minus_log_uniform:
            low, high = self.one_minus_log_uniform
            return 1 - 10 ** rng.uniform(math.log10(low), math.log10(high))
        assert self.choice is not None
        return rng.choice(self.choice)

    def extremes(self) -> list[float]:
        """The values it can give at its ends (for the bounds check)."""
        if self.one_minus_log_uniform:
            return [1 - self.one_minus_log_uniform[1], 1 - self.one_minus_log_uniform[0]]
        return list(self.log_uniform or self.uniform or self.choice or self.grid or [])


def rounded(param: str, x: float) -> float | int:
    """Three significant digits (what a label shows is what trains); batch sizes are whole."""
    if param == "batch_size":
        return round(x)
    if param == "optimizer.momentum" and x > 0:
        return 1 - float(f"{1 - x:.3g}")  # β = 0.99937 keeps its distance from 1, not its first digits
    return float(f"{x:.3g}")


class SweepSpec(_Strict):
    n: int | None = Field(
        None, ge=1, le=MAX_SWEEP_VARIANTS, description="Random configurations (a grid's size is its product)."
    )
    seed: int = Field(0, ge=0, le=2**31 - 1, description="Draws the random values (not the training seed).")
    params: dict[SweepParam, Distribution] = Field(min_length=1, max_length=len(SWEEP_PARAMS))
    norms: list[SweepNorm] = Field(default_factory=lambda: ["none", "batch"], min_length=1, max_length=3)
    parent: str | None = Field(
        None, max_length=64, description="The experiment this round refines (coarse to fine), if any."
    )

    @model_validator(mode="after")
    def _bounded(self) -> Self:
        if len(set(self.norms)) != len(self.norms):
            raise ValueError(f"norms repeat: {self.norms}")
        for param, dist in self.params.items():
            low, high = BOUNDS[param]
            bad = [x for x in dist.extremes() if not (math.isfinite(x) and low <= x <= high)]
            if bad:
                raise ValueError(f"{param} takes values in [{low:g}, {high:g}]; got {bad}")
            if (
                param == "batch_size"
                and (dist.grid or dist.choice)
                and any(x != int(x) for x in dist.extremes())
            ):
                raise ValueError("batch_size values must be whole numbers")
        grids = [d for d in self.params.values() if d.is_grid]
        if grids and self.n is not None:
            raise ValueError("n is for random sweeps; a grid sweep tries every combination of its grids")
        if not grids and self.n is None:
            raise ValueError("a random sweep needs n, the number of configurations")
        size = (math.prod(len(d.grid or []) for d in grids) if grids else self.n or 0) * len(self.norms)
        if size > MAX_SWEEP_VARIANTS:
            raise ValueError(f"the sweep makes {size} variants; at most {MAX_SWEEP_VARIANTS}")
        return self

    def configurations(self) -> list[dict[str, float | int]]:
        """Each configuration's values, in SWEEP_PARAMS order: the grids' product, or n random draws."""
        rng = random.Random(self.seed)
        ordered = [p for p in SWEEP_PARAMS if p in self.params]
        grids = [p for p in ordered if self.params[p].is_grid]
        points = (
            itertools.product(*(self.params[p].grid or [] for p in grids)) if grids else [()] * (self.n or 0)
        )
        out = []
        for point in points:
            fixed = dict(zip(grids, point, strict=True))
            out.append({p: rounded(p, fixed[p] if p in fixed else self.params[p].draw(rng)) for p in ordered})
        return out

    def variants(self) -> list[dict]:
        """The variants (as VariantSpec fields): every configuration crossed with every norm, labelled."""
        out, seen = [], {}
        for config in self.configurations():
            values = " ".join(f"{SHORT[p]}={_shown(p, v)}" for p, v in config.items())
            for norm in self.norms:
                label = f"{values} {NORM_LABEL[norm]}"
                seen[label] = seen.get(label, 0) + 1
                if seen[label] > 1:  # the same draw twice (a choice): kept apart, trained alike
                    label = f"{label} #{seen[label]}"
                out.append({"label": label, "norm": norm, **{variant_field(p): v for p, v in config.items()}})
        return out


def variant_field(param: str) -> str:
    """The VariantSpec field that overrides a swept parameter: its last name (optimizer.lr -> lr)."""
    return param.rsplit(".", 1)[-1]


def _shown(param: str, value: float | int) -> str:
    """A value as its label shows it: β with the digits that say how near 1 it is."""
    return f"{value:.6g}" if param == "optimizer.momentum" else f"{value:.3g}"


class RefineRequest(_Strict):
    """POST /experiments/{id}/refine: the next round of a finished sweep, around its best configurations."""

    fraction: float = Field(
        0.25,
        gt=0,
        le=1,
        description="The share of configurations, best validation accuracy first, to zoom in on.",
    )
    n: int | None = Field(
        None,
        ge=1,
        le=MAX_SWEEP_VARIANTS,
        description="Random configurations next round (default: as before).",
    )


PAD = 0.1  # the new region reaches this share of the old range beyond the best values on each side


def _scale(dist: Distribution) -> tuple:
    """To and from the axis a distribution is uniform on: log x, log(1 − x), or x itself."""
    if dist.log_uniform:
        return math.log10, lambda u: 10**u
    if dist.one_minus_log_uniform:
        return lambda x: math.log10(1 - x), lambda u: 1 - 10**u
    values = dist.grid or dist.choice or []
    if values and min(values) > 0 and max(values) / min(values) >= 100:  # a grid spread over decades
        return math.log10, lambda u: 10**u
    return (lambda x: x), (lambda u: u)


def _narrowed(param: str, dist: Distribution, best: list[float]) -> Distribution:
    """Where the best values lie in its range, padded, on its own scale, inside the old range."""
    if dist.choice is not None:
        return Distribution(choice=sorted(set(best)))
    to, back = _scale(dist)
    ends = [to(x) for x in dist.extremes()]
    lo, hi = min(ends), max(ends)
    pad = PAD * (hi - lo)
    top = [to(x) for x in best]
    new_lo, new_hi = max(lo, min(top) - pad), min(hi, max(top) + pad)
    if dist.grid is not None:
        count = len(dist.grid)
        points = [new_lo + (new_hi - new_lo) * k / max(count - 1, 1) for k in range(count)]
        return Distribution(grid=sorted({float(rounded(param, back(u))) for u in points}))
    low_high = sorted([back(new_lo), back(new_hi)])
    if dist.log_uniform:
        return Distribution(log_uniform=low_high)
    if dist.one_minus_log_uniform:
        return Distribution(one_minus_log_uniform=sorted(1 - x for x in low_high))
    return Distribution(uniform=low_high)


def refined(sweep: SweepSpec, accuracies: list[float | None], parent: str, ask: RefineRequest) -> SweepSpec:
    """The next round: each parameter narrowed to where the best configurations lie (a configuration scores
    its best validation accuracy over the norms), log-scale aware; linked to the round it refines."""
    configs = sweep.configurations()
    per_norm = len(sweep.norms)
    scores = [
        max((a for a in accuracies[i * per_norm : (i + 1) * per_norm] if a is not None), default=-1.0)
        for i in range(len(configs))
    ]
    keep = max(2, math.ceil(ask.fraction * len(configs)))
    best = sorted(range(len(configs)), key=lambda i: scores[i], reverse=True)[:keep]
    params = {p: _narrowed(p, d, [configs[i][p] for i in best]) for p, d in sweep.params.items()}
    grid = any(d.grid is not None for d in params.values())
    return SweepSpec(
        n=None if grid else ask.n or sweep.n,
        seed=sweep.seed + 1,
        params=params,
        norms=sweep.norms,
        parent=parent,
    )
