"""CLAHE tile look-up tables from tile histograms: clipping and redistribution.

OpenCV's arithmetic, for a tile of ``P`` pixels: the clip is the integer
``k = max(int(clip_limit * P / 256), 1)`` counts; the clipped excess goes back as
``excess // 256`` to every bin plus one count to each of ``excess % 256`` bins taken with step
``max(256 // (excess % 256), 1)`` from bin 0; entry ``i`` of the table is
``saturate_cast<uchar>(cdf[i] * (255.f / P))``.

That table is piecewise constant in ``clip_limit``. Its gradient is taken from the continuous
interpolation between the tables of consecutive integer clips: with ``c = clip_limit * P / 256``
(float) and ``k = floor(c)``, ``L(c) = L(k) + (c - k) * (L(k + 1) - L(k))``. With ``exact=True``
the forward value is OpenCV's ``L(k)`` and the gradient that of ``L(c)`` (straight-through); with
``exact=False`` the forward value is ``L(c)`` itself, unrounded, which equals OpenCV's table at
integer clip counts and is piecewise linear in between.

Why not the simpler relaxation ``min(h, c) + sum(relu(h - c)) / 256``: it spreads the excess
evenly, while OpenCV's integer clip and its residual (given to the lowest bins) can move the
output the other way; on small tiles its gradient was seen to have the wrong sign. Differences
of OpenCV's own tables follow OpenCV's behaviour by construction.
"""

from __future__ import annotations

import torch
from torch import Tensor

from .clahe_tiles import NUM_BINS


def _opencv_luts(hist: Tensor, clip: Tensor, tile_pixels: int, rounded: bool) -> Tensor:
    """OpenCV's tables in ``[0, 1]`` for integer ``clip (N,)`` counts; ``hist (N, T, 256)``."""
    clipped = torch.minimum(hist, clip[:, None, None])
    cdf = torch.cumsum(clipped, dim=-1)
    excess = tile_pixels - cdf[..., -1:]
    per_bin = torch.floor(excess / NUM_BINS)
    residual = excess - per_bin * NUM_BINS
    # The residual goes to bins 0, step, 2 step, ... (residual of them): bins <= i receive
    # min(i // step + 1, residual) of it, in closed form instead of a scatter and a second scan.
    step = torch.floor(NUM_BINS / residual.clamp(min=1)).clamp_(min=1)
    levels = torch.arange(NUM_BINS, dtype=hist.dtype, device=hist.device)
    bonus = torch.minimum(torch.floor(levels / step).add_(1), residual)
    cdf.add_(per_bin * (levels + 1)).add_(bonus)
    if not rounded:
        return cdf.div_(tile_pixels)
    # float32 products rounded half-to-even, as OpenCV's saturate_cast<uchar>(int * float).
    scale = torch.tensor(NUM_BINS - 1, dtype=torch.float32) / tile_pixels
    levels_out = cdf.float().mul_(scale.to(hist.device)).round_().clamp_(0, NUM_BINS - 1)
    return levels_out.div_(NUM_BINS - 1).to(hist.dtype)


def clahe_luts(hist: Tensor, clip_limit: Tensor, tile_pixels: int, exact: bool = True) -> Tensor:
    """Contrast-limited equalisation tables of a batch of tile histograms.

    Args:
        hist: ``(N, T, 256)`` pixel counts of ``T`` tiles per image, each summing to
            ``tile_pixels``; float32 or float64, no gradient.
        clip_limit: ``(N,)`` OpenCV ``clipLimit`` per image, finite and ``> 0``; may require
            grad.
        tile_pixels: Pixels per tile.
        exact: OpenCV's tables with the interpolated gradient (True) or the interpolated,
            unrounded tables themselves (False); see the module docstring.

    Returns:
        ``(N, T, 256)`` non-decreasing tables with values in ``[0, 1]``, dtype of ``hist``.
    """
    counts = clip_limit.to(hist.dtype) * (tile_pixels / NUM_BINS)
    with torch.no_grad():
        # OpenCV computes the integer clip in double precision.
        lower = torch.floor(clip_limit.detach().double() * tile_pixels / NUM_BINS).clamp_(min=1)
        lower = lower.to(hist.dtype)
        lower_luts = _opencv_luts(hist, lower, tile_pixels, rounded=exact)
        step = _opencv_luts(hist, lower + 1, tile_pixels, rounded=exact).sub_(lower_luts)
    fraction = (counts - lower).clamp(0, 1)[:, None, None]
    if exact:
        fraction = fraction - fraction.detach()
    return lower_luts + fraction * step
