"""Reading and writing ``DL_info.csv``, the annotation table of the NIH DeepLesion release.

One row per lesion (32,735 rows in the release), 18 columns in a fixed order. Vector-valued cells
are quoted, comma-and-space separated numbers, e.g. ``"226.169, 90.0204, 241.252, 111.977"``.
Several rows can share one ``File_name``: several lesions on one key slice.

Parsing reads no image and keeps every column's meaning, with units in the field names. Every
malformed value raises :class:`DLInfoError` naming the file, the line and the column.

Pixel coordinates: the release's ``Measurement_coordinates`` and ``Bounding_boxes`` count pixels
from 1 (MATLAB style). Its authors' loaders subtract 1 from both on reading ("coordinates in info
file start from 1": ``rcnn/dataset/DeepLesion.py`` of 3DCE and ``maskrcnn/data/datasets/
DeepLesion.py`` of MULAN, both in ``rsummers11/CADLab``), and so does :func:`read_dl_info` by
default (``coordinate_base=1``); :func:`write_dl_info` adds the 1 back. In memory every
coordinate is 0-based. ``Lesion_diameters_Pixel_`` are lengths and need no shift. The shift is
done on the decimal text, so that a value written and read back is the same float as before.
"""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from decimal import Decimal
from pathlib import Path

from mmlesion.utils.atomic_write import atomic_write_text
from mmlesion.utils.messages import first_items

DL_INFO_COLUMNS: tuple[str, ...] = (
    'File_name',
    'Patient_index',
    'Study_index',
    'Series_ID',
    'Key_slice_index',
    'Measurement_coordinates',
    'Bounding_boxes',
    'Lesion_diameters_Pixel_',
    'Normalized_lesion_location',
    'Coarse_lesion_type',
    'Possibly_noisy',
    'Slice_range',
    'Spacing_mm_px_',
    'Image_size',
    'DICOM_windows',
    'Patient_gender',
    'Patient_age',
    'Train_Val_Test',
)

#: ``Coarse_lesion_type`` 1..8, in order. ``-1`` means unlabelled (the whole train split of the
#: real release).
COARSE_LESION_TYPES: tuple[str, ...] = (
    'bone',
    'abdomen',
    'mediastinum',
    'liver',
    'lung',
    'kidney',
    'soft_tissue',
    'pelvis',
)
UNLABELLED_TYPE = -1
#: ``Coarse_lesion_type`` code of liver lesions (4).
LIVER_TYPE = COARSE_LESION_TYPES.index('liver') + 1

#: ``Train_Val_Test`` codes.
SPLIT_CODES: dict[int, str] = {1: 'train', 2: 'val', 3: 'test'}

#: DeepLesion PNGs store HU + 32768 as uint16.
HU_OFFSET = 32768

#: Index of the first pixel in the release's ``Measurement_coordinates`` and ``Bounding_boxes``
#: (see the module docstring). ``0`` reads and writes the cells unshifted.
RELEASE_COORDINATE_BASE = 1
COORDINATE_BASES = (0, 1)

#: The smallest pixel spacing or slice interval accepted, mm. Clinical CT pixels and slice
#: intervals are tenths of a millimetre and more; a smaller value is a unit or typing error
#: (1e-300 mm would put every neighbour slice on the key slice, or make a resampled slice
#: astronomically large).
MIN_SPACING_MM = 0.1


class DLInfoError(ValueError):
    """A malformed ``DL_info.csv``: the message names the file, the line and the column."""


