"""CPU convolution autotune (`train.conv_autotune`): per convolution shape, the faster of oneDNN's kernels and torch's
own, chosen by timing both at the shape's first call, as cuDNN's benchmark mode chooses among its algorithms (issue
27, item 4).

On a CPU, torch sends a float convolution to oneDNN (mkldnn) whenever it can. For the wide convolutions on tiny maps
of a U-Net's bottleneck (512-1024 channels on 1x1 to 8x8 maps) oneDNN's forward and backward are several times
slower than torch's own (im2col + GEMM) kernels here (pix2pix 256 px: a 1024 -> 512 transposed conv on a 2x2 map,
forward + backward, 0.34 s with oneDNN, 0.05 s without), while on large maps oneDNN is faster. `ConvAutotune` is a
TorchFunctionMode that the loop's Engine holds over each training step: every `conv2d` / `conv_transpose2d` call on
the CPU is keyed by its shapes and options; the first call of a key times forward + backward both ways on copies (3
reps each, the best rep; no random draws, so the training's random stream is untouched) and keeps the faster; calls
choosing torch's kernels run forward and backward with torch's mkldnn switch off (`_NativeConv`). Same maths; the
rounding of other kernels, so a run with autotune agrees with one without to float rounding, not bit for bit, and
the choice can differ between runs as timings do (cudnn.benchmark's caveat). Not used for CUDA tensors, string
padding, unbatched inputs or while torch's mkldnn switch is off.
"""

from __future__ import annotations

import time
from contextlib import contextmanager

import torch
import torch.nn.functional as F
from torch.overrides import TorchFunctionMode

REPS = 3


@contextmanager
def onednn(enabled: bool):
    """torch's mkldnn switch alone (torch.backends.mkldnn.flags also sets TF32 and warns on every call)."""
    before = torch._C._get_mkldnn_enabled()
    torch._C._set_mkldnn_enabled(enabled)
    try:
        yield
    finally:
        torch._C._set_mkldnn_enabled(before)


def _pair(v) -> tuple[int, int]:
    return (v, v) if isinstance(v, int) else tuple(v)


def _conv_args(x, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    return x, weight, bias, _pair(stride), padding, _pair(dilation), False, (0, 0), groups


def _convt_args(x, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1, dilation=1):
    return x, weight, bias, _pair(stride), padding, _pair(dilation), True, _pair(output_padding), groups


class _NativeConv(torch.autograd.Function):
    """aten.convolution and its backward with oneDNN off: torch's own CPU kernels both ways."""

    @staticmethod
    def forward(ctx, x, w, b, stride, padding, dilation, transposed, output_padding, groups):
        ctx.save_for_backward(x, w)
        ctx.conf = (None if b is None else list(b.shape), stride, padding, dilation, transposed, output_padding, groups)
        with onednn(False):
            return torch.ops.aten.convolution(x, w, b, stride, padding, dilation, transposed, output_padding, groups)

    @staticmethod
    def backward(ctx, gy):
        x, w = ctx.saved_tensors
        bias_sizes, *conf = ctx.conf
        need = ctx.needs_input_grad
        mask = [need[0], need[1], bias_sizes is not None and need[2]]
        with onednn(False):
            gx, gw, gb = torch.ops.aten.convolution_backward(gy, x, w, bias_sizes, *conf, mask)
        return gx, gw, gb, None, None, None, None, None, None


def _native(x, w, b, conf, grad: bool) -> torch.Tensor:
    """The convolution on torch's own kernels: through _NativeConv where a gradient is wanted."""
    if grad:
        return _NativeConv.apply(x, w, b, *conf)
    with onednn(False):
        return torch.ops.aten.convolution(x, w, b, *conf)


class ConvAutotune(TorchFunctionMode):
    """Hold over a training step (`with tuner:`); `choice` maps each convolution key to True (oneDNN) or False
    (torch's kernels) and persists across steps."""

    def __init__(self):
        super().__init__()
        self.choice: dict[tuple, bool] = {}

    def __torch_function__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        if func is F.conv2d:
            parsed = _conv_args(*args, **kwargs)
        elif func is F.conv_transpose2d:
            parsed = _convt_args(*args, **kwargs)
        else:
            return func(*args, **kwargs)
        x, w, b, stride, padding, dilation, transposed, out_pad, groups = parsed
        if (x.device.type != "cpu" or x.dim() != 4 or isinstance(padding, str) or not torch._C._get_mkldnn_enabled()
                or x.dtype not in (torch.float32, torch.float64)):  # fmt: skip
            return func(*args, **kwargs)
        padding = _pair(padding)
        grads = (x.requires_grad, w.requires_grad, b is not None and b.requires_grad)
        key = (transposed, tuple(x.shape), tuple(w.shape), b is not None, stride, padding, dilation, out_pad, groups,
               x.dtype, x.is_contiguous(), grads if torch.is_grad_enabled() else None)  # fmt: skip
        conf = (stride, padding, dilation, transposed, out_pad, groups)
        if key not in self.choice:
            self.choice[key] = self._faster_is_onednn(x, w, b, conf, key[-1])
        if self.choice[key]:
            return func(*args, **kwargs)
        return _native(x, w, b, conf, torch.is_grad_enabled() and any(grads))

    @staticmethod
    def _faster_is_onednn(x, w, b, conf, grads) -> bool:
        """Forward (+ backward where anything needs a gradient) on copies, each way, best of REPS."""
        copies = [t.detach().clone().requires_grad_(g) if t is not None else None
                  for t, g in zip((x, w, b), grads or (False, False, False), strict=True)]  # fmt: skip
        best = {}
        for use in (True, False):
            times = []
            for _ in range(REPS):
                t0 = time.perf_counter()
                with torch.enable_grad() if grads else torch.no_grad():
                    y = torch.ops.aten.convolution(*copies, *conf) if use else _native(*copies, conf, bool(grads))
                    if y.requires_grad:
                        y.backward(torch.ones_like(y))
                times.append(time.perf_counter() - t0)
            best[use] = min(times)
        return best[True] <= best[False]
