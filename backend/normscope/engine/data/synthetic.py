"""Small tabular sets drawn from the seed: spirals and Gaussian blobs."""

import numpy as np


def make_spirals(n: int, k: int, noise: float, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """k interleaved spiral arms in 2-D: not linearly separable, so depth and nonlinearity matter."""
    y = np.arange(n) % k
    t = rng.uniform(0.0, 1.0, n)
    r = t * 4.0
    angle = t * 3.0 * np.pi + y * (2 * np.pi / k)
    x = np.stack([r * np.cos(angle), r * np.sin(angle)], axis=1)
    return x + rng.normal(0.0, noise, x.shape), y


def make_blobs(
    n: int, k: int, d: int, noise: float, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """k Gaussian clusters in d dimensions with centres on a unit-scale grid of random directions."""
    centres = rng.normal(0.0, 1.0, (k, d))
    y = np.arange(n) % k
    return centres[y] + rng.normal(0.0, max(noise, 1e-3), (n, d)), y
