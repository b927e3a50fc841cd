"""Reading CT slices and series from DICOM files (pydicom) as Hounsfield units."""

from __future__ import annotations

import math
from collections import defaultdict
from pathlib import Path

import numpy as np

from .ct_volume import CTVolume, Spacing


def _pydicom():
    try:
        import pydicom
    except ImportError as error:  # pragma: no cover - pydicom is in requirements.txt
        raise ImportError('reading DICOM needs pydicom: pip install pydicom') from error
    return pydicom


def _float_or_nan(value) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return math.nan
    return number if math.isfinite(number) else math.nan


#: ``(slope, intercept)``: HU = stored value * slope + intercept.
Rescale = tuple[float, float]


def check_modality(ds, path: str | Path) -> None:
    """Refuse a DICOM file whose ``Modality`` is given and is not ``CT``.

    An MR or PET image has no Hounsfield units: the HU windows and the detector would process
    arbitrary intensities as if they were CT.
    """
    modality = str(ds.get('Modality', '') or '').strip().upper()
    if modality and modality != 'CT':
        raise ValueError(
            f'{path}: Modality is {modality!r}, not CT; the detector works on CT in Hounsfield '
            'units only'
        )


def rescale_of(ds, path: str | Path, rescale: Rescale | None = None) -> Rescale:
    """``(RescaleSlope, RescaleIntercept)`` of a DICOM dataset, else ``rescale``.

    Raises:
        ValueError: the header has no usable slope and intercept and ``rescale`` is None. A
            silent ``(1, 0)`` would put a typical CT (stored as HU + 1024) 1024 HU too high.
    """
    slope = _float_or_nan(ds.get('RescaleSlope'))
    intercept = _float_or_nan(ds.get('RescaleIntercept'))
    if not (math.isnan(slope) or math.isnan(intercept)):
        return slope, intercept
    if rescale is not None:
        return float(rescale[0]), float(rescale[1])
    raise ValueError(
        f'{path}: no usable RescaleSlope/RescaleIntercept in the DICOM header, so the stored '
        'values cannot be converted to HU (many scanners store HU + 1024). Give the rescale '
        'explicitly: rescale=(slope, intercept), tools/infer.py --rescale SLOPE INTERCEPT, '
        'e.g. 1 -1024, or 1 0 if the stored values are HU already'
    )


def dataset_hu(ds, path: str | Path, rescale: Rescale | None = None) -> np.ndarray:
    """The pixels of one DICOM dataset in HU: ``stored * RescaleSlope + RescaleIntercept``.

    Args:
        rescale: ``(slope, intercept)`` for a header without them (see :func:`rescale_of`).

    Returns:
        float32 ``(H, W)`` HU.

    Raises:
        ValueError: no pixel data, more than one frame, a modality other than CT, or no
            rescale in the header and none given.
    """
    if 'PixelData' not in ds:
        raise ValueError(f'{path}: DICOM file has no pixel data')
    check_modality(ds, path)
    slope, intercept = rescale_of(ds, path, rescale)
    pixels = ds.pixel_array
    if pixels.ndim != 2:
        raise ValueError(
            f'{path}: expected a single-frame grayscale slice, got pixel array {pixels.shape}'
        )
    return (pixels.astype(np.float32) * np.float32(slope) + np.float32(intercept)).astype(
        np.float32, copy=False
    )


def in_plane_spacing(ds) -> tuple[float, float]:
    """``(x, y)`` mm from ``PixelSpacing`` (stored as row spacing, column spacing)."""
    spacing = ds.get('PixelSpacing')
    if spacing is None or len(spacing) != 2:
        return math.nan, math.nan
    row_mm, col_mm = (_float_or_nan(v) for v in spacing)
    return col_mm, row_mm


def nominal_slice_distance(ds) -> float:
    """``SpacingBetweenSlices``, else ``SliceThickness`` (mm), else NaN."""
    for keyword in ('SpacingBetweenSlices', 'SliceThickness'):
        value = _float_or_nan(ds.get(keyword))
        if value > 0:
            return value
    return math.nan


