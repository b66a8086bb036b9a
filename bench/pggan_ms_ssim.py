"""Test oracle: Progressive GAN's MS-SSIM protocol (Karras et al. 2018, github.com/tkarras/progressive_growing_of_gans
metrics/ms_ssim.py, itself from TensorFlow's research/compression msssim.py), re-implemented in NumPy from its
description, in the reference's own convention: uint8 NHWC images, max_val 255, float32 arithmetic.

Per scale: an 'fspecial' Gaussian window of size min(11, H, W) and sigma 1.5 x size / 11, applied with
scipy.signal.fftconvolve in 'valid' mode to x, y, x^2, y^2, xy; ssim and cs averaged over the valid map and the
channels per image; then 2x2 box downsampling. Five scales with the paper's weights, each term clipped at 0,
cs of the first four times ssim of the last; averaged over images at the end. Diversity: pairs (0, 1), (2, 3), ...
"""

import numpy as np
from scipy import signal

WEIGHTS = np.array([0.0448, 0.2856, 0.3001, 0.2363, 0.1333])


def gaussian_window(size: int, sigma: float) -> np.ndarray:
    half = (size - 1) / 2  # centred grid, half-integer offsets for even sizes (as fspecial)
    coords = np.arange(size) - half
    g = np.exp(-(coords[:, None] ** 2 + coords[None, :] ** 2) / (2 * sigma**2))
    return g / g.sum()


def ssim_and_cs(a: np.ndarray, b: np.ndarray, max_val: float = 255.0) -> tuple[np.ndarray, np.ndarray]:
    _, h, w, _ = a.shape
    size = min(11, h, w)
    window = gaussian_window(size, 1.5 * size / 11)[None, :, :, None].astype(np.float32)
    blur = lambda x: signal.fftconvolve(x, window, mode="valid")  # noqa: E731
    mu_a, mu_b = blur(a), blur(b)
    var_a, var_b, cov = blur(a * a) - mu_a**2, blur(b * b) - mu_b**2, blur(a * b) - mu_a * mu_b
    c1, c2 = (0.01 * max_val) ** 2, (0.03 * max_val) ** 2
    contrast = (2 * cov + c2) / (var_a + var_b + c2)
    luminance = (2 * mu_a * mu_b + c1) / (mu_a**2 + mu_b**2 + c1)
    return (luminance * contrast).mean(axis=(1, 2, 3)), contrast.mean(axis=(1, 2, 3))


def ms_ssim_per_image(img1: np.ndarray, img2: np.ndarray) -> np.ndarray:
    """Per-image MS-SSIM of uint8 (N, H, W, C) batches (the reference returns their mean)."""
    a, b = img1.astype(np.float32), img2.astype(np.float32)
    ssims, css = [], []
    for _ in WEIGHTS:
        s, cs = ssim_and_cs(a, b)
        ssims.append(s)
        css.append(cs)
        a, b = ((x[:, 0::2, 0::2] + x[:, 1::2, 0::2] + x[:, 0::2, 1::2] + x[:, 1::2, 1::2]) * 0.25 for x in (a, b))
    ssims, css = np.clip(np.array(ssims), 0, None), np.clip(np.array(css), 0, None)
    return np.prod(css[:-1] ** WEIGHTS[:-1, None], axis=0) * ssims[-1] ** WEIGHTS[-1]


def diversity(images: np.ndarray) -> float:
    """Mean MS-SSIM of the pairs (0, 1), (2, 3), ... of uint8 (N, H, W, C) images."""
    n = images.shape[0] // 2 * 2
    return float(ms_ssim_per_image(images[0:n:2], images[1:n:2]).mean())
