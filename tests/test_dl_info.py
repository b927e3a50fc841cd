"""DL_info.csv parsing: the real release's quirks (its error paths: test_robustness.py)."""

import csv

import pytest
from conftest import REAL_STYLE_ROWS, write_csv

from mmlesion.datasets.dl_info import DL_INFO_COLUMNS, format_row, read_dl_info, write_dl_info


def test_parses_real_style_rows(tmp_path):
    rows = read_dl_info(write_csv(tmp_path, REAL_STYLE_ROWS))
    assert len(rows) == 4
    first, second, unlabelled, border = rows
    assert first.file_name == second.file_name == '000001_01_01_109.png'
    assert first.series_folder == '000001_01_01'
    assert first.slice_file == '109.png'
    assert first.bbox_px == (226.169, 90.0204, 241.252, 111.977)
    assert first.recist_px[:2] == (233.537, 95.0204)
    assert first.spacing_mm == (0.488281, 0.488281, 5.0)
    assert first.slice_interval_mm == 5.0
    assert first.coarse_type_name == 'mediastinum'
    assert first.split == 'test'
    assert second.possibly_noisy and second.coarse_type_name == 'liver'
    assert unlabelled.coarse_type == -1 and unlabelled.coarse_type_name == 'unlabelled'
    assert unlabelled.dicom_window_hu == (-1500.0, 500.0)
    assert unlabelled.age_years is None
    assert unlabelled.slice_interval_mm == 1.0
    assert border.bbox_px == (395.0, 395.0, 511.0, 511.0)
    assert border.split == 'val' and border.slice_interval_mm == 2.0
    assert [r.line for r in rows] == [2, 3, 4, 5]


def test_write_then_read_round_trip(tmp_path):
    rows = read_dl_info(write_csv(tmp_path, REAL_STYLE_ROWS))
    out = tmp_path / 'again.csv'
    write_dl_info(out, rows)
    again = read_dl_info(out)
    strip = [r.__class__(**{**r.__dict__, 'line': 0}) for r in rows]
    assert [r.__class__(**{**r.__dict__, 'line': 0}) for r in again] == strip
    with out.open() as f:
        assert next(csv.reader(f)) == list(DL_INFO_COLUMNS)


def test_cells_are_formatted_like_the_release(tmp_path):
    row = read_dl_info(write_csv(tmp_path, REAL_STYLE_ROWS))[0]
    cells = format_row(row)
    assert cells[DL_INFO_COLUMNS.index('Bounding_boxes')] == '226.169, 90.0204, 241.252, 111.977'
    assert cells[DL_INFO_COLUMNS.index('Spacing_mm_px_')] == '0.488281, 0.488281, 5'
    assert cells[DL_INFO_COLUMNS.index('Slice_range')] == '103, 115'
    assert cells[DL_INFO_COLUMNS.index('DICOM_windows')] == '-175, 275'


def test_missing_file_is_named(tmp_path):
    with pytest.raises(FileNotFoundError, match=r'nowhere\.csv'):
        read_dl_info(tmp_path / 'nowhere.csv')


def test_full_size_table_parses(tmp_path):
    # The release's 32,735 rows (speed: tools/analysis_tools/benchmark_dl_info.py).
    rows = [REAL_STYLE_ROWS[i % 4] for i in range(32_735)]
    parsed = read_dl_info(write_csv(tmp_path, rows))
    assert len(parsed) == 32_735
    assert parsed[-1].line == 32_736
