"""Checking a downloaded DeepLesion: the zip parts against their MD5 list, then the unzipped
layout against ``DL_info.csv``.

The release is ``DL_info.csv`` plus ``Images_png_01.zip`` ... ``Images_png_56.zip``; unzipped into
one folder they give ``Images_png/<patient>_<study>_<series>/<slice:03d>.png``, the layout
:class:`~mmlesion.datasets.DeepLesionDataset` reads. Neither check decodes an image.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from .dl_info import read_dl_info

_MD5_LINE = re.compile(r'\b([0-9a-fA-F]{32})\b')
_ZIP_NAME = re.compile(r'([\w.-]+\.zip)\b')


def read_md5_list(path: str | Path) -> dict[str, str]:
    """``{zip file name: md5 hex digest}`` from a checksum list.

    Each line holding a 32-digit hex digest and a ``*.zip`` name counts, in either order
    (``md5sum``'s ``DIGEST  NAME`` and ``NAME DIGEST`` alike); other lines are skipped.

    Raises:
        ValueError: no line of the file names a zip file with its digest.
    """
    path = Path(path)
    digests = {}
    for line in path.read_text(errors='replace').splitlines():
        digest, name = _MD5_LINE.search(line), _ZIP_NAME.search(line)
        if digest and name:
            digests[Path(name.group(1)).name] = digest.group(1).lower()
    if not digests:
        raise ValueError(f'{path}: no line holds an MD5 digest and a .zip file name')
    return digests


def file_md5(path: str | Path, chunk_bytes: int = 1 << 22) -> str:
    """The MD5 hex digest of a file, read in chunks of ``chunk_bytes``."""
    digest = hashlib.md5(usedforsecurity=False)
    with open(path, 'rb') as f:
        while chunk := f.read(chunk_bytes):
            digest.update(chunk)
    return digest.hexdigest()


@dataclass
class ZipCheck:
    """What :func:`check_zips` found: each listed zip is ok, missing or corrupt."""

    ok: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    corrupt: list[str] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return not (self.missing or self.corrupt)


def check_zips(
    zip_dir: str | Path,
    md5_list: str | Path,
    progress: Callable[[Iterable], Iterable] = iter,
) -> ZipCheck:
    """Compare every zip named in ``md5_list`` with the file of that name in ``zip_dir``.

    Args:
        progress: wraps the loop over the zips (e.g. ``tqdm``); each is read once, whole.
    """
    result = ZipCheck()
    for name, expected in progress(sorted(read_md5_list(md5_list).items())):
        path = Path(zip_dir) / name
        if not path.is_file():
            result.missing.append(name)
        elif file_md5(path) != expected:
            result.corrupt.append(name)
        else:
            result.ok.append(name)
    return result


@dataclass
class LayoutCheck:
    """What :func:`check_layout` found under ``Images_png/``."""

    num_rows: int = 0
    num_key_slices: int = 0
    num_series: int = 0
    missing_series: list[str] = field(default_factory=list)
    missing_key_slices: list[str] = field(default_factory=list)
    #: ``(series folder, first missing slice file)`` of series whose ``Slice_range`` has gaps.
    incomplete_ranges: list[tuple[str, str]] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return not (self.missing_series or self.missing_key_slices or self.incomplete_ranges)


def check_layout(
    data_root: str | Path,
    ann_file: str = 'DL_info.csv',
    image_dir: str = 'Images_png',
    progress: Callable[[Iterable], Iterable] = iter,
) -> LayoutCheck:
    """Check that every slice ``DL_info.csv`` needs is where the dataset reads it.

    For each series: its folder, each key slice, and every slice of its ``Slice_range`` (the
    neighbours the 2.5D input interpolates between). Reads file names only.
    """
    root = Path(data_root)
    rows = read_dl_info(root / ann_file)
    result = LayoutCheck(num_rows=len(rows), num_key_slices=len({r.file_name for r in rows}))
    by_series: dict[str, list] = {}
    for row in rows:
        by_series.setdefault(row.series_folder, []).append(row)
    result.num_series = len(by_series)
    for folder, series_rows in progress(sorted(by_series.items())):
        series_dir = root / image_dir / folder
        if not series_dir.is_dir():
            result.missing_series.append(folder)
            continue
        present = {p.name for p in series_dir.iterdir()}
        for row in series_rows:
            if row.slice_file not in present and row.file_name not in result.missing_key_slices:
                result.missing_key_slices.append(row.file_name)
        for row in series_rows:
            first, last = row.slice_range
            gap = next(
                (f'{i:03d}.png' for i in range(first, last + 1) if f'{i:03d}.png' not in present),
                None,
            )
            if gap is not None:
                result.incomplete_ranges.append((folder, gap))
                break
    return result
