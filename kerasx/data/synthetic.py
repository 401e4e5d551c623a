"""Procedural malaria-like cell images: **synthetic, not real data**.

A stand-in for offline demos and tests, learnable but not trivially; numbers measured on it say
nothing about malaria. NumPy only: ``sources.py`` turns the fixed population into a source.
"""

import numpy as np

from kerasx._validation import check_int

__all__ = ["make_synthetic_malaria"]

# The fixed population of the "synthetic" source: its size and seed.
_SYNTHETIC_SIZE = 2800
_SYNTHETIC_SEED = 20150918


def make_synthetic_malaria(n=_SYNTHETIC_SIZE, *, image_size=100, seed=_SYNTHETIC_SEED):
    """Draws procedural malaria-like cell images (**synthetic, not real data**).

    Each image is a round pink cell with a soft edge, a darker membrane, low-frequency texture,
    brightness and hue jitter and pixel noise on a black background, as in the NIH images. Both
    classes may carry faint stain artifacts; parasitized cells (label 1) also carry one to three
    dark purple ring forms or chromatin dots of random size, position and contrast. Image ``i``
    depends only on ``(seed, i)``, and its geometry not on ``image_size``.

    Args:
        n: number of images; the first ``n // 2`` are uninfected (label 0), the rest
            parasitized (label 1).
        image_size: side length in pixels.
        seed: seed of the population.

    Returns:
        ``(images, labels)``: uint8 ``(n, image_size, image_size, 3)`` and float32 ``(n,)``.

    >>> images, labels = make_synthetic_malaria(4, image_size=16)
    >>> images.shape, images.dtype, labels.tolist()
    ((4, 16, 16, 3), dtype('uint8'), [0.0, 0.0, 1.0, 1.0])
    """
    n = check_int("n", n, minimum=1)
    image_size = check_int("image_size", image_size, minimum=1)
    seed = check_int("seed", seed, minimum=0)
    labels = _synthetic_labels(n)
    return _synthetic_images(np.arange(n), labels, image_size, seed), labels


def _synthetic_labels(n):
    return (np.arange(n) >= n // 2).astype(np.float32)


def _synthetic_images(indices, labels, image_size, seed):
    grid = (np.arange(image_size) + 0.5) / image_size * 2.0 - 1.0
    v, u = np.meshgrid(grid, grid, indexing="ij")
    images = np.empty((len(indices), image_size, image_size, 3), np.uint8)
    for row, i in enumerate(indices):
        rng = np.random.default_rng([seed, int(i)])
        images[row] = _synthetic_cell(rng, u, v, parasitized=bool(labels[i]))
    return images


def _blob(u, v, cx, cy, radius, ring):
    """A soft spot (``ring=False``) or annulus (``ring=True``) of peak 1 at (cx, cy)."""
    r = np.hypot(u - cx, v - cy) / radius
    if ring:
        return np.exp(-(((r - 0.75) / 0.3) ** 2))
    return np.exp(-(r**2) * 1.5)


def _synthetic_cell(rng, u, v, *, parasitized):
    # The cell: a rotated ellipse with a soft edge and a darker rim (the membrane).
    cx, cy = rng.normal(0.0, 0.06, size=2)
    a, b = rng.uniform(0.6, 0.88, size=2)
    theta = rng.uniform(0, np.pi)
    du, dv = u - cx, v - cy
    x = (du * np.cos(theta) + dv * np.sin(theta)) / a
    y = (-du * np.sin(theta) + dv * np.cos(theta)) / b
    r = np.hypot(x, y)
    inside = 1.0 / (1.0 + np.exp((r - 1.0) / 0.04))
    base = np.array([215.0, 150.0, 165.0]) * rng.uniform(0.8, 1.1) + rng.normal(0, 12, 3)
    texture = sum(
        rng.uniform(3, 9) * np.cos(rng.uniform(1, 5) * (u * np.cos(t) + v * np.sin(t)) + p)
        for t, p in rng.uniform(0, 2 * np.pi, size=(3, 2))
    )
    cell = base - 40.0 * np.exp(-(((r - 0.95) / 0.08) ** 2))[..., None] + texture[..., None]
    stain = np.zeros_like(u)
    # Artifacts (both classes): faint, larger, fuzzy smudges.
    for _ in range(rng.integers(0, 3)):
        px, py = rng.uniform(-0.6, 0.6, size=2)
        stain += rng.uniform(0.15, 0.4) * _blob(u, v, px, py, rng.uniform(0.1, 0.25), False)
    if parasitized:
        for _ in range(rng.integers(1, 4)):
            angle, dist = rng.uniform(0, 2 * np.pi), rng.uniform(0, 0.65)
            px, py = cx + dist * a * np.cos(angle), cy + dist * b * np.sin(angle)
            radius = rng.uniform(0.05, 0.14)
            stain += rng.uniform(0.35, 0.9) * _blob(u, v, px, py, radius, rng.random() < 0.5)
    stain = np.clip(stain, 0.0, 1.0)[..., None] * inside[..., None]
    purple = np.array([95.0, 45.0, 135.0])
    cell = cell * (1.0 - stain) + purple * stain
    image = cell * inside[..., None] + rng.normal(0, 5, size=cell.shape)
    return np.clip(np.round(image), 0, 255).astype(np.uint8)
