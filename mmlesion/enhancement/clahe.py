"""Contrast-limited adaptive histogram equalisation with OpenCV semantics, batched in torch.

``clahe(x, clip_limit, g)`` reproduces ``cv2.createCLAHE(clip_limit, (g, g)).apply`` on
``round(255 * x)``: 256 bins, OpenCV's integer clip and redistribution (:mod:`.clahe_lut`), its
reflect-101 padding when a side does not divide by ``g`` and its bilinear blend of the four
nearest tile tables (:mod:`.clahe_tiles`). For integer grids ``round(255 * clahe(...))`` is
within one gray level of OpenCV's output: the tables are OpenCV's own, and the rare differences
are rounding ties of the float interpolation.

Gradients:

* to ``x``: tile histograms are treated as constants; each table is read linearly between
  adjacent levels, so the output is piecewise linear in ``x``;
* to ``clip_limit``: the slope between OpenCV's tables at consecutive integer clip counts
  (straight-through), see :mod:`.clahe_lut`;
* to ``grid_size``: a non-integer ``g`` blends the outputs of ``floor(g)`` and ``ceil(g)`` tiles
  per side with weight ``g - floor(g)``; the blend weight carries the gradient, which is what
  lets a regressor learn the grid. At an integer ``g`` requiring grad, ``g + 1`` is also
  evaluated (weight 0) so the one-sided derivative ``out(g + 1) - out(g)`` is available.
"""

from __future__ import annotations

import torch
from torch import Tensor

from ._checks import (
    BatchParam,
    as_working_precision,
    check_clip_limit,
    check_grid_size,
    check_images,
)
from ._chunks import map_chunks
from .clahe_lut import clahe_luts
from .clahe_tiles import tile_layout
from .histogram import tile_histograms
from .lut import sample_luts


def _clahe_integer_grid(
    x: Tensor, clip_limit: Tensor, grid: int, exact: bool, extra_luts: Tensor | None
) -> Tensor:
    """CLAHE of ``x (N, H, W)`` with one integer ``grid``; see :func:`clahe_images`."""
    height, width = x.shape[-2:]
    layout = tile_layout(height, width, grid, x.device, x.dtype)
    hist = tile_histograms(x, layout).to(x.dtype)
    luts = clahe_luts(hist, clip_limit, layout.tile_pixels, exact)
    # Channel 0 holds the tables one tile row down: one read gives both tile rows to blend. An
    # extra table, repeated on every row, is read in the same pass for little more.
    stacks = [luts.index_select(1, layout.lower_rows), luts]
    if extra_luts is not None:
        stacks.append(extra_luts[:, None, :].expand_as(luts))
    read = sample_luts(torch.stack(stacks, dim=1), x, layout.lut_rows)
    # OpenCV's blend of the upper (channel 1) and lower tile rows, in place: the result and the
    # extra read are then adjacent channels, returned without a copy.
    read[:, 1].lerp_(read[:, 0], layout.row_weight)
    return read[:, 1:]


def _clahe_grouped(
    x: Tensor, clip_limit: Tensor, grid: Tensor, exact: bool, extra_luts: Tensor | None
) -> Tensor:
    """CLAHE with a per-image integer grid: images sharing a grid run as one batch."""
    values = torch.unique(grid).tolist()
    if len(values) == 1:
        return _clahe_integer_grid(x, clip_limit, int(values[0]), exact, extra_luts)
    outputs, order = [], []
    for value in values:
        index = torch.nonzero(grid == value).squeeze(1)
        extra = None if extra_luts is None else extra_luts[index]
        outputs.append(_clahe_integer_grid(x[index], clip_limit[index], int(value), exact, extra))
        order.append(index)
    order = torch.cat(order)
    inverse = torch.empty_like(order)
    inverse[order] = torch.arange(order.numel(), device=order.device)
    return torch.cat(outputs).index_select(0, inverse)


