"""Checking a downloaded DeepLesion: zip MD5s and the unzipped layout."""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from mmlesion.datasets.release_check import check_layout, check_zips, read_md5_list

ROOT = Path(__file__).resolve().parents[1]


def test_md5_list_in_either_column_order(tmp_path):
    a, b = 'a' * 32, 'B' * 32
    listing = tmp_path / 'md5.txt'
    listing.write_text(f'{a}  Images_png_01.zip\nImages_png_02.zip {b}\nsome header line\n')
    assert read_md5_list(listing) == {'Images_png_01.zip': a, 'Images_png_02.zip': b.lower()}


def test_md5_list_without_entries_is_refused(tmp_path):
    listing = tmp_path / 'md5.txt'
    listing.write_text('nothing here\n')
    with pytest.raises(ValueError, match=r'md5\.txt'):
        read_md5_list(listing)


def test_zips_ok_missing_and_corrupt(tmp_path):
    good, bad = tmp_path / 'Images_png_01.zip', tmp_path / 'Images_png_02.zip'
    good.write_bytes(b'good part')
    bad.write_bytes(b'truncated')
    listing = tmp_path / 'md5.txt'
    listing.write_text(
        f'{hashlib.md5(b"good part").hexdigest()}  Images_png_01.zip\n'
        f'{hashlib.md5(b"the whole part").hexdigest()}  Images_png_02.zip\n'
        f'{"0" * 32}  Images_png_03.zip\n'
    )
    result = check_zips(tmp_path, listing)
    assert (result.ok, result.corrupt, result.missing) == (
        ['Images_png_01.zip'],
        ['Images_png_02.zip'],
        ['Images_png_03.zip'],
    )
    assert not result.passed


def test_layout_of_a_complete_set_passes(data_root):
    result = check_layout(data_root)
    assert result.passed, result
    assert result.num_rows >= result.num_key_slices > 0 and result.num_series > 0


def test_layout_names_missing_series_key_slices_and_gaps(data_root, tmp_path):
    root = tmp_path / 'copy'
    shutil.copytree(data_root, root)
    folders = sorted(p for p in (root / 'Images_png').iterdir())
    shutil.rmtree(folders[0])
    rows = (root / 'DL_info.csv').read_text().splitlines()
    key = rows[1].split(',')[0]  # File_name of the first lesion: <series>_<slice>.png
    series, slice_file = key.rsplit('_', 1)
    target = root / 'Images_png' / series / slice_file
    if target.exists():
        target.unlink()
    result = check_layout(root)
    assert folders[0].name in result.missing_series
    if series != folders[0].name:
        assert key in result.missing_key_slices
        assert any(folder == series for folder, _ in result.incomplete_ranges)
    assert not result.passed


def test_tool_exit_status_and_report(data_root, tmp_path):
    tool = [sys.executable, 'tools/dataset_converters/check_deeplesion.py']
    ok = subprocess.run(
        [*tool, '--data-root', str(data_root)], cwd=ROOT, capture_output=True, text=True
    )
    assert ok.returncode == 0, ok.stderr
    assert 'passed' in ok.stdout and 'lesions on' in ok.stdout
    root = tmp_path / 'copy'
    shutil.copytree(data_root, root)
    shutil.rmtree(sorted((root / 'Images_png').iterdir())[0])
    failed = subprocess.run(
        [*tool, '--data-root', str(root)], cwd=ROOT, capture_output=True, text=True
    )
    assert failed.returncode == 1
    assert 'series folders missing' in failed.stdout and 'FAILED' in failed.stdout
