"""Conversion and checking of the per-image inputs shared by the evaluation functions.

The public functions convert their inputs image by image (:func:`as_boxes`, :func:`as_vector`),
then check all images at once (:func:`check_per_image`): one vectorised pass per input and call,
nothing in the matching loops. A NaN box or score must not reach the matching: pycocotools counts
a NaN detection as a hit (an mAP of 1.0), the FROC as a false positive.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

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


def finite_rows(values: np.ndarray) -> np.ndarray:
    """``(K,)`` bool: the row (a box, or a single value) holds only finite numbers."""
    finite = np.isfinite(values)
    return finite.all(axis=1) if finite.ndim == 2 else finite


def finite_ordered_boxes(boxes: np.ndarray) -> np.ndarray:
    """``(K,)`` bool: the ``(K, 4)`` box is finite with ``x1 <= x2`` and ``y1 <= y2`` (a
    zero-width box is allowed, a flipped one is not)."""
    return finite_rows(boxes) & (boxes[:, 0] <= boxes[:, 2]) & (boxes[:, 1] <= boxes[:, 3])


def not_nan(values: np.ndarray) -> np.ndarray:
    """``(K,)`` bool: the value is not NaN (an infinite size is a size)."""
    return ~np.isnan(values)


#: What each check of :func:`check_per_image` expects, for its message.
EXPECTED = {
    finite_rows: 'finite values',
    finite_ordered_boxes: 'finite (x1, y1, x2, y2) with x1 <= x2 and y1 <= y2',
    not_nan: 'no NaN',
}


def check_per_image(
    values: Sequence[np.ndarray], name: str, is_valid: Callable[[np.ndarray], np.ndarray]
) -> None:
    """Raise unless every entry of every image passes ``is_valid``, checked in one pass.

    Args:
        values: per image, ``(K_i, ...)`` arrays as :func:`as_boxes` / :func:`as_vector` give.
        name: the input's name in the message (``'det_boxes'`` gives ``det_boxes[3]``).
        is_valid: one of :data:`EXPECTED`'s keys, mapping the concatenated ``(sum K_i, ...)``
            array to a ``(sum K_i,)`` bool mask.

    Raises:
        ValueError: naming the first image and entry at fault, its value, how many entries fail
            in all, and what was expected.
    """
    if not values:
        return
    stacked = np.concatenate(values)
    bad = ~is_valid(stacked)
    if not bad.any():
        return
    first = int(np.argmax(bad))
    ends = np.cumsum([len(v) for v in values])
    image = int(np.searchsorted(ends, first, side='right'))
    entry = first - (int(ends[image - 1]) if image else 0)
    raise ValueError(
        f'{name}[{image}][{entry}] is {stacked[first].tolist()}: expected '
        f'{EXPECTED[is_valid]} ({int(bad.sum())} of {len(stacked)} entries fail)'
    )


def check_iou_thr(iou_thr: float, name: str = 'iou_thr') -> float:
    """``iou_thr`` as a float in ``(0, 1]``: 0 would make any detection a hit, above 1 none,
    and NaN compares false with every overlap."""
    value = float(iou_thr)
    if not 0 < value <= 1:  # False for NaN
        raise ValueError(f'{name} must lie in (0, 1], got {iou_thr!r}')
    return value


def check_fp_rates(fps: ArrayLike, name: str = 'fps') -> np.ndarray:
    """``(K,)`` float64 false-positive rates per image, each finite and ``>= 0``.

    A NaN rate would be read off the FROC curve as its first point (a sensitivity of 1.0 with a
    perfect first detection) instead of failing.
    """
    rates = np.asarray(fps, dtype=np.float64).reshape(-1)
    if not (np.isfinite(rates) & (rates >= 0)).all():
        raise ValueError(f'{name} must be finite false-positive rates >= 0, got {rates.tolist()}')
    return rates


def check_offset(box_size_offset: float, name: str = 'box_size_offset') -> float:
    """A box size offset as a finite float ``>= 0``."""
    value = float(box_size_offset)
    if not (math.isfinite(value) and value >= 0):
        raise ValueError(f'{name} must be finite and >= 0, got {box_size_offset!r}')
    return value