def clahe_images(
    x: Tensor,
    clip_limit: Tensor,
    grid_size: Tensor,
    exact: bool = True,
    extra_luts: Tensor | None = None,
) -> Tensor:
    """CLAHE of single-channel images with validated per-image parameters (no checks).

    Args:
        x: ``(N, H, W)`` float in ``[0, 1]``.
        clip_limit: ``(N,)`` finite, ``> 0``.
        grid_size: ``(N,)`` float in ``[1, min(H, W)]``; fractional values blend (module doc).
        exact: OpenCV's tables (True) or their unrounded interpolation between integer clip
            counts (False), see :mod:`.clahe_lut`.
        extra_luts: Optional ``(N, 256)`` table per image, read at ``x`` in the same pass as the
            tile tables (GLCAE's global mapping), as :func:`~.lut.apply_lut` would.

    Returns:
        ``(N, 1, H, W)`` CLAHE output in ``[0, 1]``; with ``extra_luts``, ``(N, 2, H, W)``
        whose channel 1 is ``x`` read through ``extra_luts``.
    """
    lower = torch.floor(grid_size.detach())
    if grid_size.requires_grad:
        upper = (lower + 1).clamp(max=min(x.shape[-2:]))
    else:
        upper = torch.ceil(grid_size.detach())
    out = _clahe_grouped(x, clip_limit, lower, exact, extra_luts)
    weight = (grid_size - lower)[:, None, None, None]
    blend = torch.nonzero(upper != lower).squeeze(1)
    if blend.numel() == 0:
        # Grids at the clamp have no upper neighbour: a zero slope, kept in the graph.
        return out + 0 * weight if grid_size.requires_grad else out
    upper_out = _clahe_grouped(x[blend], clip_limit[blend], upper[blend], exact, None)
    local = out[:, :1]
    local = torch.lerp(local, local.index_copy(0, blend, upper_out), weight)
    return torch.cat((local, out[:, 1:]), dim=1)


def clahe(
    x: Tensor, clip_limit: BatchParam, grid_size: BatchParam, *, exact: bool = True
) -> Tensor:
    """Contrast-limited adaptive histogram equalisation, OpenCV's ``createCLAHE`` semantics.

    Args:
        x: ``(B, C, H, W)`` float in ``[0, 1]`` (values outside are clamped), finite; every
            channel is equalised separately with its image's parameters. Half precision is
            processed in float32.
        clip_limit: OpenCV ``clipLimit``: a number or a ``(B,)`` tensor, finite and ``> 0``
            (``ValueError`` otherwise; OpenCV's "``<= 0`` disables clipping" is refused, values
            ``>= 256`` never clip). May require grad.
        grid_size: Tiles per side: a number or a ``(B,)`` tensor, ``>= 1`` (``ValueError``
            otherwise), clamped to ``min(H, W)``. A fractional ``g`` blends ``floor(g)`` and
            ``ceil(g)`` linearly, so it may require grad.
        exact: True for OpenCV's tables in the forward pass (gradient from their interpolation
            between integer clip counts); False for that interpolation throughout, piecewise
            linear in ``clip_limit`` (equal to OpenCV, unrounded, at integer counts).

    Returns:
        ``(B, C, H, W)`` in ``[0, 1]``, same dtype and device as ``x``. With integer grids,
        ``round(255 * out)`` is within one level of OpenCV on ``round(255 * x)`` as uint8.
    """
    check_images(x)
    batch, channels, height, width = x.shape
    work = as_working_precision(x)
    clip = check_clip_limit(clip_limit, batch, work)
    grid = check_grid_size(grid_size, batch, work)
    out = map_chunks(
        lambda *args: clahe_images(*args, exact=exact)[:, 0],
        work.reshape(batch * channels, height, width),
        clip.repeat_interleave(channels),
        grid.repeat_interleave(channels),
    )
    return out.view(batch, channels, height, width).to(x.dtype)
