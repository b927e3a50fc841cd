"""Linear stretch of every channel to the full ``[0, 1]`` range (GLCAE's first step)."""

from __future__ import annotations

from torch import Tensor


def linear_stretch(x: Tensor) -> Tensor:
    """Min-max scale each channel of each image to ``[0, 1]``.

    Args:
        x: ``(B, C, H, W)`` float, any range.

    Returns:
        ``(B, C, H, W)`` in ``[0, 1]``; differentiable in ``x``. A constant channel has no range
        to stretch and is returned as it is (clamped to ``[0, 1]``), without NaN.
    """
    flat = x.flatten(2)
    low = flat.amin(dim=-1)[..., None, None]
    span = flat.amax(dim=-1)[..., None, None] - low
    constant = span <= 0
    scale = span.masked_fill(constant, 1.0).reciprocal().masked_fill(constant, 1.0)
    offset = (low * scale).neg().masked_fill(constant, 0.0)
    # (x * scale).add_(offset): addcmul with broadcast operands is several times slower on CPU.
    return (x * scale).add_(offset).clamp_(0.0, 1.0)
