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


def dataset_hu(ds, path: str | Path) -> np.ndarray:
    """The pixels of one DICOM dataset in HU: ``stored * RescaleSlope + RescaleIntercept``.

    Returns:
        float32 ``(H, W)`` HU.

    Raises:
        ValueError: no pixel data, or more than one frame.
    """
    if 'PixelData' not in ds:
        raise ValueError(f'{path}: DICOM file has no pixel data')
    pixels = ds.pixel_array
    if pixels.ndim != 2:
        raise ValueError(
            f'{path}: expected a single-frame grayscale slice, got pixel array {pixels.shape}'
        )
    slope = _float_or_nan(ds.get('RescaleSlope', 1))
    intercept = _float_or_nan(ds.get('RescaleIntercept', 0))
    slope = 1.0 if math.isnan(slope) else slope
    intercept = 0.0 if math.isnan(intercept) else intercept
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


def read_dicom_slice(path: str | Path) -> tuple[np.ndarray, Spacing]:
    """One DICOM file: float32 ``(H, W)`` HU and ``(x, y, z)`` spacing in mm (z nominal)."""
    ds = _pydicom().dcmread(str(path))
    return dataset_hu(ds, path), (*in_plane_spacing(ds), nominal_slice_distance(ds))


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


def read_dicom_series(folder: str | Path, series_uid: str | None = None) -> CTVolume:
    """A folder of single-slice DICOM files as a :class:`CTVolume`.

    Slices are sorted by their position along the slice normal (``ImagePositionPatient`` and
    ``ImageOrientationPatient``), else by ``InstanceNumber``; the slice distance is the median
    distance between sorted positions, else the header's nominal one. Files that are not DICOM
    (or hold no image) are skipped.

    Args:
        folder: the series folder.
        series_uid: which series, when the folder holds several.

    Raises:
        FileNotFoundError: no DICOM image in the folder.
        ValueError: several series and no ``series_uid`` (the UIDs are listed), an unknown
            ``series_uid``, or slices of different sizes.
    """
    folder = Path(folder)
    by_series, skipped = _read_headers(folder)
    if not by_series:
        raise FileNotFoundError(f'{folder}: no DICOM image found ({skipped} other files)')
    if series_uid is None:
        if len(by_series) > 1:
            listing = ', '.join(f'{uid} ({len(files)} slices)' for uid, files in by_series.items())
            raise ValueError(f'{folder}: holds several series, choose one by series_uid: {listing}')
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
    slices = [dataset_hu(ds, path) for path, ds in files]
    shapes = {s.shape for s in slices}
    if len(shapes) > 1:
        raise ValueError(f'{folder}: slices of different sizes {sorted(shapes)}')
    return CTVolume(
        hu=np.stack(slices),
        spacing_mm=(*in_plane_spacing(files[0][1]), z_mm if z_mm > 0 else math.nan),
        slice_names=tuple(path.name for path, _ in files),
        source=str(folder),
    )
