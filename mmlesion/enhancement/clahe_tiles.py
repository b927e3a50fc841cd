"""OpenCV's CLAHE tile geometry: padding, tile membership and interpolation weights.

``cv2.CLAHE.apply`` computes the tile look-up tables on the image itself when both sides divide
by the grid, and otherwise on a copy padded at the bottom and right with ``BORDER_REFLECT_101``
by ``g - H % g`` rows and ``g - W % g`` columns. Both pads are applied together, so a side that
divides gets a whole extra ``g`` rows (columns) and its tiles grow by one pixel. The output is
interpolated over the original pixels only: for row ``y``, ``tyf = y / tile_h - 0.5`` (float32),
tiles ``floor(tyf)`` and ``floor(tyf) + 1`` clamped to ``[0, g - 1]``, weight ``tyf - floor(tyf)``;
columns likewise.

Everything here depends only on ``(H, W, g)``, the device and the dtype, and is cached.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import torch
from torch import Tensor

from .lut import normalized_rows

NUM_BINS = 256


@dataclass(frozen=True)
class TileLayout:
    """Index tensors describing one ``(H, W, g)`` CLAHE geometry on one device.

    Attributes:
        grid: Tiles per side ``g``.
        tile_pixels: Pixels per tile of the (padded) image, ``tile_h * tile_w``.
        pad_rows: ``(H_pad,)`` int64 source row of every padded row (reflect-101), or None when
            the image is not padded.
        pad_cols: ``(W_pad,)`` int64 source column of every padded column, or None.
        tile_offset: ``(H_pad, W_pad)`` float32 ``tile_index * 256`` of every padded pixel
            (tile index ``row * g + col``).
        lut_rows: ``(H, W)`` position of every pixel in the ``(g * g, 256)`` stack of an
            image's tile tables, normalised for :func:`~.lut.sample_luts`: upper tile row
            ``ty1``, between the left and right tiles at the pixel's column weight
            (``ty1 * g + clamp(txf, 0, g - 1)``).
        lower_rows: ``(g * g,)`` int64 index of the table ``g`` rows further down (clamped):
            the stack re-indexed with it read at ``lut_rows`` gives the lower tile row ``ty2``.
        row_weight: ``(H, 1)`` weight of the lower tile row, in ``[0, 1)``; 0 where OpenCV
            clamps both tile rows to the same one (top and bottom half tiles).
    """

    grid: int
    tile_pixels: int
    pad_rows: Tensor | None
    pad_cols: Tensor | None
    tile_offset: Tensor
    lut_rows: Tensor
    lower_rows: Tensor
    row_weight: Tensor


def reflect101_index(size: int, padded: int) -> Tensor:
    """Source index of positions ``0 .. padded - 1`` of a side of ``size`` extended by reflect-101.

    Reflect-101 mirrors about the edge pixel without repeating it (``... 2 1 | 0 1 2 ... n-1 |
    n-2 n-3 ...``), folding again as often as needed; a side of one pixel repeats it.
    """
    pos = torch.arange(padded, dtype=torch.int64)
    if size == 1:
        return torch.zeros_like(pos)
    period = 2 * (size - 1)
    pos = pos % period
    return torch.where(pos < size, pos, period - pos)


def _tile_positions(size: int, tile: int) -> Tensor:
    """OpenCV's float32 tile coordinate ``i / tile - 0.5`` of positions ``0 .. size - 1``."""
    inv_tile = torch.tensor(1.0, dtype=torch.float32) / torch.tensor(tile, dtype=torch.float32)
    return torch.arange(size, dtype=torch.float32) * inv_tile - 0.5


@lru_cache(maxsize=64)
def tile_layout(
    height: int, width: int, grid: int, device: torch.device, dtype: torch.dtype
) -> TileLayout:
    """The cached :class:`TileLayout` of an ``height x width`` image split in ``grid^2`` tiles.

    ``grid`` must lie in ``[1, min(height, width)]``; ``dtype`` is that of the images.
    """
    padded = height % grid != 0 or width % grid != 0
    height_pad = height + grid - height % grid if padded else height
    width_pad = width + grid - width % grid if padded else width
    tile_h, tile_w = height_pad // grid, width_pad // grid

    tile_row = torch.arange(height_pad) // tile_h
    tile_col = torch.arange(width_pad) // tile_w
    tile_offset = ((tile_row[:, None] * grid + tile_col[None, :]) * NUM_BINS).float()

    # Rows: OpenCV blends tile rows floor(tyf) and floor(tyf) + 1, both clamped to [0, g - 1],
    # by tyf - floor(tyf); where the clamp makes them equal the weight is irrelevant and set to 0.
    # Columns: the same blend is linear interpolation at txf clamped to [0, g - 1], which the
    # bilinear table read does by itself within one tile row.
    row_pos = _tile_positions(height, tile_h)
    row_first = torch.floor(row_pos)
    row_weight = row_pos - row_first
    row_first = row_first.to(torch.int64)
    inside = (row_first >= 0) & (row_first + 1 <= grid - 1)
    row_weight = torch.where(inside, row_weight, 0.0)[:, None]
    col_pos = _tile_positions(width, tile_w).clamp(0, grid - 1)
    lut_rows = (row_first.clamp(0, grid - 1)[:, None] * grid).double() + col_pos[None, :]
    lut_rows = normalized_rows(lut_rows, grid * grid)
    lower_rows = (torch.arange(grid * grid) + grid).clamp(max=grid * grid - 1)

    def put(t: Tensor | None, as_dtype: torch.dtype | None = None) -> Tensor | None:
        return None if t is None else t.to(device=device, dtype=as_dtype)

    return TileLayout(
        grid=grid,
        tile_pixels=tile_h * tile_w,
        pad_rows=put(reflect101_index(height, height_pad) if padded else None),
        pad_cols=put(reflect101_index(width, width_pad) if padded else None),
        tile_offset=put(tile_offset),
        lut_rows=put(lut_rows, dtype),
        lower_rows=put(lower_rows),
        row_weight=put(row_weight, dtype),
    )
