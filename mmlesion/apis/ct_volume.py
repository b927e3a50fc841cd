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


def check_spacing(spacing_mm, source: str = 'spacing_mm') -> Spacing:
    """``spacing_mm`` as three floats, refusing what no CT has: a size that is not positive
    and finite (NaN stays allowed only where a loader says "unknown", never from a user).

    Raises:
        ValueError: not three positive finite sizes in mm.
    """
    values = tuple(float(v) for v in spacing_mm)
    if len(values) != 3 or not all(math.isfinite(v) and v > 0 for v in values):
        raise ValueError(
            f'{source}: the spacing must be three positive sizes in mm (x, y, z), got '
            f'{tuple(spacing_mm)}'
        )
    return values  # type: ignore[return-value]


#: What non-finite voxels become: air, which holds no lesion.
NON_FINITE_FILL_HU = -1024.0


def fill_non_finite(volume: CTVolume) -> tuple[CTVolume, dict[int, int]]:
    """``volume`` with every NaN/Inf voxel set to :data:`NON_FINITE_FILL_HU`, and how many
    there were on each slice (``{slice index: count}``, only slices that had any).

    A NaN that reached the detector would poison the whole batch it travels in (and through
    the 2.5D stack the neighbouring slices): filling it at load time keeps the damage to the
    slice that holds it. A warning names those slices.
    """
    bad = ~np.isfinite(volume.hu)
    per_slice = bad.reshape(len(volume), -1).sum(axis=1)
    counts = {int(i): int(per_slice[i]) for i in np.flatnonzero(per_slice)}
    if not counts:
        return volume, counts
    shown = ', '.join(f'{volume.slice_names[i]} ({n})' for i, n in list(counts.items())[:10])
    more = ' ...' if len(counts) > 10 else ''
    warnings.warn(
        f'{volume.source}: {sum(counts.values())} NaN/Inf voxel(s) on {len(counts)} slice(s) '
        f'were set to {NON_FINITE_FILL_HU:g} HU (air); detections on those slices are less '
        f'reliable: {shown}{more}',
        RuntimeWarning,
        stacklevel=2,
    )
    hu = np.where(bad, np.float32(NON_FINITE_FILL_HU), volume.hu).astype(np.float32, copy=False)
    return CTVolume(hu, volume.spacing_mm, volume.slice_names, volume.source), counts
