"""A stack of axial CT slices in HU with its spacing: what every clinical loader returns."""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass

import numpy as np

from mmlesion.datasets.transforms import stack_neighbours

#: ``(x, y, z)`` mm: column spacing, row spacing, distance between slices. NaN where unknown.
Spacing = tuple[float, float, float]

UNKNOWN_SPACING: Spacing = (math.nan, math.nan, math.nan)


@dataclass(frozen=True)
class CTVolume:
    """Axial slices in Hounsfield units, in radiological display orientation.

    Attributes:
        hu: float32 ``(S, H, W)`` HU. Rows run anterior to posterior, columns from the
            patient's right to left (as a DICOM viewer shows an axial slice), slices from
            inferior to superior (increasing position along the slice normal).
        spacing_mm: ``(x, y, z)`` mm: column spacing, row spacing and the distance between
            consecutive slices; NaN where the source does not say.
        slice_names: one name per slice (file name, or ``'<file>[k]'`` for a volume file).
        source: the file or folder read.
    """

    hu: np.ndarray
    spacing_mm: Spacing
    slice_names: tuple[str, ...]
    source: str

    def __post_init__(self) -> None:
        if self.hu.ndim != 3:
            raise ValueError(f'{self.source}: expected (S, H, W) slices, got {self.hu.shape}')
        if len(self.slice_names) != self.hu.shape[0]:
            raise ValueError(
                f'{self.source}: {len(self.slice_names)} slice names for {self.hu.shape[0]} slices'
            )

    def __len__(self) -> int:
        return self.hu.shape[0]

    def stack(self, index: int, num_slices: int = 3, slice_interval_mm: float = 2.0) -> np.ndarray:
        """The 2.5D input around slice ``index``: float32 ``(H, W, num_slices)`` HU.

        Neighbours sit ``slice_interval_mm`` apart, interpolated between stored slices and
        replicated at the ends (:func:`~mmlesion.datasets.transforms.stack_neighbours`). When
        the slice distance is unknown (NaN), the key slice is repeated, with a warning.
        """
        if not -len(self) <= index < len(self):
            raise IndexError(f'{self.source}: slice {index} out of range (0..{len(self) - 1})')
        index %= len(self)
        z_spacing = self.spacing_mm[2]
        if num_slices > 1 and not (math.isfinite(z_spacing) and z_spacing > 0):
            warnings.warn(
                f'{self.source}: slice distance unknown, so the {num_slices}-slice input repeats '
                'the key slice; give the spacing (z) to use real neighbours',
                RuntimeWarning,
                stacklevel=2,
            )
            z_spacing = math.inf
        return stack_neighbours(
            lambda i: self.hu[i],
            index,
            (0, len(self) - 1),
            num_slices,
            slice_interval_mm,
            z_spacing,
        )