@dataclass(frozen=True)
class LesionRow:
    """One row of ``DL_info.csv`` (one lesion), parsed.

    Pixel coordinates are 0-based (x to the right, y down) in the original image: the file's
    1-based cells minus 1 when read with ``coordinate_base=1`` (see the module docstring).
    """

    file_name: str
    patient_index: int
    study_index: int
    series_id: int
    key_slice_index: int
    #: RECIST end points ``(x1, y1, x2, y2)`` of the long axis then of the short axis, pixels.
    recist_px: tuple[float, ...]
    #: ``(x1, y1, x2, y2)`` pixels.
    bbox_px: tuple[float, float, float, float]
    #: Long and short RECIST diameters, pixels.
    diameters_px: tuple[float, float]
    #: Lesion position in the body, each in [0, 1] (x, y, z).
    normalized_location: tuple[float, float, float]
    #: 1..8 (see :data:`COARSE_LESION_TYPES`) or -1 (unlabelled).
    coarse_type: int
    possibly_noisy: bool
    #: First and last slice index stored for the series around the key slice (inclusive).
    slice_range: tuple[int, int]
    #: Pixel spacing x, y and slice interval z, mm.
    spacing_mm: tuple[float, float, float]
    #: ``(height, width)`` pixels. The CSV stores ``"rows, columns"``; the release has 512x512.
    image_size: tuple[int, int]
    #: Display window ``(low, high)`` in HU as stored in the DICOM header.
    dicom_window_hu: tuple[float, float]
    #: ``'M'``, ``'F'`` or ``''`` when unknown.
    gender: str
    #: Age in years, ``None`` when unknown.
    age_years: float | None
    #: ``'train'``, ``'val'`` or ``'test'``.
    split: str
    #: 1-based line number in the CSV file (header is line 1), for error messages.
    line: int = 0

    @property
    def series_folder(self) -> str:
        """``<patient>_<study>_<series>``, the folder under ``Images_png/``."""
        return self.file_name.rsplit('_', 1)[0]

    @property
    def slice_file(self) -> str:
        """``<slice:03d>.png``, the key slice's file name inside the series folder."""
        return self.file_name.rsplit('_', 1)[1]

    @property
    def slice_interval_mm(self) -> float:
        return self.spacing_mm[2]

    @property
    def coarse_type_name(self) -> str:
        if self.coarse_type == UNLABELLED_TYPE:
            return 'unlabelled'
        return COARSE_LESION_TYPES[self.coarse_type - 1]


class _RowParser:
    """Parses the cells of one CSV row; every failure names file, line and column."""

    def __init__(self, path: Path, line: int, cells: dict[str, str]):
        self.path = path
        self.line = line
        self.cells = cells

    def error(self, column: str, problem: str) -> DLInfoError:
        value = self.cells.get(column, '')
        return DLInfoError(
            f'{self.path}: line {self.line}, column {column!r}: {problem} (got {value!r})'
        )

    def text(self, column: str) -> str:
        return self.cells[column].strip()

    def integer(self, column: str) -> int:
        text = self.text(column)
        try:
            number = float(text)
        except ValueError:
            raise self.error(column, 'expected an integer') from None
        if not math.isfinite(number) or number != int(number):
            raise self.error(column, 'expected an integer')
        return int(number)

    def integers(self, column: str, count: int) -> tuple[int, ...]:
        """``count`` comma-separated whole numbers (``"512, 512"``; ``"512.5"`` is refused)."""
        values = self.numbers(column, count)
        if any(v != int(v) for v in values):
            raise self.error(column, f'expected {count} comma-separated integers')
        return tuple(int(v) for v in values)

    def numbers(self, column: str, count: int) -> tuple[float, ...]:
        parts = self.text(column).split(',')
        if len(parts) != count:
            raise self.error(column, f'expected {count} comma-separated numbers')
        try:
            values = tuple(float(p) for p in parts)
        except ValueError:
            raise self.error(column, f'expected {count} comma-separated numbers') from None
        if not all(math.isfinite(v) for v in values):
            raise self.error(column, 'expected finite numbers')
        return values

    def pixel_coordinates(self, column: str, count: int, base: int) -> tuple[float, ...]:
        """``count`` coordinates, made 0-based by subtracting ``base`` in decimal arithmetic
        (so that ``"13.346"`` with base 1 gives exactly ``float("12.346")``)."""
        values = self.numbers(column, count)  # checks count and finiteness, names the cell
        if base == 0:
            return values
        return tuple(float(Decimal(p.strip()) - base) for p in self.text(column).split(','))

    def optional_number(self, column: str) -> float | None:
        text = self.text(column)
        if text == '' or text.lower() == 'nan':
            return None
        try:
            value = float(text)
        except ValueError:
            raise self.error(column, 'expected a number or an empty cell') from None
        return value if math.isfinite(value) else None


