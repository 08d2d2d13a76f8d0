"""`shapes`: 32x32 RGB images of ten kinds of figure, generated from the seed, for halls without a network.

Each image draws one figure (bars, rings, crosses, blobs, gradients, ...) in a random colour on a random
background, with jittered size, position, thickness and pixel noise: a small CNN learns it, but not in a
few steps, so a deep plain net at a high learning rate visibly lags its BN twin. Generated with torch on
the host, then uploaded like the files: a seed gives the same images on any device."""

import math

import torch

SIZE = 32
CLASSES = (
    "horizontal bar",
    "vertical bar",
    "diagonal bar",
    "anti-diagonal bar",
    "ring",
    "blob",
    "plus",
    "cross",
    "gradient",
    "square",
)


def _masks(
    kind: int, dx: torch.Tensor, dy: torch.Tensor, s: torch.Tensor, t: torch.Tensor, angle: torch.Tensor
):
    """Foreground weight in [0, 1] per pixel for n figures of one kind; dx, dy: (n, H, W) from the centre."""
    r = torch.sqrt(dx * dx + dy * dy)
    along, across = (dx + dy) / math.sqrt(2), (dx - dy) / math.sqrt(2)
    long = 1.6 * s
    match kind:
        case 0:
            m = (dy.abs() < t) & (dx.abs() < long)
        case 1:
            m = (dx.abs() < t) & (dy.abs() < long)
        case 2:
            m = (across.abs() < t) & (along.abs() < long)
        case 3:
            m = (along.abs() < t) & (across.abs() < long)
        case 4:
            m = (r - s).abs() < 0.7 * t
        case 5:
            return torch.exp(-(r * r) / (2 * (s / 1.6) ** 2))
        case 6:
            m = ((dx.abs() < t) & (dy.abs() < long)) | ((dy.abs() < t) & (dx.abs() < long))
        case 7:
            m = ((across.abs() < t) & (along.abs() < long)) | ((along.abs() < t) & (across.abs() < long))
        case 8:
            ramp = (dx * torch.cos(angle) + dy * torch.sin(angle)) / (0.6 * s)
            return torch.sigmoid(ramp)
        case _:
            m = (torch.maximum(dx.abs(), dy.abs()) - s).abs() < 0.7 * t
    return m.float()


def make_shapes(n: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """n images (n, 3, 32, 32) uint8 and their labels, balanced over the ten classes, in a seeded order."""
    gen = torch.Generator().manual_seed(seed)

    def uniform(lo: float, hi: float, *shape: int) -> torch.Tensor:
        return lo + (hi - lo) * torch.rand(*shape, generator=gen)

    y = torch.arange(n) % len(CLASSES)
    y = y[torch.randperm(n, generator=gen)]
    grid = torch.arange(SIZE, dtype=torch.float32) + 0.5
    centre = uniform(11.0, 21.0, n, 2)
    dx = grid[None, None, :] - centre[:, 0, None, None]
    dy = grid[None, :, None] - centre[:, 1, None, None]
    s, t = uniform(4.5, 9.0, n, 1, 1), uniform(1.2, 2.8, n, 1, 1)
    angle = uniform(0.0, 2 * math.pi, n, 1, 1)
    weight = torch.empty(n, SIZE, SIZE)
    for kind in range(len(CLASSES)):
        k = y == kind
        weight[k] = _masks(kind, dx[k], dy[k], s[k], t[k], angle[k])
    background = uniform(0.0, 1.0, n, 3)
    # the figure differs from the background by at least 0.3 in brightness, in a direction that stays in range
    direction = torch.where(background.mean(1, keepdim=True) > 0.5, -1.0, 1.0)
    foreground = (background + direction * uniform(0.3, 0.7, n, 1) + uniform(-0.25, 0.25, n, 3)).clamp(0, 1)
    image = background[:, :, None, None] + (foreground - background)[:, :, None, None] * weight[:, None]
    image = image + uniform(0.02, 0.12, n, 1, 1, 1) * torch.randn(n, 3, SIZE, SIZE, generator=gen)
    return (image.clamp(0, 1) * 255).round().to(torch.uint8), y
