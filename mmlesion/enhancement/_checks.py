"""Validation of the public enhancement arguments, done once at the API boundary.

Inner functions trust their inputs; everything they need to trust is established here:

* images are ``(B, C, H, W)`` floating tensors with finite values;
* ``clip_limit`` becomes a ``(B,)`` tensor of finite values ``> 0`` (an error otherwise);
* ``grid_size`` becomes a ``(B,)`` tensor of finite values ``>= 1``, clamped to the smaller
  image side (an error below 1);
* ``levels`` of the fusion pyramid is None or an integer ``>= 1``, on every backend;
* half-precision images are processed in float32 (:func:`as_working_precision`).
"""

from __future__ import annotations

import math
import operator

import torch
from torch import Tensor

#: A per-image parameter: one Python number for the whole batch or a ``(B,)`` tensor.
BatchParam = float | int | Tensor


def check_images(x: Tensor, name: str = 'x') -> None:
    """Raise unless ``x`` is a non-empty ``(B, C, H, W)`` floating tensor of finite values.

    Values outside ``[0, 1]`` are not an error: the ops clamp them where they bin intensities.
    """
    if not isinstance(x, Tensor):
        raise TypeError(f'{name} must be a torch.Tensor, got {type(x).__name__}')
    if x.dim() != 4:
        raise ValueError(f'{name} must have shape (B, C, H, W), got {tuple(x.shape)}')
    if not x.is_floating_point():
        raise TypeError(f'{name} must be a floating tensor in [0, 1], got dtype {x.dtype}')
    if x.numel() == 0:
        raise ValueError(f'{name} must not be empty, got shape {tuple(x.shape)}')
    # The extremes propagate NaN, and one pass for both is much cheaper than
    # isfinite(x).all() on CPU.
    if not bool(torch.isfinite(torch.stack(torch.aminmax(x))).all()):
        raise ValueError(f'{name} contains NaN or infinite values')


def check_intensity_max(intensity_max: float | None) -> None:
    """Raise unless ``intensity_max`` (the inputs' white level) is None or a finite number
    ``> 0``."""
    if intensity_max is None:
        return
    if isinstance(intensity_max, bool) or not isinstance(intensity_max, int | float):
        raise TypeError(f'intensity_max must be a number or None, got {intensity_max!r}')
    if not (math.isfinite(intensity_max) and intensity_max > 0):
        raise ValueError(f'intensity_max must be finite and > 0, got {intensity_max!r}')


def as_working_precision(x: Tensor) -> Tensor:
    """``x`` in float32 when it is half precision (histogram counts and tables need float32)."""
    return x.float() if x.dtype in (torch.float16, torch.bfloat16) else x


def _as_batch_tensor(value: BatchParam, batch: int, like: Tensor, name: str) -> Tensor:
    """Broadcast a number or a ``(B,)`` / ``(B, 1)`` tensor to a ``(B,)`` tensor like ``like``."""
    if isinstance(value, Tensor):
        if value.numel() == 1:
            value = value.reshape(1).expand(batch)
        elif value.numel() == batch:
            value = value.reshape(batch)
        else:
            raise ValueError(
                f'{name} must be a number or hold one value per image ({batch}), '
                f'got shape {tuple(value.shape)}'
            )
        dtype = value.dtype if value.is_floating_point() else like.dtype
        return value.to(device=like.device, dtype=dtype)
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise TypeError(f'{name} must be a number or a tensor, got {type(value).__name__}')
    return torch.full((batch,), float(value), dtype=like.dtype, device=like.device)


def check_clip_limit(clip_limit: BatchParam, batch: int, like: Tensor) -> Tensor:
    """Return ``clip_limit`` as a ``(B,)`` floating tensor; raise unless finite and ``> 0``.

    OpenCV reads ``clipLimit <= 0`` as "no clipping"; that discontinuity is refused here. Values
    of 256 or more already mean no clipping (no bin of a tile can exceed its pixel count).
    """
    clip = _as_batch_tensor(clip_limit, batch, like, 'clip_limit')
    if not bool((torch.isfinite(clip) & (clip > 0)).all()):
        raise ValueError(
            f'clip_limit must be finite and > 0 (use >= 256 for no clipping), got {clip.tolist()}'
        )
    return clip


def check_grid_size(grid_size: BatchParam, batch: int, like: Tensor) -> Tensor:
    """Return ``grid_size`` (tiles per side) as a ``(B,)`` floating tensor in ``[1, min(H, W)]``.

    Raises below 1 or when not finite. A grid larger than the smaller image side is clamped to
    it (a tile must hold at least one pixel row and column); the clamp passes no gradient.
    """
    grid = _as_batch_tensor(grid_size, batch, like, 'grid_size')
    if not bool((torch.isfinite(grid) & (grid >= 1)).all()):
        raise ValueError(f'grid_size must be finite and >= 1, got {grid.tolist()}')
    return grid.clamp(max=min(like.shape[-2:]))


def check_levels(levels: int | None) -> int | None:
    """Return ``levels`` (pyramid levels, base included) as an int, or None for the default.

    Raises below 1 or when not an integer, as the native kernel does: the torch pyramid would
    otherwise run ``levels=0`` without a word.
    """
    if levels is None:
        return None
    try:
        value = operator.index(levels)
    except TypeError:
        raise TypeError(f'levels must be an integer >= 1 or None, got {levels!r}') from None
    if isinstance(levels, bool) or value < 1:
        raise ValueError(f'levels must be an integer >= 1 or None, got {levels!r}')
    return value
