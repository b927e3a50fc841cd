"""DL_info.csv parsing: the real release's quirks (its error paths: test_robustness.py)."""

import csv
from dataclasses import replace

import numpy as np
import pytest
from conftest import REAL_STYLE_ROWS, base_row, write_csv

from mmlesion.datasets import DeepLesionDataset
from mmlesion.datasets.dl_info import (
    DL_INFO_COLUMNS,
    DLInfoError,
    format_row,
    read_dl_info,
    write_dl_info,
)
from mmlesion.datasets.synthetic import SyntheticConfig, assign_splits, generate_dataset
from mmlesion.datasets.synthetic.generator import generate_patient


def test_parses_real_style_rows(tmp_path):
    rows = read_dl_info(write_csv(tmp_path, REAL_STYLE_ROWS))
    assert len(rows) == 4
    first, second, unlabelled, border = rows
    assert first.file_name == second.file_name == '000001_01_01_109.png'
    assert first.series_folder == '000001_01_01'
    assert first.slice_file == '109.png'
    assert first.bbox_px == (225.169, 89.0204, 240.252, 110.977)  # 1-based in the file
    assert first.recist_px[:2] == (232.537, 94.0204)
    assert first.spacing_mm == (0.488281, 0.488281, 5.0)
    assert first.slice_interval_mm == 5.0
    assert first.coarse_type_name == 'mediastinum'
    assert first.split == 'test'
    assert second.possibly_noisy and second.coarse_type_name == 'liver'
    assert unlabelled.coarse_type == -1 and unlabelled.coarse_type_name == 'unlabelled'
    assert unlabelled.dicom_window_hu == (-1500.0, 500.0)
    assert unlabelled.age_years is None
    assert unlabelled.slice_interval_mm == 1.0
    assert border.bbox_px == (394.0, 394.0, 510.0, 510.0)
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
    # The release's 32,735 rows (speed: projects/enhancement_benchmark/tools/benchmark_dl_info.py).
    rows = [REAL_STYLE_ROWS[i % 4] for i in range(32_735)]
    parsed = read_dl_info(write_csv(tmp_path, rows))
    assert len(parsed) == 32_735
    assert parsed[-1].line == 32_736


# --- pixel coordinates: 1-based in the file (the release), 0-based in memory ----------------


def test_release_coordinates_are_read_one_based(tmp_path):
    path = write_csv(tmp_path, REAL_STYLE_ROWS)
    first = read_dl_info(path)[0]
    # 3DCE's and MULAN's loaders subtract 1 from both columns; so does the default.
    assert first.bbox_px == (225.169, 89.0204, 240.252, 110.977)
    assert first.recist_px[:2] == (232.537, 94.0204)
    assert first.diameters_px == (11.9677, 5.10387)  # lengths: no shift
    as_stored = read_dl_info(path, coordinate_base=0)[0]
    assert as_stored.bbox_px == (226.169, 90.0204, 241.252, 111.977)
    assert as_stored.recist_px[:2] == (233.537, 95.0204)


def test_unknown_coordinate_base_is_refused(tmp_path):
    with pytest.raises(ValueError, match='coordinate_base'):
        read_dl_info(write_csv(tmp_path, REAL_STYLE_ROWS), coordinate_base=2)


def test_one_based_write_and_read_give_back_the_zero_based_floats(tmp_path):
    # 3-decimal values across the binade edges (0.999 -> 1.999, 511.5 -> 512.5, ...), where a
    # float subtraction of 1 would not always land on the float the text means.
    rng = np.random.default_rng(0)
    edges = np.array([0.0, 0.999, 1.0, 3.999, 7.5, 15.999, 63.001, 255.999, 511.5, 999.999])
    values = np.round(np.concatenate([edges, rng.uniform(0, 1023, 400)]), 3)
    rows = []
    for i in range(0, len(values) - 3, 4):
        x1, y1, x2, y2 = sorted(values[i : i + 4])
        rows.append(replace(base_row(), bbox_px=(x1, y1, x2 + 1, y2 + 1), image_size=(2048, 2048)))
    one_based, zero_based = tmp_path / 'one.csv', tmp_path / 'zero.csv'
    write_dl_info(one_based, rows)
    write_dl_info(zero_based, rows, coordinate_base=0)
    again = read_dl_info(one_based)
    assert [r.bbox_px for r in again] == [r.bbox_px for r in read_dl_info(zero_based, 0)]
    assert [r.recist_px for r in again] == [r.recist_px for r in rows]
    stored = read_dl_info(one_based, coordinate_base=0)
    np.testing.assert_allclose([r.bbox_px for r in stored], np.add([r.bbox_px for r in again], 1))


