"""synthetic_sketches: line drawings of the synthetic scenes (studies/datasets/synthetic.py) -> their photos, the
embedded stand-in for the Sketchy sketch -> photo data of the Beggs, Khadem, Lund, Thompson report.

A sketch is black strokes on white: the class boundaries and instance outlines (each car, each person) of the
label map, plus the inner detail a person draws: window grids of buildings, lane marks on the road and the
edges of foliage, found where the photo's luminance gradient is strong inside those classes. Hand-drawn
jitter: the strokes are displaced by a smooth random field (about 1 px at 64 px), some detail strokes are
dropped, and the line width grows with the image size. Deterministic from (seed, index), like the scenes.
Built for ganbench (no paper); the real Sketchy photos are not used.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage

from studies.datasets import synthetic

DETAIL_CLASSES = (synthetic.BUILDING, synthetic.ROAD, synthetic.VEGETATION, synthetic.CAR)


def _outlines(m: np.ndarray) -> np.ndarray:
    """Pixels whose right or lower neighbour belongs to another region of the map `m`."""
    edge = np.zeros(m.shape, bool)
    edge[:, :-1] |= m[:, :-1] != m[:, 1:]
    edge[:-1, :] |= m[:-1, :] != m[1:, :]
    return edge


def render_sketch(seed: int, index: int, size: int = 64) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(label int64 (size, size), sketch uint8 (size, size, 3), photo uint8 (size, size, 3))."""
    label, photo, inst, _ = synthetic.render_instances(seed, index, size)
    rng = np.random.default_rng([int(seed), int(index), 7])
    lum = photo.astype(np.float64) @ np.array([0.299, 0.587, 0.114]) / 255
    grad = np.hypot(ndimage.sobel(lum, 0), ndimage.sobel(lum, 1))
    detail = (grad > np.quantile(grad, 0.85)) & np.isin(label, DETAIL_CLASSES)
    detail &= rng.random(detail.shape) > 0.25  # a drawer skips some detail
    strokes = _outlines(label) | _outlines(inst) | detail
    scale = size / 64
    dy, dx = (ndimage.gaussian_filter(rng.normal(0, 1, (size, size)), 3 * scale) * 6 * scale for _ in range(2))
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float64)
    warped = ndimage.map_coordinates(strokes.astype(np.float64), [yy + dy, xx + dx], order=1, mode="nearest") > 0.35
    if size >= 128:
        warped = ndimage.binary_dilation(warped, iterations=int(scale // 2))
    sketch = np.where(warped[..., None], 0, 255).astype(np.uint8).repeat(3, axis=2)
    return label, sketch, photo
