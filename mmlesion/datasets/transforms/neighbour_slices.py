"""The 2.5D input of DeepLesion detectors: a key slice and its neighbours at a fixed interval in mm.

Neighbour ``k`` (``k = -(n-1)/2 .. (n-1)/2``) sits ``k * slice_interval_mm`` from the key slice.
Its position in stored slices, ``key + k * slice_interval_mm / z_spacing_mm``, is usually
fractional: the two enclosing stored slices are blended linearly. Positions beyond the stored
range take the end slice (replication at series ends), as 3DCE does.

Shared by :class:`~.LoadDeepLesionSlices` (PNG series on disk) and the clinical loaders of
:mod:`mmlesion.apis` (DICOM series, NIfTI volumes).
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np


def neighbour_positions(
    key_index: int, num_slices: int, slice_interval_mm: float, z_spacing_mm: float
) -> list[tuple[int, float]]:
    """``(lower stored index, weight of the next one)`` of each of the ``num_slices`` slices.

    Args:
        key_index: stored index of the key slice.
        num_slices: odd number of slices, the key slice in the middle.
        slice_interval_mm: distance between the returned slices, mm.
        z_spacing_mm: distance between consecutive stored slices, mm (> 0; not read for the key
            slice alone, ``num_slices=1``, so it may be unknown there).
    """
    if num_slices < 1 or num_slices % 2 == 0:
        raise ValueError(f'num_slices must be odd and >= 1, got {num_slices}')
    half = num_slices // 2
    if half and not z_spacing_mm > 0:
        raise ValueError(f'z_spacing_mm must be positive, got {z_spacing_mm}')
    step = slice_interval_mm / z_spacing_mm if half else 0.0
    positions = []
    for k in range(-half, half + 1):
        position = key_index + k * step
        lower = math.floor(position)
        positions.append((lower, position - lower))
    return positions


def stack_neighbours(
    read: Callable[[int], np.ndarray],
    key_index: int,
    index_range: tuple[int, int],
    num_slices: int,
    slice_interval_mm: float,
    z_spacing_mm: float,
) -> np.ndarray:
    """Stack the key slice and its interpolated neighbours as channels.

    Args:
        read: stored index -> ``(H, W)`` slice (HU); called at most once per index, only for
            indices inside ``index_range``.
        key_index: stored index of the key slice.
        index_range: first and last stored index (inclusive); positions outside are clamped.
        num_slices, slice_interval_mm, z_spacing_mm: see :func:`neighbour_positions`.

    Returns:
        float32 ``(H, W, num_slices)``, slices ordered from lower to higher index.
    """
    first, last = index_range
    cache: dict[int, np.ndarray] = {}

    def stored(index: int) -> np.ndarray:
        index = min(max(index, first), last)
        if index not in cache:
            cache[index] = read(index)
        return cache[index]

    channels = []
    for lower, weight in neighbour_positions(
        key_index, num_slices, slice_interval_mm, z_spacing_mm
    ):
        image = stored(lower)
        if weight > 1e-6:
            image = (1 - weight) * image + weight * stored(lower + 1)
        channels.append(image)
    return np.stack(channels, axis=-1).astype(np.float32, copy=False)
