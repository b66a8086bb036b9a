"""Per-image pixel metrics: L1 and PSNR (torchmetrics), with an explicit data range.

`l1` is the mean absolute error on the image's own scale ([-1, 1] by default, as the pix2pix loss
sees it; halve it for the [0, 1] scale). `psnr` = 10 log10(data_range^2 / MSE) per image, via
torchmetrics' `peak_signal_noise_ratio(reduction="none", dim=(1, 2, 3))`; identical images give inf.
"""

from __future__ import annotations

import torch  # noqa: F401  (doctest namespace)
from torch import Tensor
from torchmetrics.functional.image import peak_signal_noise_ratio

from metrics.protocol import check_pair


def l1(x: Tensor, y: Tensor, *, data_range: float = 2.0) -> Tensor:
    """Per-image mean absolute difference.

    Args:
        x, y: float (N, C, H, W) in [-1, 1] (data_range 2) or [0, 1] (data_range 1).

    Returns:
        float (N,), in [0, data_range].

    Example:
        >>> l1(torch.zeros(1, 3, 4, 4), torch.ones(1, 3, 4, 4))
        tensor([1.])
    """
    check_pair(x, y, ("x", "y"), data_range=data_range)
    return (x - y).abs().mean(dim=(1, 2, 3))


def psnr(x: Tensor, y: Tensor, *, data_range: float = 2.0) -> Tensor:
    """Per-image PSNR in dB.

    Args:
        x, y: float (N, C, H, W) in [-1, 1] (data_range 2) or [0, 1] (data_range 1).

    Returns:
        float (N,); inf where the images are identical.

    Example:
        >>> psnr(torch.zeros(1, 3, 4, 4), torch.ones(1, 3, 4, 4)).round(decimals=3)
        tensor([6.0210])
    """
    check_pair(x, y, ("x", "y"), data_range=data_range)
    return peak_signal_noise_ratio(x, y, data_range=data_range, reduction="none", dim=(1, 2, 3))
