"""synthetic_scenes: a deterministic street-scene labels->photo dataset, generated offline.

Built for ganbench (no paper): it mimics the Cityscapes labels->photo task of pix2pix (Isola et al.
2017, arXiv:1611.07004) at any resolution, so a first run needs no download. The photo is NOT a
function of the label map: every class has a texture family and a multimodal palette (brick /
concrete / glass buildings with window grids of random pitch and phase, cars in several body colours,
blue / overcast / dusk skies, asphalt with lane marks at random phase, leafy vegetation), plus global
lighting and sensor noise. So L1 alone learns a blurry average, a GAN must invent sharp colourful
texture, and a segmenter trained on real photos relies on texture and colour.

Determinism: every random draw comes from `numpy.random.default_rng([seed, index])` (PCG64, stable
across platforms and numpy versions); the layout is defined in image fractions, so one (seed, index)
gives the same scene at every resolution.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

CLASSES: tuple[str, ...] = ("sky", "building", "road", "sidewalk", "vegetation", "car", "pole", "person")
SKY, BUILDING, ROAD, SIDEWALK, VEGETATION, CAR, POLE, PERSON = range(len(CLASSES))
IGNORE = 255
# Cityscapes colours of the same classes, so label images look like the pix2pix input.
COLORS = np.array(
    [
        (70, 130, 180),  # sky
        (70, 70, 70),  # building
        (128, 64, 128),  # road
        (244, 35, 232),  # sidewalk
        (107, 142, 35),  # vegetation
        (0, 0, 142),  # car
        (153, 153, 153),  # pole
        (220, 20, 60),  # person
    ],
    dtype=np.uint8,
)

SKY_MODES = {  # (zenith, horizon) colours in [0, 1]
    "blue": ((0.22, 0.42, 0.82), (0.65, 0.80, 0.95)),
    "overcast": ((0.62, 0.64, 0.68), (0.84, 0.85, 0.87)),
    "dusk": ((0.30, 0.22, 0.48), (0.98, 0.60, 0.35)),
}
BUILDING_MATERIALS = {
    "brick": (0.62, 0.27, 0.18),
    "concrete": (0.74, 0.72, 0.66),
    "glass": (0.20, 0.42, 0.58),
}
CAR_COLORS = {
    "red": (0.78, 0.08, 0.08),
    "blue": (0.08, 0.18, 0.66),
    "white": (0.92, 0.92, 0.92),
    "black": (0.06, 0.06, 0.08),
    "yellow": (0.92, 0.76, 0.08),
}
VEGETATION_GREENS = ((0.18, 0.36, 0.10), (0.36, 0.55, 0.16), (0.62, 0.50, 0.12))
PAVING = ((0.66, 0.66, 0.64), (0.72, 0.64, 0.52), (0.58, 0.36, 0.32))
WINDOW = np.array((0.10, 0.12, 0.16))


@dataclass
class _Canvas:
    """Label, instance and photo buffers plus normalised pixel-centre coordinates."""

    size: int
    rng: np.random.Generator

    def __post_init__(self) -> None:
        s = self.size
        c = (np.arange(s, dtype=np.float64) + 0.5) / s
        self.y, self.x = np.meshgrid(c, c, indexing="ij")  # (H, W) each, in (0, 1)
        self.label = np.full((s, s), SKY, dtype=np.int64)
        self.inst = np.zeros((s, s), dtype=np.int32)
        self.photo = np.zeros((s, s, 3), dtype=np.float64)
        self.kinds: dict[int, int] = {}  # instance id -> class

    def paint(self, mask: np.ndarray, cls: int) -> int:
        iid = len(self.kinds) + 1
        self.label[mask], self.inst[mask] = cls, iid
        self.kinds[iid] = cls
        return iid

    def noise(self, cells: int) -> np.ndarray:
        """Blocky value noise in [-1, 1] with `cells` blocks per side, (H, W)."""
        low = self.rng.uniform(-1, 1, (cells, cells))
        idx = np.minimum((np.arange(self.size) * cells) // self.size, cells - 1)
        return low[np.ix_(idx, idx)]


def render_scene(seed: int, index: int, size: int = 64) -> tuple[np.ndarray, np.ndarray]:
    """One scene: `label` int64 (size, size) in range(len(CLASSES)), `photo` uint8 (size, size, 3)."""
    label, photo, _, _ = render_instances(seed, index, size)
    return label, photo


def render_instances(seed: int, index: int, size: int = 64):
    """Like `render_scene`, plus the instance map int32 (size, size) and {instance id: class}."""
    if not isinstance(size, int | np.integer) or size % 16 or not 32 <= size <= 512:
        raise ValueError(f"size must be a multiple of 16 in [32, 512], got {size!r}")
    cv = _Canvas(int(size), np.random.default_rng([int(seed), int(index)]))
    horizon = cv.rng.uniform(0.38, 0.52)
    _sky(cv, horizon)
    _buildings(cv, horizon)
    road = _ground(cv, horizon)
    _trees(cv, horizon)
    _poles_and_people(cv, horizon, road)
    _cars(cv, horizon, road)
    gain = cv.rng.uniform(0.85, 1.12) * cv.rng.uniform(0.96, 1.04, 3)  # global lighting and white balance
    photo = cv.photo * gain + cv.rng.normal(0, cv.rng.uniform(0.008, 0.025), cv.photo.shape)  # sensor noise
    photo = np.clip(np.rint(photo * 255), 0, 255).astype(np.uint8)
    return cv.label, photo, cv.inst, cv.kinds


def colorize(label: np.ndarray, colors: np.ndarray = COLORS) -> np.ndarray:
    """Cityscapes-style colour image uint8 (..., 3) of a label map; 255 (ignore) becomes black."""
    label = np.asarray(label)
    out = np.zeros(label.shape + (3,), dtype=np.uint8)
    valid = label != IGNORE
    bad = label[valid][(label[valid] < 0) | (label[valid] >= len(colors))]
    if bad.size:
        raise ValueError(f"label value {int(bad[0])} is outside [0, {len(colors) - 1}] and is not {IGNORE}")
    out[valid] = colors[label[valid]]
    return out


def _lerp(c0, c1, t: np.ndarray) -> np.ndarray:
    c0, c1 = np.asarray(c0), np.asarray(c1)
    return c0 + (c1 - c0) * t[..., None]


def _sky(cv: _Canvas, horizon: float) -> None:
    mode = list(SKY_MODES)[cv.rng.integers(len(SKY_MODES))]
    top, bottom = SKY_MODES[mode]
    cv.photo[:] = _lerp(top, bottom, np.clip(cv.y / horizon, 0, 1))
    cv.photo += 0.03 * cv.noise(4)[..., None]  # clouds


def _buildings(cv: _Canvas, horizon: float) -> None:
    rng, x0 = cv.rng, cv.rng.uniform(-0.15, 0.0)
    while x0 < 1.0:
        width = rng.uniform(0.14, 0.34)
        if rng.random() < 0.88:
            top = rng.uniform(0.03, horizon - 0.1)
            mask = (cv.x >= x0) & (cv.x < x0 + width) & (cv.y >= top) & (cv.y < horizon)
            _facade(cv, mask, x0, top)
        x0 += width + (rng.uniform(0.02, 0.08) if rng.random() < 0.3 else 0.0)


def _facade(cv: _Canvas, mask: np.ndarray, x0: float, top: float) -> None:
    rng = cv.rng
    if not mask.any():
        return
    name = list(BUILDING_MATERIALS)[rng.integers(len(BUILDING_MATERIALS))]
    base = np.array(BUILDING_MATERIALS[name]) + rng.uniform(-0.04, 0.04, 3)
    cv.paint(mask, BUILDING)
    x, y = cv.x[mask] - x0, cv.y[mask] - top
    col = np.broadcast_to(base, (x.size, 3)).copy()
    if name == "brick":  # mortar courses
        col[np.mod(y * cv.size, 3.0) < 0.8] *= 0.8
    elif name == "glass":  # reflections brighten upwards
        col *= (1.15 - 0.3 * y / max(y.max(), 1e-6))[:, None]
    pitch_x, pitch_y = rng.uniform(0.035, 0.08), rng.uniform(0.04, 0.09)
    fx = np.mod(x / pitch_x + rng.random(), 1.0)
    fy = np.mod(y / pitch_y + rng.random(), 1.0)
    win = (fx < rng.uniform(0.35, 0.55)) & (fy < rng.uniform(0.4, 0.6))
    col[win] = WINDOW + 0.05 * rng.random()
    cv.photo[mask] = col


def _ground(cv: _Canvas, horizon: float) -> dict:
    """Perspective road with sidewalks, vegetation verges beyond; returns the road geometry."""
    rng = cv.rng
    vx, bx = rng.uniform(0.4, 0.6), rng.uniform(0.35, 0.65)  # vanishing point x, road centre at bottom
    half, walk = rng.uniform(0.3, 0.5), rng.uniform(0.35, 0.7)  # road half width at bottom; sidewalk/road
    t = np.clip((cv.y - horizon) / (1 - horizon), 0, 1)  # 0 at the horizon, 1 at the bottom
    ground = cv.y >= horizon
    dx = np.abs(cv.x - (vx + (bx - vx) * t))
    hw = half * t + 0.004
    road = ground & (dx < hw)
    side = ground & ~road & (dx < hw * (1 + walk))
    verge = ground & ~road & ~side
    if rng.random() < 0.35:  # paved to the edges
        side, verge = side | verge, verge & False
    _vegetation(cv, verge)
    cv.paint(side, SIDEWALK)
    pav = np.array(PAVING[rng.integers(len(PAVING))]) + rng.uniform(-0.04, 0.04, 3)
    tiles = (np.mod(cv.x[side] * cv.size, 5.0) < 0.7) | (np.mod(cv.y[side] * cv.size, 5.0) < 0.7)
    cv.photo[side] = pav * np.where(tiles, 0.82, 1.0)[:, None]
    cv.paint(road, ROAD)
    grey = rng.uniform(0.2, 0.36)
    asphalt = grey + 0.04 * rng.standard_normal(int(road.sum()))
    depth = 1.0 / (t[road] + 0.08)  # dash phase advances with perspective depth
    lane = (dx[road] < 0.012 + 0.02 * t[road]) & (np.mod(depth * 0.7 + rng.random(), 1.0) < 0.5)
    mark = np.array((0.92, 0.92, 0.88)) if rng.random() < 0.6 else np.array((0.92, 0.78, 0.2))
    col = np.repeat(asphalt[:, None], 3, axis=1)
    col[lane] = mark
    cv.photo[road] = col
    return {"vx": vx, "bx": bx, "half": half, "walk": walk, "horizon": horizon}


def _vegetation(cv: _Canvas, mask: np.ndarray) -> None:
    if not mask.any():
        return
    cv.paint(mask, VEGETATION)
    green = np.array(VEGETATION_GREENS[cv.rng.choice(3, p=(0.45, 0.4, 0.15))])
    leaf = 0.5 * cv.noise(max(cv.size // 4, 4)) + 0.5 * cv.noise(max(cv.size // 2, 8))
    cv.photo[mask] = green * (1 + 0.35 * leaf[mask])[:, None]


def _trees(cv: _Canvas, horizon: float) -> None:
    rng = cv.rng
    for _ in range(rng.choice(4, p=(0.35, 0.3, 0.2, 0.15))):
        tx, r = rng.uniform(0, 1), rng.uniform(0.06, 0.14)
        ty = horizon - rng.uniform(0.2, 0.9) * r
        _vegetation(cv, ((cv.x - tx) / r) ** 2 + ((cv.y - ty) / (1.2 * r)) ** 2 < 1)


def _road_x(road: dict, t: float, side: float) -> float:
    """x of a point at depth t (0 horizon .. 1 bottom), `side` in road half widths from the centre."""
    return road["vx"] + (road["bx"] - road["vx"]) * t + side * (road["half"] * t + 0.004)


def _poles_and_people(cv: _Canvas, horizon: float, road: dict) -> None:
    rng, px = cv.rng, 1.0 / cv.size
    for _ in range(rng.choice(3, p=(0.4, 0.4, 0.2))):  # poles on the sidewalk
        t = rng.uniform(0.3, 0.9)
        x = _road_x(road, t, rng.choice((-1, 1)) * (1 + 0.5 * road["walk"]))
        y = horizon + t * (1 - horizon)
        w = max(0.012 * t, 1.05 * px)
        mask = (np.abs(cv.x - x) < w / 2 + px / 2) & (cv.y < y) & (cv.y > y - rng.uniform(0.45, 0.7) * t)
        cv.paint(mask, POLE)
        cv.photo[mask] = (0.42, 0.42, 0.44) if rng.random() < 0.6 else (0.16, 0.26, 0.18)
    for _ in range(rng.choice(4, p=(0.45, 0.25, 0.2, 0.1))):  # pedestrians on the sidewalk
        t = rng.uniform(0.3, 0.95)
        x = _road_x(road, t, rng.choice((-1, 1)) * (1 + rng.uniform(0.2, 0.8) * road["walk"]))
        y, h = horizon + t * (1 - horizon), rng.uniform(0.16, 0.22) * t
        w = max(0.3 * h, 2.1 * px)
        body = (np.abs(cv.x - x) < w / 2) & (cv.y < y) & (cv.y > y - 0.8 * h)
        head = ((cv.x - x) / (0.3 * w + px)) ** 2 + ((cv.y - (y - 0.88 * h)) / (0.1 * h + px)) ** 2 < 1
        cv.paint(body | head, PERSON)
        shirt = rng.uniform(0.1, 0.9, 3)
        cv.photo[body] = np.where((cv.y[body] > y - 0.42 * h)[:, None], (0.12, 0.13, 0.2), shirt)
        cv.photo[head] = (0.85, 0.65, 0.5) if rng.random() < 0.5 else (0.45, 0.3, 0.2)


def _cars(cv: _Canvas, horizon: float, road: dict) -> None:
    rng = cv.rng
    n = rng.choice(4, p=(0.2, 0.35, 0.3, 0.15))
    for t in np.sort(rng.uniform(0.15, 0.85, n)):  # far cars first, near ones occlude them
        half_road = road["half"] * t + 0.004
        w = half_road * rng.uniform(0.7, 0.9)
        x = _road_x(road, t, rng.uniform(-0.5, 0.5))
        y = horizon + t * (1 - horizon)
        h = 0.55 * w
        body = (np.abs(cv.x - x) < w / 2) & (cv.y < y) & (cv.y > y - 0.55 * h)
        cabin = (np.abs(cv.x - x) < 0.35 * w) & (cv.y <= y - 0.55 * h) & (cv.y > y - h)
        mask = body | cabin
        if not mask.any():
            continue
        cv.paint(mask, CAR)
        name = list(CAR_COLORS)[rng.integers(len(CAR_COLORS))]
        paint = np.array(CAR_COLORS[name]) + rng.uniform(-0.03, 0.03, 3)
        col = np.broadcast_to(paint, (int(mask.sum()), 3)).copy()
        ym, xm = cv.y[mask], cv.x[mask]
        glass = (ym < y - 0.62 * h) & (np.abs(xm - x) < 0.3 * w)
        col[glass] = (0.12, 0.15, 0.2)
        col[(ym > y - 0.12 * h) & (np.abs(np.abs(xm - x) - 0.3 * w) < 0.08 * w)] = (
            0.03,
            0.03,
            0.03,
        )  # wheels
        cv.photo[mask] = col


def grid(seed: int = 0, n: int = 16, size: int = 128, cols: int = 8) -> np.ndarray:
    """uint8 image of `n` scenes, each label colours above its photo, `cols` per row."""
    tiles = []
    for i in range(n):
        label, photo = render_scene(seed, i, size)
        tiles.append(np.concatenate([colorize(label), photo], axis=0))
    rows = [np.concatenate(tiles[r : r + cols], axis=1) for r in range(0, n, cols)]
    return np.concatenate(rows, axis=0)
