"""Reading CT slices and series from DICOM files (pydicom) as Hounsfield units."""

from __future__ import annotations

import math
from collections import defaultdict
from pathlib import Path

import numpy as np

from mmlesion.datasets.voxel_budget import MAX_VOXELS, check_voxel_budget

from .ct_volume import CTVolume, Spacing

#: How far, relative to their median, the distances between consecutive slice positions of a
#: series may spread (``(max - min) / median``) before the series is refused: a larger spread
#: means missing slices or mixed intervals, and the 2.5D neighbours would sit at wrong places.
SLICE_DISTANCE_TOLERANCE = 0.1
#: Slice positions closer than this, mm, are the same position.
SAME_POSITION_MM = 1e-3
#: Relative difference below which two slices' PixelSpacing are the same.
PIXEL_SPACING_RTOL = 1e-4


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
    """``(x, y)`` mm from ``PixelSpacing`` (stored as row spacing, column spacing); NaN
    (unknown) where it is missing, 0 or negative."""
    spacing = ds.get('PixelSpacing')
    if spacing is None or len(spacing) != 2:
        return math.nan, math.nan
    row_mm, col_mm = (_float_or_nan(v) for v in spacing)
    return (col_mm if col_mm > 0 else math.nan), (row_mm if row_mm > 0 else math.nan)


def declared_shape(ds) -> tuple[int, int, int]:
    """``(frames, rows, columns)`` as the header declares them (0 where missing)."""
    frames = _float_or_nan(ds.get('NumberOfFrames'))
    frames = int(frames) if frames >= 1 else 1  # NaN (absent) compares False
    return frames, int(ds.get('Rows') or 0), int(ds.get('Columns') or 0)


def nominal_slice_distance(ds) -> float:
    """``SpacingBetweenSlices``, else ``SliceThickness`` (mm), else NaN."""
    for keyword in ('SpacingBetweenSlices', 'SliceThickness'):
        value = _float_or_nan(ds.get(keyword))
        if value > 0:
            return value
    return math.nan


def read_dicom_slice(
    path: str | Path, rescale: Rescale | None = None, max_voxels: int = MAX_VOXELS
) -> tuple[np.ndarray, Spacing]:
    """One DICOM file: float32 ``(H, W)`` HU and ``(x, y, z)`` spacing in mm (z nominal).

    ``rescale``: see :func:`dataset_hu`. ``max_voxels``: the largest image decoded, checked
    from the header's Rows, Columns and NumberOfFrames first
    (:func:`~mmlesion.datasets.voxel_budget.check_voxel_budget`).
    """
    ds = _pydicom().dcmread(str(path))
    check_voxel_budget(declared_shape(ds), path, max_voxels)
    return dataset_hu(ds, path, rescale), (*in_plane_spacing(ds), nominal_slice_distance(ds))