def read_dicom_slice(
    path: str | Path, rescale: Rescale | None = None
) -> tuple[np.ndarray, Spacing]:
    """One DICOM file: float32 ``(H, W)`` HU and ``(x, y, z)`` spacing in mm (z nominal).

    ``rescale``: see :func:`dataset_hu`.
    """
    ds = _pydicom().dcmread(str(path))
    return dataset_hu(ds, path, rescale), (*in_plane_spacing(ds), nominal_slice_distance(ds))


def _slice_position(ds) -> float | None:
    """Position along the slice normal (mm), from ImagePositionPatient/ImageOrientationPatient."""
    position, orientation = ds.get('ImagePositionPatient'), ds.get('ImageOrientationPatient')
    if position is None or orientation is None or len(orientation) != 6:
        return None
    orientation = np.asarray(orientation, dtype=np.float64)
    normal = np.cross(orientation[:3], orientation[3:])
    return float(np.dot(normal, np.asarray(position, dtype=np.float64)))


def _read_headers(folder: Path) -> tuple[dict[str, list[tuple[Path, object]]], int]:
    """DICOM datasets of ``folder`` grouped by SeriesInstanceUID; also how many files were not
    DICOM."""
    pydicom = _pydicom()
    by_series: dict[str, list[tuple[Path, object]]] = defaultdict(list)
    skipped = 0
    for path in sorted(p for p in folder.iterdir() if p.is_file()):
        try:
            ds = pydicom.dcmread(str(path))
        except pydicom.errors.InvalidDicomError:
            skipped += 1
            continue
        if 'PixelData' not in ds:
            skipped += 1
            continue
        by_series[str(ds.get('SeriesInstanceUID', ''))].append((path, ds))
    return by_series, skipped


def read_dicom_series(
    folder: str | Path, series_uid: str | None = None, rescale: Rescale | None = None
) -> CTVolume:
    """A folder of single-slice DICOM files as a :class:`CTVolume`.

    Slices are sorted by their position along the slice normal (``ImagePositionPatient`` and
    ``ImageOrientationPatient``), else by ``InstanceNumber``; the slice distance is the median
    distance between sorted positions, else the header's nominal one. Files that are not DICOM
    (or hold no image) are skipped.

    Args:
        folder: the series folder.
        series_uid: which series, when the folder holds several.
        rescale: ``(slope, intercept)`` for headers without them (see :func:`dataset_hu`).

    Raises:
        FileNotFoundError: no DICOM image in the folder.
        ValueError: several series and no ``series_uid`` (the UIDs are listed), an unknown
            ``series_uid``, slices of different sizes, or a slice :func:`dataset_hu` refuses.
    """
    folder = Path(folder)
    by_series, skipped = _read_headers(folder)
    if not by_series:
        raise FileNotFoundError(f'{folder}: no DICOM image found ({skipped} other files)')
    if series_uid is None:
        if len(by_series) > 1:
            listing = ', '.join(f'{uid} ({len(files)} slices)' for uid, files in by_series.items())
            raise ValueError(
                f'{folder}: holds several series; choose one with series_uid= '
                f'(tools/infer.py --series-uid UID): {listing}'
            )
        series_uid = next(iter(by_series))
    if series_uid not in by_series:
        raise ValueError(f'{folder}: no series {series_uid!r}; found {sorted(by_series)}')
    files = by_series[series_uid]

    positions = [_slice_position(ds) for _, ds in files]
    if all(p is not None for p in positions):
        order = np.argsort(positions, kind='stable')
        steps = np.diff(np.sort(np.asarray(positions)))
        z_mm = float(np.median(steps)) if len(steps) else nominal_slice_distance(files[0][1])
    else:
        numbers = [int(ds.get('InstanceNumber', 0) or 0) for _, ds in files]
        order = np.argsort(numbers, kind='stable')
        z_mm = nominal_slice_distance(files[0][1])
    files = [files[i] for i in order]
    slices = [dataset_hu(ds, path, rescale) for path, ds in files]
    shapes = {s.shape for s in slices}
    if len(shapes) > 1:
        raise ValueError(f'{folder}: slices of different sizes {sorted(shapes)}')
    return CTVolume(
        hu=np.stack(slices),
        spacing_mm=(*in_plane_spacing(files[0][1]), z_mm if z_mm > 0 else math.nan),
        slice_names=tuple(path.name for path, _ in files),
        source=str(folder),
    )
