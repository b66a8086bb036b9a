"""A plain NumPy port of Progressive GAN's sliced_wasserstein.py (Karras et al. 2018), the yardstick for
metrics/swd.py: the same protocol, with scipy.ndimage convolutions (mode="mirror" = reflect-101) and
the patch positions and directions passed in, so tests can compare both implementations exactly.
"""

import numpy as np
import scipy.ndimage

_G = np.outer([1, 4, 6, 4, 1], [1, 4, 6, 4, 1]).astype(np.float32) / 256.0


def pyr_down(x):
    return scipy.ndimage.convolve(x, _G[None, None], mode="mirror")[:, :, ::2, ::2]


def pyr_up(x):
    s = x.shape
    res = np.zeros((s[0], s[1], s[2] * 2, s[3] * 2), x.dtype)
    res[:, :, ::2, ::2] = x
    return scipy.ndimage.convolve(res, _G[None, None] * 4.0, mode="mirror")


def laplacian_pyramid(x, n_levels):
    pyramid = [x]
    for _ in range(1, n_levels):
        pyramid.append(pyr_down(pyramid[-1]))
        pyramid[-2] -= pyr_up(pyramid[-1])
    return pyramid


def descriptors(level, centres, nhood=7):
    """centres: (2, N, P) interior (y, x) per image -> (N * P, 3, 7, 7)."""
    h = nhood // 2
    n, p = centres.shape[1:]
    out = np.empty((n * p, level.shape[1], nhood, nhood), level.dtype)
    for i in range(n):
        for k in range(p):
            y, x = centres[0, i, k], centres[1, i, k]
            out[i * p + k] = level[i, :, y - h : y + h + 1, x - h : x + h + 1]
    return out


def finalize(desc):
    desc = desc - np.mean(desc, axis=(0, 2, 3), keepdims=True)
    desc /= np.std(desc, axis=(0, 2, 3), keepdims=True)
    return desc.reshape(desc.shape[0], -1)


def sliced_wasserstein(a, b, direction_sets):
    results = []
    for dirs in direction_sets:  # each (D, 128), unit columns
        pa, pb = np.sort(a @ dirs, axis=0), np.sort(b @ dirs, axis=0)
        results.append(np.mean(np.abs(pa - pb)))
    return float(np.mean(results))