def _parse_row(path: Path, line: int, cells: dict[str, str], base: int) -> LesionRow:
    p = _RowParser(path, line, cells)
    file_name = p.text('File_name')
    stem, _, slice_part = file_name.removesuffix('.png').rpartition('_')
    if not file_name.endswith('.png') or stem.count('_') != 2 or not slice_part.isdigit():
        raise p.error('File_name', "expected '<patient>_<study>_<series>_<slice>.png'")

    coarse_type = p.integer('Coarse_lesion_type')
    if coarse_type != UNLABELLED_TYPE and not 1 <= coarse_type <= len(COARSE_LESION_TYPES):
        raise p.error('Coarse_lesion_type', 'expected 1..8 or -1')
    split_code = p.integer('Train_Val_Test')
    if split_code not in SPLIT_CODES:
        raise p.error('Train_Val_Test', 'expected 1 (train), 2 (val) or 3 (test)')
    noisy = p.integer('Possibly_noisy')
    if noisy not in (0, 1):
        raise p.error('Possibly_noisy', 'expected 0 or 1')

    slice_range = p.integers('Slice_range', 2)
    if slice_range[0] > slice_range[1]:
        # Read as given, every neighbour would be clamped to the key slice.
        raise p.error('Slice_range', 'expected the first slice index <= the last one')
    image_size = p.integers('Image_size', 2)
    window = p.numbers('DICOM_windows', 2)
    spacing = p.numbers('Spacing_mm_px_', 3)
    if min(spacing) < MIN_SPACING_MM:
        raise p.error('Spacing_mm_px_', f'expected spacings of at least {MIN_SPACING_MM} mm')
    if min(image_size) < 1:
        raise p.error('Image_size', 'expected a positive size in pixels')
    diameters = p.numbers('Lesion_diameters_Pixel_', 2)
    if min(diameters) < 0:
        raise p.error('Lesion_diameters_Pixel_', 'expected lengths >= 0 in pixels')
    age = p.optional_number('Patient_age')
    if age is not None and age < 0:
        raise p.error('Patient_age', 'expected an age >= 0 in years, or an empty cell')
    gender = p.text('Patient_gender')
    key_slice_index = p.integer('Key_slice_index')
    if key_slice_index != int(slice_part):
        # The neighbours would be taken around the wrong slice.
        raise p.error(
            'Key_slice_index', f'the File_name {file_name!r} names slice {int(slice_part)}'
        )
    return LesionRow(
        file_name=file_name,
        patient_index=p.integer('Patient_index'),
        study_index=p.integer('Study_index'),
        series_id=p.integer('Series_ID'),
        key_slice_index=key_slice_index,
        recist_px=p.pixel_coordinates('Measurement_coordinates', 8, base),
        bbox_px=p.pixel_coordinates('Bounding_boxes', 4, base),  # type: ignore[arg-type]
        diameters_px=diameters,  # type: ignore[arg-type]
        normalized_location=p.numbers('Normalized_lesion_location', 3),  # type: ignore[arg-type]
        coarse_type=coarse_type,
        possibly_noisy=bool(noisy),
        slice_range=slice_range,  # type: ignore[arg-type]
        spacing_mm=spacing,  # type: ignore[arg-type]
        image_size=image_size,  # type: ignore[arg-type]
        dicom_window_hu=window,  # type: ignore[arg-type]
        gender=gender if gender in ('M', 'F') else '',
        age_years=age,
        split=SPLIT_CODES[split_code],
        line=line,
    )


