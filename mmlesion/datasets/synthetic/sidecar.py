"""``synthetic_acquisition.csv``: how each synthetic key slice was acquired.

Not part of the DeepLesion format (readers of the real release ignore it). One row per key slice
``File_name`` with its series' acquisition profile, so results can be broken down per profile.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from mmlesion.utils.atomic_write import atomic_write_text

SIDECAR_NAME = 'synthetic_acquisition.csv'
SIDECAR_COLUMNS: tuple[str, ...] = (
    'File_name',
    'profile',
    'contrast_phase',
    'noise_sigma_hu',
    'shading_amplitude_hu',
    'lesion_delta_hu',
    'DICOM_windows',
    'slice_interval_mm',
)


@dataclass(frozen=True)
class AcquisitionRecord:
    """One key slice's acquisition.

    Attributes:
        profile: ``'clean'`` or degradations joined by ``'+'`` (see :mod:`.acquisition`).
        contrast_phase: ``'unenhanced'`` or ``'venous'``.
        noise_sigma_hu: noise standard deviation inside the body, HU.
        shading_amplitude_hu: peak shading bias, HU (0 without shading).
        lesion_delta_hu: lesion-minus-host HU of each lesion on the slice, in ``DL_info.csv`` row
            order.
        window_hu: the DICOM window ``(low, high)`` HU written to ``DL_info.csv``.
        slice_interval_mm: distance between slices, mm.
    """

    file_name: str
    profile: str
    contrast_phase: str
    noise_sigma_hu: float
    shading_amplitude_hu: float
    lesion_delta_hu: tuple[float, ...]
    window_hu: tuple[float, float]
    slice_interval_mm: float

    @property
    def degradations(self) -> frozenset[str]:
        return frozenset() if self.profile == 'clean' else frozenset(self.profile.split('+'))


def _join(values: Iterable[float]) -> str:
    return ', '.join(f'{v:g}' for v in values)


def write_acquisition_sidecar(path: str | Path, records: Iterable[AcquisitionRecord]) -> None:
    """Write ``records`` (one per key slice) with a header of :data:`SIDECAR_COLUMNS`."""
    text = io.StringIO(newline='')
    writer = csv.writer(text)
    writer.writerow(SIDECAR_COLUMNS)
    for r in records:
        writer.writerow(
            [
                r.file_name,
                r.profile,
                r.contrast_phase,
                f'{r.noise_sigma_hu:g}',
                f'{r.shading_amplitude_hu:g}',
                _join(r.lesion_delta_hu),
                _join(r.window_hu),
                f'{r.slice_interval_mm:g}',
            ]
        )
    atomic_write_text(path, text.getvalue())


def read_acquisition_sidecar(path: str | Path) -> dict[str, AcquisitionRecord]:
    """Parse ``synthetic_acquisition.csv`` into ``{File_name: record}``.

    Raises:
        FileNotFoundError: no such file.
        ValueError: the header is not :data:`SIDECAR_COLUMNS` or a cell does not parse (the
            message names the line).
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f'acquisition sidecar not found: {path}')
    records: dict[str, AcquisitionRecord] = {}
    with path.open(newline='', encoding='utf-8') as f:
        reader = csv.reader(f)
        header = tuple(next(reader, ()))
        if header != SIDECAR_COLUMNS:
            raise ValueError(f'{path}: expected columns {SIDECAR_COLUMNS}, got {header}')
        for line, cells in enumerate(reader, start=2):
            if not cells:
                continue
            try:
                name, profile, phase, sigma, shading, deltas, window, interval = cells
                low, high = (float(v) for v in window.split(','))
                records[name] = AcquisitionRecord(
                    file_name=name,
                    profile=profile,
                    contrast_phase=phase,
                    noise_sigma_hu=float(sigma),
                    shading_amplitude_hu=float(shading),
                    lesion_delta_hu=tuple(float(v) for v in deltas.split(',') if v.strip()),
                    window_hu=(low, high),
                    slice_interval_mm=float(interval),
                )
            except ValueError as e:
                raise ValueError(f'{path}: line {line}: {e}') from None
    return records
