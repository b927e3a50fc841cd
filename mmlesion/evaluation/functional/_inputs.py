"""Conversion and checking of the per-image inputs shared by the evaluation functions."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from numpy.typing import ArrayLike, DTypeLike


def as_array(values: ArrayLike, dtype: DTypeLike) -> np.ndarray:
    """A numpy array of ``dtype`` from an array-like or a torch tensor on any device."""
    if hasattr(values, 'detach'):
        values = values.detach().cpu().numpy()
    return np.asarray(values, dtype=dtype)


def as_boxes(boxes: ArrayLike, name: str) -> np.ndarray:
    """``(K, 4)`` float64 boxes; an empty input of any shape gives ``(0, 4)``."""
    boxes = as_array(boxes, np.float64)
    if boxes.size == 0:
        return boxes.reshape(0, 4)
    if boxes.ndim != 2 or boxes.shape[1] != 4:
        raise ValueError(f'{name} must have shape (K, 4), got {boxes.shape}')
    return boxes


def as_vector(values: ArrayLike, length: int, dtype: DTypeLike, name: str) -> np.ndarray:
    """``(length,)`` array of ``dtype``, raising when the number of values differs."""
    values = as_array(values, dtype).reshape(-1)
    if len(values) != length:
        raise ValueError(f'{name} must have {length} values, one per box, got {len(values)}')
    return values


def check_num_images(**per_image: Sequence | None) -> int:
    """The common number of images of the given per-image lists (None entries are skipped)."""
    lengths = {name: len(values) for name, values in per_image.items() if values is not None}
    if len(set(lengths.values())) > 1:
        raise ValueError(f'expected one entry per image in each input, got lengths {lengths}')
    return next(iter(lengths.values()), 0)
