"""Loading clinical CT for inference: DICOM files and series, DeepLesion PNGs, NIfTI volumes.

Every loader returns Hounsfield units and the spacing in mm, so that the same detector pipeline
(windowing, resampling to a pixel spacing) runs on any of them:

* a DICOM file (``RescaleSlope``/``RescaleIntercept`` to HU, ``PixelSpacing``) or a folder
  holding one DICOM series (slices sorted by position, spacing from the headers);
* a DeepLesion 16-bit PNG (HU = value - 32768) or a DeepLesion series folder
  ``Images_png/<patient>_<study>_<series>/``; a PNG carries no spacing: it comes from
  ``DL_info.csv`` when given (``dl_info=``) or from ``spacing_mm=``;
* a NIfTI volume (``.nii``, ``.nii.gz``), reoriented to axial display orientation.
"""

from __future__ import annotations

import math
import re
import warnings
from pathlib import Path

import numpy as np

from mmlesion.datasets import read_deeplesion_png, read_dl_info
from mmlesion.datasets.transforms.load_deeplesion_slices import png_size
from mmlesion.datasets.voxel_budget import MAX_VOXELS, check_voxel_budget

from .ct_volume import UNKNOWN_SPACING, CTVolume, Spacing, check_spacing
from .dicom_reader import Rescale, has_dicom_preamble, read_dicom_series, read_dicom_slice
from .nifti_reader import is_nifti, read_nifti_volume

_PNG_SLICE = re.compile(r'^(\d+)\.png$', re.IGNORECASE)


def spacing_from_dl_info(dl_info: str | Path, series_folder: str) -> Spacing:
    """``Spacing_mm_px_`` of a DeepLesion series (``<patient>_<study>_<series>``), mm.

    Raises:
        KeyError: the series has no row in ``dl_info``.
    """
    for row in read_dl_info(dl_info):
        if row.series_folder == series_folder:
            return row.spacing_mm
    raise KeyError(f'{dl_info}: no row for series folder {series_folder!r}')


def _png_spacing(folder: Path, spacing_mm: Spacing | None, dl_info: str | Path | None) -> Spacing:
    if spacing_mm is not None:
        return check_spacing(spacing_mm)
    if dl_info is not None:
        return spacing_from_dl_info(dl_info, folder.name)
    return UNKNOWN_SPACING


def read_deeplesion_series(
    folder: str | Path,
    spacing_mm: Spacing | None = None,
    dl_info: str | Path | None = None,
    max_voxels: int = MAX_VOXELS,
) -> CTVolume:
    """A DeepLesion series folder (``000.png``, ``001.png``, ...) as a :class:`CTVolume`.

    Indices between the first and last stored slice that are missing on disk take the nearest
    stored slice (with a warning), so that slice ``i`` of the volume is file index
    ``first + i``. The volume's size is checked against ``max_voxels`` from the PNG headers
    before any slice is decoded.

    Raises:
        FileNotFoundError: no ``NNN.png`` in the folder.
        ValueError: the folder also holds DICOM files (:func:`check_one_kind`), more voxels
            than ``max_voxels``, slices of different sizes, or a slice
            :func:`~mmlesion.datasets.transforms.read_deeplesion_png` refuses.
    """
    folder = Path(folder)
    check_one_kind(folder)
    stored = {
        int(match.group(1)): path
        for path in folder.iterdir()
        if (match := _PNG_SLICE.match(path.name))
    }
    if not stored:
        raise FileNotFoundError(f'{folder}: no DeepLesion slice (NNN.png) found')
    indices = sorted(stored)
    first, last = indices[0], indices[-1]
    sizes = [size for path in stored.values() if (size := png_size(str(path)))]
    largest = max(sizes, key=lambda size: size[0] * size[1], default=(0, 0))
    check_voxel_budget((last - first + 1, *largest), folder, max_voxels)
    available = np.asarray(indices)
    slices, names, missing = [], [], 0
    for index in range(first, last + 1):
        nearest = int(available[np.argmin(np.abs(available - index))])
        missing += nearest != index
        slices.append(read_deeplesion_png(str(stored[nearest]), max_voxels))
        names.append(f'{index:03d}.png')
    if missing:
        warnings.warn(
            f'{folder}: {missing} slice(s) between {first:03d} and {last:03d} are missing; '
            'the nearest stored slice stands in for each',
            RuntimeWarning,
            stacklevel=2,
        )
    shapes = {s.shape for s in slices}
    if len(shapes) > 1:
        raise ValueError(f'{folder}: slices of different sizes {sorted(shapes)}')
    return CTVolume(
        hu=np.stack(slices),
        spacing_mm=_png_spacing(folder, spacing_mm, dl_info),
        slice_names=tuple(names),
        source=str(folder),
    )


def _is_png_folder(folder: Path) -> bool:
    return any(_PNG_SLICE.match(p.name) for p in folder.iterdir())


def check_one_kind(folder: Path) -> None:
    """Refuse a folder holding both DeepLesion PNG slices and DICOM files.

    Which of the two is the series cannot be told: read as PNGs, a stray ``000.png`` would
    stand for a whole DICOM series. Only PNG folders are scanned (132 bytes of each other
    file): a DICOM folder without ``NNN.png`` is never mixed.

    Raises:
        ValueError: naming both kinds found, with a count and an example of each.
    """
    pngs, others = [], []
    for path in sorted(folder.iterdir()):
        (pngs if _PNG_SLICE.match(path.name) else others).append(path)
    if not pngs:
        return
    dicoms = [path for path in others if path.is_file() and has_dicom_preamble(path)]
    if dicoms:
        raise ValueError(
            f'{folder}: holds both DeepLesion PNG slices ({len(pngs)}, e.g. {pngs[0].name}) '
            f'and DICOM files ({len(dicoms)}, e.g. {dicoms[0].name}); a folder must hold one '
            'series of one kind: move the other files out'
        )