def read_dl_info(
    path: str | Path, coordinate_base: int = RELEASE_COORDINATE_BASE
) -> list[LesionRow]:
    """Parse ``DL_info.csv`` into one :class:`LesionRow` per lesion, in file order.

    Args:
        path: the CSV file as released (header line, then one row per lesion).
        coordinate_base: index of the first pixel in the file's ``Measurement_coordinates`` and
            ``Bounding_boxes``: 1 for the release (subtracted, so that the rows hold 0-based
            pixels), 0 to take the cells as they stand.

    Raises:
        FileNotFoundError: the file does not exist.
        DLInfoError: a column is missing (named), a cell is malformed (line and column named),
            or the file is not a UTF-8 CSV.
    """
    _check_base(coordinate_base)
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f'DeepLesion annotation file not found: {path}')
    try:
        return _read_rows(path, coordinate_base)
    except (UnicodeDecodeError, csv.Error) as error:
        raise DLInfoError(f'{path}: not a UTF-8 CSV file ({error})') from error


def _check_base(coordinate_base: int) -> None:
    if coordinate_base not in COORDINATE_BASES:
        raise ValueError(
            f'coordinate_base must be 1 (the DeepLesion release) or 0, got {coordinate_base!r}'
        )


def _read_rows(path: Path, base: int) -> list[LesionRow]:
    with path.open(newline='', encoding='utf-8-sig') as f:
        reader = csv.reader(f)
        header = [h.strip() for h in next(reader, [])]
        missing = [c for c in DL_INFO_COLUMNS if c not in header]
        if missing:
            raise DLInfoError(f'{path}: missing column(s) {missing}; found {header}')
        index = {name: header.index(name) for name in DL_INFO_COLUMNS}
        rows = []
        for line, record in enumerate(reader, start=2):
            if not record or all(not c.strip() for c in record):
                continue
            if len(record) < len(header):
                raise DLInfoError(
                    f'{path}: line {line}: expected {len(header)} cells, got {len(record)}'
                )
            if len(record) > len(header):
                raise DLInfoError(_too_many_cells(path, line, header, record))
            cells = {name: record[i] for name, i in index.items()}
            rows.append(_parse_row(path, line, cells, base))
    return rows


#: Vector-valued columns and how many numbers each holds.
_VECTOR_SIZES = {
    'Measurement_coordinates': 8,
    'Bounding_boxes': 4,
    'Lesion_diameters_Pixel_': 2,
    'Normalized_lesion_location': 3,
    'Slice_range': 2,
    'Spacing_mm_px_': 3,
    'Image_size': 2,
    'DICOM_windows': 2,
}


def _too_many_cells(path: Path, line: int, header: list[str], record: list[str]) -> str:
    """The message for a row with more cells than the header: it names the first vector column
    whose cell holds too few numbers, i.e. whose quotes are missing so that its numbers spilled
    into the next cells."""
    problem = f'{path}: line {line}: expected {len(header)} cells, got {len(record)}'
    for i, name in enumerate(header):
        size = _VECTOR_SIZES.get(name)
        if size and len(record[i].split(',')) < size:
            return (
                f'{problem}: column {name!r} holds {record[i]!r}, not {size} numbers; its cell '
                f'is probably not quoted (write "{", ".join(["n"] * size)}" in quotes)'
            )
    return problem + ' (a vector cell without quotes?)'


def drop_duplicate_rows(rows: Sequence[LesionRow]) -> tuple[list[LesionRow], list[LesionRow]]:
    """Drop rows identical to an earlier one in every column (only the line differs).

    A repeated row would be a second ground-truth box on the same lesion: one of the two can
    never be matched, so a perfect detector's AP halves.

    Returns:
        The kept rows (first occurrences, in order) and the dropped repeats.
    """
    kept, dropped, seen = [], [], set()
    for row in rows:
        key = replace(row, line=0)
        if key in seen:
            dropped.append(row)
            continue
        seen.add(key)
        kept.append(row)
    return kept, dropped