def has_dicom_preamble(path: Path) -> bool:
    """Whether ``path`` starts as a DICOM file: a 128-byte preamble, then ``DICM`` (what
    ``pydicom.dcmread`` requires without ``force=True``)."""
    try:
        with open(path, 'rb') as f:
            return f.read(132)[128:] == b'DICM'
    except OSError:
        return False


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
    folder: str | Path,
    series_uid: str | None = None,
    rescale: Rescale | None = None,
    slice_distance_tolerance: float = SLICE_DISTANCE_TOLERANCE,
    max_voxels: int = MAX_VOXELS,
) -> CTVolume:
    """A folder of single-slice DICOM files as a :class:`CTVolume`.

    Slices are sorted by their position along the slice normal (``ImagePositionPatient`` and
    ``ImageOrientationPatient``), else by ``InstanceNumber``; the slice distance is the median
    distance between sorted positions, else the header's nominal one. Files that are not DICOM
    (or hold no image) are skipped. The series' geometry is checked before any pixel is decoded
    (:func:`check_series_geometry`), and so is its size.

    Args:
        folder: the series folder.
        series_uid: which series, when the folder holds several.
        rescale: ``(slope, intercept)`` for headers without them (see :func:`dataset_hu`).
        slice_distance_tolerance: how far the distances between consecutive positions may
            spread, relative to their median (:data:`SLICE_DISTANCE_TOLERANCE`).
        max_voxels: the largest volume decoded, checked from the headers (frames of all files
            x Rows x Columns; :func:`~mmlesion.datasets.voxel_budget.check_voxel_budget`).

    Raises:
        FileNotFoundError: no DICOM image in the folder.
        ValueError: several series and no ``series_uid`` (the UIDs are listed), an unknown
            ``series_uid``, a geometry :func:`check_series_geometry` refuses, more voxels than
            ``max_voxels``, slices of different sizes, or a slice :func:`dataset_hu` refuses.
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
    else:
        positions = None
        order = np.argsort([_instance_number(ds) or 0 for _, ds in files], kind='stable')
    files = [files[i] for i in order]
    if positions is not None:
        positions = [positions[i] for i in order]
    z_mm = check_series_geometry(folder, files, positions, slice_distance_tolerance)
    declared = np.array([declared_shape(ds) for _, ds in files])  # (slices, 3)
    check_voxel_budget((declared[:, 0].sum(), *declared[:, 1:].max(axis=0)), folder, max_voxels)
    slices = [dataset_hu(ds, path, rescale) for path, ds in files]
    shapes = {s.shape for s in slices}
    if len(shapes) > 1:
        raise ValueError(f'{folder}: slices of different sizes {sorted(shapes)}')
    return CTVolume(
        hu=np.stack(slices),
        spacing_mm=(*in_plane_spacing(files[0][1]), z_mm),
        slice_names=tuple(path.name for path, _ in files),
        source=str(folder),
    )


def _instance_number(ds) -> int | None:
    number = _float_or_nan(ds.get('InstanceNumber'))
    return None if math.isnan(number) else int(number)


def check_series_geometry(
    folder: Path,
    files: list[tuple[Path, object]],
    positions: list[float] | None,
    tolerance: float = SLICE_DISTANCE_TOLERANCE,
) -> float:
    """Refuse a series whose slices do not form one regular stack; return its slice distance.

    Refused, each with the files or values at fault: two slices at the same position, two
    slices with the same ``InstanceNumber`` when that orders them (no positions in the headers;
    with positions it is not read), a ``PixelSpacing`` that differs between slices (the first
    slice's would be taken for all), and distances between consecutive positions that spread by
    more than ``tolerance`` times their median (missing slices: positions 0, 2, 4, 20, 22 mm
    would be read as a regular 2 mm stack).

    Args:
        folder: the series folder, for the messages.
        files: ``(path, dataset)`` of each slice, in slice order.
        positions: each slice's position along the slice normal, mm, ascending; None when the
            headers have none (slices sorted by InstanceNumber).
        tolerance: relative spread allowed, ``(max - min) / median`` of the distances.

    Returns:
        The slice distance, mm: the median distance between positions, else the header's
        nominal one; NaN when unknown.
    """
    if not (math.isfinite(tolerance) and tolerance >= 0):
        raise ValueError(f'slice_distance_tolerance must be finite and >= 0, got {tolerance!r}')
    names = [path.name for path, _ in files]
    if positions is None:
        # InstanceNumber orders the slices only without positions; with them it is not read.
        seen: dict[int, str] = {}
        for name, number in zip(names, (_instance_number(ds) for _, ds in files), strict=True):
            if number is not None and number in seen:
                raise ValueError(
                    f'{folder}: {seen[number]} and {name} have the same InstanceNumber {number} '
                    'and no position: their order is unknown (a slice stored twice, or two '
                    'series under one SeriesInstanceUID)'
                )
            if number is not None:
                seen[number] = name

    spacings = np.array([in_plane_spacing(ds) for _, ds in files], dtype=np.float64)
    differs = ~np.isclose(spacings, spacings[0], rtol=PIXEL_SPACING_RTOL, atol=0, equal_nan=True)
    if differs.any():
        other = int(np.flatnonzero(differs.any(axis=1))[0])
        raise ValueError(
            f'{folder}: PixelSpacing differs between slices: {names[0]} has (x, y) = '
            f'{tuple(spacings[0].tolist())} mm, {names[other]} has '
            f'{tuple(spacings[other].tolist())} mm; a series must share one pixel spacing'
        )

    if positions is None or len(positions) < 2:
        z_mm = nominal_slice_distance(files[0][1])
        return z_mm if z_mm > 0 else math.nan
    steps = np.diff(np.asarray(positions, dtype=np.float64))
    same = np.flatnonzero(steps < SAME_POSITION_MM)
    if len(same):
        i = int(same[0])
        raise ValueError(
            f'{folder}: {names[i]} and {names[i + 1]} lie at the same position '
            f'({positions[i]:.6g} mm along the slice normal; {len(same)} such pair(s)): a slice '
            'stored twice, or two stacks under one SeriesInstanceUID'
        )
    median = float(np.median(steps))
    low, high = float(steps.min()), float(steps.max())
    if (high - low) > tolerance * median:
        widest = names[int(np.argmax(steps))]
        raise ValueError(
            f'{folder}: the distances between consecutive slices range from {low:.4g} to '
            f'{high:.4g} mm (median {median:.4g} mm, the widest after {widest}), more than '
            f'{tolerance:.0%} of the median apart: slices are missing or the intervals are mixed,'
            ' so the 2.5D neighbours would be taken at wrong positions. Read a '
            'complete series, or pass slice_distance_tolerance= to accept it'
        )
    return median
