"""Batched 256-bin gray-level histograms, whole-image and per CLAHE tile.

Every histogram of a batch is counted in one pass over a flat ``(image, tile, bin)`` key
(``bincount`` on CPU, ``index_add_`` on CUDA), so the cost does not depend on the number of
images or tiles. Histograms are piecewise constant in the intensities and carry no gradient.
"""

from __future__ import annotations

import torch
from torch import Tensor

from .clahe_tiles import NUM_BINS, TileLayout

# Keys are built in float arithmetic (cheaper than int64), exact while they stay below 2**24.
_FLOAT_EXACT = 2**24


def gray_levels(x: Tensor) -> Tensor:
    """Nearest 8-bit gray level of each value, as float.

    Args:
        x: Any shape, float in ``[0, 1]``; values outside are clamped.

    Returns:
        Tensor like ``x`` (detached) holding integers in ``[0, 255]``: ``round(255 * x)``, so a
        uint8 image divided by 255 recovers its own levels.
    """
    with torch.no_grad():
        return (x.detach() * (NUM_BINS - 1)).round_().clamp_(0, NUM_BINS - 1)


def _count(keys: Tensor, size: int, dtype: torch.dtype) -> Tensor:
    """Occurrences of each integer-valued key in ``[0, size)``, as a ``(size,)`` tensor."""
    index = keys.reshape(-1).to(torch.int32 if size < _FLOAT_EXACT else torch.int64)
    if index.device.type == 'cpu':
        # bincount is faster than index_add_ on CPU; on CUDA it would synchronise.
        return torch.bincount(index, minlength=size).to(dtype)
    ones = torch.ones((), dtype=dtype, device=keys.device).expand(index.numel())
    return torch.zeros(size, dtype=dtype, device=keys.device).index_add_(0, index, ones)


def _count_dtype(x: Tensor) -> torch.dtype:
    # float32 counts are exact up to 2**24 pixels a bin; float64 inputs keep float64 throughout.
    return torch.float64 if x.dtype == torch.float64 else torch.float32


def image_histograms(x: Tensor) -> Tensor:
    """Gray-level histogram of every image of a batch.

    Args:
        x: ``(N, H, W)`` float in ``[0, 1]``.

    Returns:
        ``(N, 256)`` pixel counts (float32, or float64 for float64 input), detached.
    """
    n = x.shape[0]
    with torch.no_grad():
        levels = gray_levels(x).reshape(n, -1)
        if n * NUM_BINS >= _FLOAT_EXACT:
            levels = levels.to(torch.int64)
        offsets = torch.arange(n, device=x.device, dtype=levels.dtype)[:, None] * NUM_BINS
        return _count(levels + offsets, n * NUM_BINS, _count_dtype(x)).view(n, NUM_BINS)


def tile_histograms(x: Tensor, layout: TileLayout) -> Tensor:
    """Gray-level histogram of every CLAHE tile of every image, on OpenCV's padded image.

    Args:
        x: ``(N, H, W)`` float in ``[0, 1]``.
        layout: Tile geometry of ``(H, W, g)`` from :func:`~.clahe_tiles.tile_layout`.

    Returns:
        ``(N, g * g, 256)`` pixel counts (float32, or float64 for float64 input), detached;
        every tile sums to ``layout.tile_pixels``.
    """
    n = x.shape[0]
    tiles = layout.grid * layout.grid
    size = n * tiles * NUM_BINS
    with torch.no_grad():
        levels = gray_levels(x)
        if layout.pad_rows is not None:
            levels = levels.index_select(1, layout.pad_rows).index_select(2, layout.pad_cols)
        offsets = torch.arange(n, device=x.device, dtype=levels.dtype) * (tiles * NUM_BINS)
        tile_offset = layout.tile_offset.to(levels.dtype)
        if size >= _FLOAT_EXACT:
            levels, offsets, tile_offset = (
                t.to(torch.int64) for t in (levels, offsets, tile_offset)
            )
        keys = levels.add_(tile_offset).add_(offsets[:, None, None])
        return _count(keys, size, _count_dtype(x)).view(n, tiles, NUM_BINS)
