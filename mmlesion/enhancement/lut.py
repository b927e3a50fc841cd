"""Differentiable application of 256-entry look-up tables to float images.

A table ``L`` is read at ``v = 255 * x`` linearly between adjacent levels,
``L[floor v] + (v - floor v) * (L[floor v + 1] - L[floor v])``: a uint8-exact input reads exactly
its entry, and the output is piecewise linear in ``x``, so gradients reach the image and the
table. Several tables of an image (CLAHE's tiles) are stacked as rows; a fractional row position
blends the two neighbouring rows linearly as well. Both interpolations run as one bilinear
``grid_sample`` over the ``(rows, 256)`` stack, a single fused kernel on CPU and CUDA, which
reads several stacks (its channels) at the same positions for the price of one
(:func:`sample_luts`). A single table per image is read with two flat gathers instead
(:func:`apply_lut`).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor


def normalized_rows(rows: Tensor, num_rows: int) -> Tensor:
    """Map row positions in ``[0, num_rows - 1]`` to ``grid_sample``'s ``[-1, 1]`` (corners)."""
    if num_rows == 1:
        return torch.zeros_like(rows)
    return rows * (2.0 / (num_rows - 1)) - 1.0


def sample_luts(luts: Tensor, x: Tensor, rows: Tensor | None = None) -> Tensor:
    """Read per-image tables at every pixel's intensity and (fractional) table row.

    Args:
        luts: ``(N, C, R, 256)``: ``C`` stacks of ``R`` tables per image, same dtype as ``x``;
            may require grad. All ``C`` stacks are read at the same positions.
        x: ``(N, H, W)`` float in ``[0, 1]``; values outside read the end entries.
        rows: ``(H, W)`` row positions already mapped by :func:`normalized_rows`, shared by all
            images, or None to read row 0. Positions beyond the ends read the end rows.

    Returns:
        ``(N, C, H, W)``: output ``[n, c]`` is stack ``c`` of image ``n`` read at
        ``(rows, 255 * x[n])``.
    """
    n, h, w = x.shape
    if rows is None:
        rows = torch.full((), -1.0, dtype=x.dtype, device=x.device)
    # grid_sample takes a strided grid: stacking planes and permuting avoids interleaving the
    # two coordinates element by element, which costs more than the sampling on CPU.
    grid = torch.stack(((x * 2.0).sub_(1.0), rows.expand(n, h, w)), dim=1).permute(0, 2, 3, 1)
    return F.grid_sample(luts, grid, mode='bilinear', padding_mode='border', align_corners=True)


def apply_lut(lut: Tensor, x: Tensor) -> Tensor:
    """Read one table per image at every pixel's intensity (linear between levels).

    Cheaper than :func:`sample_luts` for a single table: two flat gathers, no sampling grid.

    Args:
        lut: ``(N, 256)`` table per image, same dtype as ``x``; may require grad.
        x: ``(N, H, W)`` float in ``[0, 1]``; values outside read the end entries.

    Returns:
        ``(N, H, W)``: ``lut[n]`` read at ``255 * x[n]``.
    """
    n, levels = lut.shape
    position = (x * (levels - 1)).clamp_(0, levels - 1)
    with torch.no_grad():
        below = position.floor().clamp_(max=levels - 2)
        offsets = torch.arange(0, n * levels, levels, dtype=torch.int32, device=x.device)
        index = below.to(torch.int32).add_(offsets[:, None, None]).view(-1)
    slope = torch.diff(lut, dim=-1, append=lut[:, -1:])
    value = lut.reshape(-1).index_select(0, index).view_as(x)
    slope = slope.reshape(-1).index_select(0, index).view_as(x)
    return torch.addcmul(value, position - below, slope)
