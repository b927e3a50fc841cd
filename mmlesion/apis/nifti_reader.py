"""Reading a NIfTI CT volume (nibabel) as axial slices in HU, in display orientation."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from .ct_volume import CTVolume

NIFTI_SUFFIXES = ('.nii', '.nii.gz')


def is_nifti(path: str | Path) -> bool:
    return str(path).lower().endswith(NIFTI_SUFFIXES)


def read_nifti_volume(path: str | Path) -> CTVolume:
    """A 3-D NIfTI volume of HU values as a :class:`CTVolume`.

    The volume is reoriented to RAS+ (``nibabel.as_closest_canonical``), so that whatever the
    stored axis order, slices are axial (inferior to superior) and each is shown as a DICOM
    viewer shows it: rows anterior to posterior, columns from the patient's right to left.
    Voxel values are scaled by the header's ``scl_slope``/``scl_inter`` and taken as HU.

    Raises:
        ImportError: nibabel is missing.
        ValueError: not a 3-D volume (a 4-D one with a single volume is accepted).
    """
    try:
        import nibabel
    except ImportError as error:  # pragma: no cover - nibabel is in requirements.txt
        raise ImportError('reading NIfTI needs nibabel: pip install nibabel') from error
    image = nibabel.as_closest_canonical(nibabel.load(str(path)))
    shape = image.shape
    if len(shape) == 4 and shape[3] == 1:
        image = image.slicer[..., 0]
    if len(image.shape) != 3:
        raise ValueError(f'{path}: expected a 3-D CT volume, got shape {shape}')
    data = image.get_fdata(dtype=np.float32)
    # RAS+ axes (i: to the right, j: to anterior, k: to superior) -> (k, row, column) with rows
    # running posteriorly and columns to the patient's left.
    slices = np.ascontiguousarray(data[::-1, ::-1, :].transpose(2, 1, 0))
    zooms = tuple(float(z) for z in image.header.get_zooms()[:3])
    name = Path(path).name
    return CTVolume(
        hu=slices,
        spacing_mm=(zooms[0], zooms[1], zooms[2]),
        slice_names=tuple(f'{name}[{k}]' for k in range(slices.shape[0])),
        source=str(path),
    )