@dataclass(frozen=True)
class BoxRepairs:
    """What :func:`fit_boxes_to_images` changed: boxes clipped to the image, boxes dropped."""

    clipped: int
    dropped: int
    #: ``File_name``s of the dropped rows (zero area inside the image).
    dropped_files: tuple[str, ...]

    def describe(self, source: str | Path) -> str:
        shown = first_items(self.dropped_files)
        parts = []
        if self.clipped:
            parts.append(f'{self.clipped} box(es) reaching outside the image were clipped to it')
        if self.dropped:
            parts.append(f'{self.dropped} box(es) of zero area were dropped ({shown})')
        return f'{source}: ' + '; '.join(parts)


def fit_boxes_to_images(rows: Sequence[LesionRow]) -> tuple[list[LesionRow], BoxRepairs]:
    """Clip every box to its row's ``Image_size`` and drop boxes left without area.

    A box is clipped to ``[0, width] x [0, height]`` pixels; a box with ``x2 <= x1`` or
    ``y2 <= y1`` after clipping (degenerate in the file, or wholly outside the image) is dropped.

    Returns:
        The kept rows (in order, clipped where needed) and the counts of what changed.
    """
    kept, clipped, dropped = [], 0, []
    for row in rows:
        height, width = row.image_size
        x1, y1, x2, y2 = row.bbox_px
        box = (min(max(x1, 0.0), width), min(max(y1, 0.0), height))
        box += (min(max(x2, 0.0), width), min(max(y2, 0.0), height))
        if box[2] <= box[0] or box[3] <= box[1]:
            dropped.append(row.file_name)
            continue
        if box != row.bbox_px:
            clipped += 1
            row = replace(row, bbox_px=box)
        kept.append(row)
    return kept, BoxRepairs(clipped, len(dropped), tuple(dropped))


def _join(values: Iterable[float], fmt: str = '{:.6g}') -> str:
    return ', '.join(fmt.format(v) for v in values)


def _join_coordinates(values: Iterable[float], base: int) -> str:
    """0-based coordinates as the file's ``base``-based text; the shift is added to the
    6-digit decimal text, so that reading with the same base gives back the same floats."""
    if base == 0:
        return _join(values)
    return ', '.join(str(Decimal(f'{v:.6g}') + base) for v in values)


def format_row(row: LesionRow, coordinate_base: int = RELEASE_COORDINATE_BASE) -> list[str]:
    """The 18 CSV cells of ``row``, formatted as in the released ``DL_info.csv`` (pixel
    coordinates written ``coordinate_base``-based, see :func:`read_dl_info`)."""
    split_code = {name: code for code, name in SPLIT_CODES.items()}[row.split]
    return [
        row.file_name,
        str(row.patient_index),
        str(row.study_index),
        str(row.series_id),
        str(row.key_slice_index),
        _join_coordinates(row.recist_px, coordinate_base),
        _join_coordinates(row.bbox_px, coordinate_base),
        _join(row.diameters_px),
        _join(row.normalized_location),
        str(row.coarse_type),
        str(int(row.possibly_noisy)),
        _join(row.slice_range, '{:d}'),
        _join(row.spacing_mm),
        _join(row.image_size, '{:d}'),
        _join(row.dicom_window_hu, '{:g}'),
        row.gender,
        '' if row.age_years is None else f'{row.age_years:g}',
        str(split_code),
    ]


def write_dl_info(
    path: str | Path, rows: Sequence[LesionRow], coordinate_base: int = RELEASE_COORDINATE_BASE
) -> None:
    """Write ``rows`` as a ``DL_info.csv`` that :func:`read_dl_info` and the release's readers
    (pandas, the official scripts) parse alike: header, then one quoted-where-needed row each.
    The rows' 0-based pixel coordinates are written ``coordinate_base``-based (1: as the
    release, so that its authors' loaders read them right)."""
    _check_base(coordinate_base)
    text = io.StringIO(newline='')
    writer = csv.writer(text)
    writer.writerow(DL_INFO_COLUMNS)
    writer.writerows(format_row(r, coordinate_base) for r in rows)
    atomic_write_text(path, text.getvalue())