def load_ct_volume(
    path: str | Path,
    spacing_mm: Spacing | None = None,
    dl_info: str | Path | None = None,
    series_uid: str | None = None,
    rescale: Rescale | None = None,
    max_voxels: int = MAX_VOXELS,
) -> CTVolume:
    """Every slice of a CT input as a :class:`CTVolume`.

    Args:
        path: a DICOM series folder, a DeepLesion series folder, a NIfTI volume, or a single
            DICOM / DeepLesion PNG file (a one-slice volume).
        spacing_mm: ``(x, y, z)`` mm replacing what the source says (needed for PNGs without
            ``dl_info``).
        dl_info: ``DL_info.csv`` to take a DeepLesion series' spacing from.
        series_uid: the DICOM series to read from a folder holding several.
        rescale: ``(slope, intercept)`` for DICOM headers without RescaleSlope/Intercept.
        max_voxels: the largest volume read, checked from the headers before any pixel
            (:func:`~mmlesion.datasets.voxel_budget.check_voxel_budget`).

    Raises:
        FileNotFoundError: ``path`` does not exist, or a folder holds no slice.
        ValueError: a ``spacing_mm`` that is not three positive sizes, a folder holding both
            PNG slices and DICOM files, a DICOM series whose geometry
            :func:`~.dicom_reader.check_series_geometry` refuses, a DICOM file
            :func:`~.dicom_reader.dataset_hu` refuses (not CT, no rescale), or an input
            declaring more than ``max_voxels`` voxels.
    """
    path = Path(path)
    if spacing_mm is not None:
        spacing_mm = check_spacing(spacing_mm)
    if not path.exists():
        raise FileNotFoundError(f'CT input not found: {path}')
    if path.is_dir():
        if _is_png_folder(path):
            return read_deeplesion_series(path, spacing_mm, dl_info, max_voxels)
        volume = read_dicom_series(path, series_uid, rescale, max_voxels=max_voxels)
    elif is_nifti(path):
        volume = read_nifti_volume(path, max_voxels)
    elif path.suffix.lower() == '.png':
        hu = read_deeplesion_png(str(path), max_voxels)
        return CTVolume(
            hu[None], _png_spacing(path.parent, spacing_mm, dl_info), (path.name,), str(path)
        )
    else:
        hu, spacing = read_dicom_slice(path, rescale, max_voxels)
        volume = CTVolume(hu[None], spacing, (path.name,), str(path))
    if spacing_mm is not None:
        volume = CTVolume(volume.hu, spacing_mm, volume.slice_names, volume.source)
    return volume


def load_ct_slice(
    path: str | Path,
    slice_index: int | None = None,
    spacing_mm: Spacing | None = None,
    dl_info: str | Path | None = None,
) -> tuple[np.ndarray, Spacing]:
    """One axial CT slice in HU and its spacing.

    Args:
        path: a DICOM file, a DeepLesion 16-bit PNG, a NIfTI volume, or a DICOM / DeepLesion
            series folder.
        slice_index: the slice of a volume or folder, in position order (default: the middle
            one); ignored for a single-slice file.
        spacing_mm, dl_info: see :func:`load_ct_volume`.

    Returns:
        ``hu``: float32 ``(H, W)``; ``spacing_mm``: ``(x, y, z)`` mm, NaN where unknown (z of a
        single DICOM file is its nominal slice distance).
    """
    volume = load_ct_volume(path, spacing_mm, dl_info)
    if len(volume) == 1:
        return volume.hu[0], volume.spacing_mm
    index = len(volume) // 2 if slice_index is None else slice_index
    if not -len(volume) <= index < len(volume):
        raise IndexError(f'{path}: slice {index} out of range (0..{len(volume) - 1})')
    return volume.hu[index], volume.spacing_mm


def load_ct_input(
    path: str | Path,
    slice_indices: list[int] | None = None,
    spacing_mm: Spacing | None = None,
    dl_info: str | Path | None = None,
    series_uid: str | None = None,
    rescale: Rescale | None = None,
    max_voxels: int = MAX_VOXELS,
) -> tuple[CTVolume, list[int]]:
    """The volume an inference input belongs to, and which of its slices to detect on.

    A DeepLesion PNG brings its series folder along (its neighbours make the 2.5D input) and
    names its own slice; a folder or volume names ``slice_indices`` (default: all).
    ``series_uid``, ``rescale``, ``max_voxels``: see :func:`load_ct_volume`.
    """
    path = Path(path)
    match = _PNG_SLICE.match(path.name)
    if path.is_file() and match:
        volume = read_deeplesion_series(path.parent, spacing_mm, dl_info, max_voxels)
        return volume, [volume.slice_names.index(f'{int(match.group(1)):03d}.png')]
    volume = load_ct_volume(path, spacing_mm, dl_info, series_uid, rescale, max_voxels)
    indices = list(range(len(volume))) if slice_indices is None else list(slice_indices)
    for index in indices:
        if not 0 <= index < len(volume):
            raise IndexError(f'{path}: slice {index} out of range (0..{len(volume) - 1})')
    return volume, indices


def has_spacing(spacing_mm: Spacing) -> bool:
    """Whether the in-plane spacing is known (needed for sizes in mm and resampling)."""
    return all(math.isfinite(v) and v > 0 for v in spacing_mm[:2])
