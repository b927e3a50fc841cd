"""DL_info.csv parsing: the real release's quirks and every documented error."""

import csv

import pytest

from mmlesion.datasets.dl_info import (
    DL_INFO_COLUMNS,
    DLInfoError,
    format_row,
    read_dl_info,
    write_dl_info,
)

HEADER = ','.join(DL_INFO_COLUMNS)
# Rows in the release's own formatting: two lesions on one slice (duplicate File_name), an
# unlabelled (-1) train row, a lung window, z spacing 1/2/5 mm, a box touching the border,
# a missing age.
REAL_STYLE_ROWS = [
    '000001_01_01_109.png,1,1,1,109,"233.537, 95.0204, 234.057, 106.977, 231.169, 101.605, '
    '236.252, 101.143","226.169, 90.0204, 241.252, 111.977","11.9677, 5.10387",'
    '"0.44666, 0.283794, 0.434454",3,0,"103, 115","0.488281, 0.488281, 5","512, 512",'
    '"-175, 275",F,62,3',
    '000001_01_01_109.png,1,1,1,109,"300.1, 200.2, 320.3, 210.4, 310.0, 200.0, 309.0, 212.0",'
    '"295.1, 195.2, 325.3, 217","22.1, 12.3","0.6, 0.4, 0.43",4,1,"103, 115",'
    '"0.488281, 0.488281, 5","512, 512","-175, 275",F,62,3',
    '000002_02_01_040.png,2,2,1,40,"10, 20, 30, 40, 15, 35, 25, 25","0, 15, 35, 45",'
    '"28.28, 14.14","0.1, 0.2, 0.3",-1,0,"30, 50","0.7, 0.7, 1","512, 512","-1500, 500",M,,1',
    '000003_01_02_012.png,3,1,2,12,"400, 400, 420, 420, 405, 415, 415, 405",'
    '"395, 395, 511, 511","28.3, 14.1","0.8, 0.8, 0.9",1,0,"5, 20","0.8, 0.8, 2","512, 512",'
    '"-500, 1300",M,71,2',
]


def write_csv(tmp_path, rows, header=HEADER):
    path = tmp_path / 'DL_info.csv'
    path.write_text('\n'.join([header, *rows]) + '\n')
    return path


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


def test_missing_column_is_named(tmp_path):
    header = HEADER.replace(',Bounding_boxes', '')
    with pytest.raises(DLInfoError, match='Bounding_boxes'):
        read_dl_info(write_csv(tmp_path, [], header=header))


@pytest.mark.parametrize(
    ('old', 'new', 'column'),
    [
        ('"226.169, 90.0204, 241.252, 111.977"', '"226.169, 90.0204, 241.252"', 'Bounding_boxes'),
        ('"226.169, 90.0204, 241.252, 111.977"', '"226.169, x, 241.252, 1"', 'Bounding_boxes'),
        (',3,0,"103', ',9,0,"103', 'Coarse_lesion_type'),
        ('F,62,3', 'F,62,4', 'Train_Val_Test'),
        ('"0.488281, 0.488281, 5"', '"0.488281, 0, 5"', 'Spacing_mm_px_'),
        ('000001_01_01_109.png,1', '000001_01_109.png,1', 'File_name'),
        (',109,"233', ',10.5,"233', 'Key_slice_index'),
    ],
)
def test_malformed_cell_names_line_and_column(tmp_path, old, new, column):
    bad = REAL_STYLE_ROWS[0].replace(old, new, 1)
    assert bad != REAL_STYLE_ROWS[0]
    path = write_csv(tmp_path, [REAL_STYLE_ROWS[2], bad])
    with pytest.raises(DLInfoError, match=f"line 3, column '{column}'"):
        read_dl_info(path)


def test_missing_file_is_named(tmp_path):
    with pytest.raises(FileNotFoundError, match=r'nowhere\.csv'):
        read_dl_info(tmp_path / 'nowhere.csv')


def test_full_size_table_parses(tmp_path):
    # The release's 32,735 rows (speed: tools/analysis_tools/benchmark_dl_info.py).
    rows = [REAL_STYLE_ROWS[i % 4] for i in range(32_735)]
    parsed = read_dl_info(write_csv(tmp_path, rows))
    assert len(parsed) == 32_735
    assert parsed[-1].line == 32_736
