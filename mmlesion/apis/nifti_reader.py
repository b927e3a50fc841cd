"""Reading a NIfTI CT volume (nibabel) as axial slices in HU, in display orientation."""

from __future__ import annotations

import math
import warnings
from pathlib import Path

import numpy as np

from mmlesion.datasets.voxel_budget import MAX_VOXELS, check_voxel_budget

from .ct_volume import CTVolume, Spacing

NIFTI_SUFFIXES = ('.nii', '.nii.gz')

#: An affine whose voxel axes are further than this from the scanner axes (or from a right
#: angle with each other), degrees, is oblique or sheared: the reader warns.
OBLIQUE_TOLERANCE_DEG = 1.0


def is_nifti(path: str | Path) -> bool:
    return str(path).lower().endswith(NIFTI_SUFFIXES)


def _nibabel():
    try:
        import nibabel
    except ImportError as error:  # pragma: no cover - nibabel is in requirements.txt
        raise ImportError('reading NIfTI needs nibabel: pip install nibabel') from error
    return nibabel


def stored_voxel_sizes(path: str | Path, header_class) -> tuple[float, float, float]:
    """``pixdim[1:4]`` as the file stores them, mm along the stored axes i, j, k; NaN where a
    size is 0 or not finite.

    nibabel replaces a zero ``pixdim`` by 1 when it loads a header; a 1 mm voxel that the file
    never stated would pass for a real one, so the header is read again without that fix.
    """
    nibabel = _nibabel()
    with nibabel.openers.ImageOpener(str(path)) as fileobj:
        header = header_class.from_fileobj(fileobj, check=False)
    sizes = []
    for value in np.asarray(header['pixdim'], dtype=np.float64)[1:4]:
        size = abs(float(value))  # nibabel's reading of a negative size, which NIfTI forbids
        sizes.append(size if math.isfinite(size) and size > 0 else math.nan)
    return sizes[0], sizes[1], sizes[2]


def axis_deviation_deg(affine: np.ndarray) -> float:
    """The largest angle, degrees, between a voxel axis of ``affine`` and its nearest scanner
    axis, or between two voxel axes and a right angle; 0 for an axial, coronal or sagittal
    grid."""
    rotation = np.asarray(affine, dtype=np.float64)[:3, :3]
    norms = np.linalg.norm(rotation, axis=0)
    if not (np.isfinite(norms).all() and (norms > 0).all()):
        return 0.0  # a degenerate affine: nibabel's orientation code says what it can
    unit = rotation / norms
    oblique = np.arccos(np.clip(np.abs(unit).max(axis=0), -1, 1))
    cosines = np.abs(unit.T @ unit)[np.triu_indices(3, 1)]
    shear = np.pi / 2 - np.arccos(np.clip(cosines, -1, 1))
    return float(np.degrees(max(oblique.max(), shear.max())))


def read_nifti_volume(path: str | Path, max_voxels: int = MAX_VOXELS) -> CTVolume:
    """A 3-D NIfTI volume of HU values as a :class:`CTVolume`.

    The volume is reoriented to RAS+ (``nibabel.as_closest_canonical``), so that whatever the
    stored axis order, slices are axial (inferior to superior) and each is shown as a DICOM
    viewer shows it: rows anterior to posterior, columns from the patient's right to left.
    Voxel values are scaled by the header's ``scl_slope``/``scl_inter`` and taken as HU.

    The spacing is the header's ``pixdim`` as stored, NaN where it is 0 (unknown). An oblique
    or sheared affine (voxel axes more than :data:`OBLIQUE_TOLERANCE_DEG` off) is read along
    its nearest axes without resampling, with a warning naming the file.

    Args:
        path: a ``.nii`` or ``.nii.gz`` file.
        max_voxels: the largest volume read; its size is checked from the header before any
            voxel is (:func:`~mmlesion.datasets.voxel_budget.check_voxel_budget`).

    Raises:
        ImportError: nibabel is missing.
        ValueError: not a 3-D volume (a 4-D one with a single volume is accepted), or more
            voxels than ``max_voxels``.
    """
    nibabel = _nibabel()
    image = nibabel.load(str(path))  # the header only: voxels are read by get_fdata
    shape = image.shape
    check_voxel_budget(shape, path, max_voxels)
    if len(shape) == 4 and shape[3] == 1:
        image = image.slicer[..., 0]
    if len(image.shape) != 3:
        raise ValueError(f'{path}: expected a 3-D CT volume, got shape {shape}')
    deviation = axis_deviation_deg(image.affine)
    if deviation > OBLIQUE_TOLERANCE_DEG:
        warnings.warn(
            f'{path}: the affine is oblique or sheared (voxel axes up to {deviation:.1f} degrees '
            'off the scanner axes); the slices are read along the nearest axes without '
            'resampling, so they are not exactly axial and sizes in mm are approximate',
            RuntimeWarning,
            stacklevel=2,
        )
    stored_sizes = stored_voxel_sizes(path, type(image.header))
    # as_closest_canonical moves stored axis i to RAS+ axis ornt[i, 0].
    orientation = nibabel.io_orientation(image.affine)
    sizes = [math.nan] * 3
    for axis in range(3):
        sizes[int(orientation[axis, 0])] = stored_sizes[axis]
    image = nibabel.as_closest_canonical(image)
    data = image.get_fdata(dtype=np.float32)
    # RAS+ axes (i: to the right, j: to anterior, k: to superior) -> (k, row, column) with rows
    # running posteriorly and columns to the patient's left.
    slices = np.ascontiguousarray(data[::-1, ::-1, :].transpose(2, 1, 0))
    spacing: Spacing = (sizes[0], sizes[1], sizes[2])
    name = Path(path).name
    return CTVolume(
        hu=slices,
        spacing_mm=spacing,
        slice_names=tuple(f'{name}[{k}]' for k in range(slices.shape[0])),
        source=str(path),
    )