def test_synthetic_boxes_in_memory_are_unchanged_by_the_one_based_file(tmp_path):
    """The generator writes 1-based cells like the release; the dataset yields the boxes and
    RECIST points mmlesion yielded when the file was 0-based: the generated values to 6
    significant digits, bit for bit."""
    config = SyntheticConfig(num_patients=3, seed=0, image_size=64)
    generate_dataset(tmp_path / 'data', config)
    splits = assign_splits(config.num_patients, config.seed)
    generated = [
        row
        for index in range(1, config.num_patients + 1)
        for row in generate_patient(tmp_path / 'scratch', config, index, splits[index]).rows
    ]

    def six_digits(values):
        return [float(f'{v:.6g}') for v in values]

    stored = read_dl_info(tmp_path / 'data' / 'DL_info.csv', coordinate_base=0)
    assert min(min(r.bbox_px) for r in stored) >= 1.0  # 1-based, as the release
    assert max(max(r.bbox_px) for r in stored) <= 64.0
    dataset = DeepLesionDataset(
        data_root=str(tmp_path / 'data'),
        ann_file='DL_info.csv',
        data_prefix={'img': 'Images_png/'},
        split=None,
        pipeline=[],
    )
    by_slice = {}
    for row in generated:
        by_slice.setdefault(row.file_name, []).append(row)
    assert len(dataset) == len(by_slice)
    for i in range(len(dataset)):
        item = dataset.get_data_info(i)
        rows = by_slice[item['img_id']]
        assert [inst['bbox'] for inst in item['instances']] == [six_digits(r.bbox_px) for r in rows]
        assert [inst['recist_px'] for inst in item['instances']] == [
            six_digits(r.recist_px) for r in rows
        ]


@pytest.mark.parametrize(
    ('old', 'new', 'column', 'expected'),
    [
        # Reversed: every neighbour would be clamped to the key slice.
        ('"103, 115"', '"115, 103"', 'Slice_range', r'first slice index <= the last'),
        ('"103, 115"', '"103.5, 115"', 'Slice_range', r'expected 2 comma-separated integers'),
        ('"512, 512"', '"512.5, 512"', 'Image_size', r'expected 2 comma-separated integers'),
        ('"11.9677, 5.10387"', '"11.9677, -5.1"', 'Lesion_diameters_Pixel_', r'lengths >= 0'),
        ('F,62,3', 'F,-62,3', 'Patient_age', r'an age >= 0'),
        ('"0.488281, 0.488281, 5"', '"0.488281, 0.488281, 1e-300"', 'Spacing_mm_px_', '0.1 mm'),
        ('"0.488281, 0.488281, 5"', '"0.05, 0.488281, 5"', 'Spacing_mm_px_', '0.1 mm'),
    ],
)
def test_values_no_ct_has_are_refused_naming_the_row(tmp_path, old, new, column, expected):
    bad = REAL_STYLE_ROWS[0].replace(old, new, 1)
    assert bad != REAL_STYLE_ROWS[0]
    path = write_csv(tmp_path, [REAL_STYLE_ROWS[2], bad])
    with pytest.raises(DLInfoError, match=rf"line 3, column '{column}': .*{expected}.*got"):
        read_dl_info(path)


def test_single_slice_range_and_unknown_age_are_fine(tmp_path):
    row = REAL_STYLE_ROWS[0].replace('"103, 115"', '"109, 109"').replace('F,62,3', 'F,,3')
    (parsed,) = read_dl_info(write_csv(tmp_path, [row]))
    assert parsed.slice_range == (109, 109) and parsed.age_years is None
    assert parsed.image_size == (512, 512) and isinstance(parsed.image_size[0], int)
