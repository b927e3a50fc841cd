"""Hard failure modes, one by one: each gets a clear error or a documented, logged recovery.

DL_info.csv: missing column, malformed number or box (row and column named), box outside the
image (clipped, counted), zero-area box (dropped, counted), unknown split value, and a fuzz test
of the parser. Images: missing key slice, missing neighbour slices, 8-bit or RGB PNG,
unreadable file, size different from Image_size. Model: regressor NaN/Inf, detector checkpoint
that does not fit, checkpoint path that does not exist, an enhancer checkpoint that does not
fit, and resuming an interrupted enhancer training.
"""

from __future__ import annotations

import csv
import io

import cv2
import numpy as np
import pytest
import torch
from conftest import (
    DEMO_CONFIGS,
    DEMO_ENHANCER,
    REAL_STYLE_ROWS,
    data_item,
    dl_info_header,
    enhancer_options,
    tiny_detector_config,
    tiny_enhancer_config,
    train_in_process,
    write_csv,
)
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from mmdet.registry import MODELS
from mmengine.hooks import Hook
from mmengine.registry import HOOKS

from mmlesion.datasets import DeepLesionDataset, DLInfoError, read_dl_info
from mmlesion.datasets.dl_info import DL_INFO_COLUMNS, fit_boxes_to_images
from mmlesion.datasets.transforms import LoadDeepLesionSlices, read_deeplesion_png
from mmlesion.models import CLAHEParamRegressor
from mmlesion.models.regressors import load_regressor_weights
from mmlesion.utils import register_all_modules

register_all_modules()


# -- DL_info.csv ------------------------------------------------------------------------------
def test_missing_column_is_named(tmp_path):
    header = dl_info_header().replace(',Bounding_boxes', '')
    with pytest.raises(DLInfoError, match='Bounding_boxes'):
        read_dl_info(write_csv(tmp_path, [], header=header))


@pytest.mark.parametrize(
    ('old', 'new', 'column'),
    [
        ('"226.169, 90.0204, 241.252, 111.977"', '"226.169, 90.0204, 241.252"', 'Bounding_boxes'),
        ('"226.169, 90.0204, 241.252, 111.977"', '"226.169, x, 241.252, 1"', 'Bounding_boxes'),
        (',3,0,"103', ',9,0,"103', 'Coarse_lesion_type'),
        ('F,62,3', 'F,62,4', 'Train_Val_Test'),  # unknown split value
        ('"0.488281, 0.488281, 5"', '"0.488281, 0, 5"', 'Spacing_mm_px_'),
        ('000001_01_01_109.png,1', '000001_01_109.png,1', 'File_name'),
        (',109,"233', ',10.5,"233', 'Key_slice_index'),
        ('"512, 512"', '"512, abc"', 'Image_size'),
    ],
)
def test_malformed_cell_names_line_and_column(tmp_path, old, new, column):
    bad = REAL_STYLE_ROWS[0].replace(old, new, 1)
    assert bad != REAL_STYLE_ROWS[0]
    path = write_csv(tmp_path, [REAL_STYLE_ROWS[2], bad])
    with pytest.raises(DLInfoError, match=f"line 3, column '{column}'"):
        read_dl_info(path)


def test_row_with_missing_cells_names_its_line(tmp_path):
    path = write_csv(tmp_path, [REAL_STYLE_ROWS[2], 'only,three,cells'])
    with pytest.raises(DLInfoError, match='line 3: expected 18 cells, got 3'):
        read_dl_info(path)


def test_file_that_is_not_text_is_a_dl_info_error(tmp_path):
    path = tmp_path / 'DL_info.csv'
    path.write_bytes(dl_info_header().encode() + b'\n\xff\xfe\x00garbage\n')
    with pytest.raises(DLInfoError, match='not a UTF-8 CSV'):
        read_dl_info(path)


def test_boxes_outside_the_image_are_clipped_and_zero_area_ones_dropped(tmp_path):
    rows = [
        # Reaches past the right and bottom edges of the 512 x 512 image: clipped.
        REAL_STYLE_ROWS[3].replace('"395, 395, 511, 511"', '"395, 395, 530, 600"'),
        # Negative coordinates: clipped at 0.
        REAL_STYLE_ROWS[2],
        # Degenerate in the file: x2 == x1. Dropped.
        REAL_STYLE_ROWS[0].replace(
            '"226.169, 90.0204, 241.252, 111.977"', '"226.169, 90.0204, 226.169, 111.977"'
        ),
        # Wholly outside the image: zero area once clipped. Dropped.
        REAL_STYLE_ROWS[1].replace('"295.1, 195.2, 325.3, 217"', '"600, 195.2, 640, 217"'),
    ]
    parsed = read_dl_info(write_csv(tmp_path, rows), coordinate_base=0)
    kept, repairs = fit_boxes_to_images(parsed)
    assert (repairs.clipped, repairs.dropped) == (1, 2)
    assert [r.bbox_px for r in kept] == [(395.0, 395.0, 512.0, 512.0), (0.0, 15.0, 35.0, 45.0)]
    assert repairs.dropped_files == ('000001_01_01_109.png', '000001_01_01_109.png')


def test_dataset_logs_how_many_boxes_it_repaired(quirky_deeplesion, mmengine_log):
    path = quirky_deeplesion / 'DL_info.csv'
    rows = list(csv.reader(io.StringIO(path.read_text())))
    box = DL_INFO_COLUMNS.index('Bounding_boxes')
    rows[1][box] = '15, 20, 90, 40'  # past the 64-pixel edge
    rows[3][box] = '15, 20, 15, 40'  # zero width: its key slice has no other lesion
    with path.open('w', newline='') as f:
        csv.writer(f).writerows(rows)
    dataset = DeepLesionDataset(
        data_root=str(quirky_deeplesion),
        ann_file='DL_info.csv',
        data_prefix={'img': 'Images_png/'},
        split=None,
        pipeline=[],
    )
    [message] = [m for m in mmengine_log if 'box(es)' in m]
    assert message.startswith('WARNING')
    assert '1 box(es) reaching outside the image were clipped' in message
    assert '1 box(es) of zero area were dropped (000001_01_01_012.png)' in message
    ids = [dataset.get_data_info(i)['img_id'] for i in range(len(dataset))]
    assert '000001_01_01_012.png' not in ids  # its only lesion was dropped
    first = dataset.get_data_info(ids.index('000001_01_01_010.png'))
    assert first['instances'][0]['bbox'] == [14.0, 19.0, 64.0, 39.0]  # 1-based cells


_VALID_CELLS = next(csv.reader([REAL_STYLE_ROWS[0]]))
_MANGLED_CELL = st.one_of(
    st.text(max_size=12),
    st.from_regex(r'-?[0-9]{0,4}(\.[0-9]{0,3})?(e[0-9]{1,3})?', fullmatch=True),
    st.lists(st.floats(allow_nan=True, allow_infinity=True), max_size=9).map(
        lambda values: ', '.join(str(v) for v in values)
    ),
    st.sampled_from(['', 'nan', 'inf', '-1', '1e400', ',', ', ,', '000001_01_01_1.png']),
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    changes=st.dictionaries(st.integers(0, len(DL_INFO_COLUMNS) - 1), _MANGLED_CELL, max_size=5),
    drop_cells=st.integers(0, 3),
)
def test_fuzzed_rows_parse_or_raise_the_documented_error(tmp_path_factory, changes, drop_cells):
    cells = list(_VALID_CELLS)
    for column, value in changes.items():
        cells[column] = value
    cells = cells[: len(cells) - drop_cells]
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(DL_INFO_COLUMNS)
    writer.writerow(cells)
    path = tmp_path_factory.mktemp('fuzz') / 'DL_info.csv'
    path.write_text(buffer.getvalue(), encoding='utf-8')
    try:
        rows = read_dl_info(path)
    except DLInfoError as error:
        assert str(path) in str(error)
        return
    # What parses is well-formed: every documented invariant holds.
    for row in rows:
        assert len(row.bbox_px) == 4 and len(row.recist_px) == 8
        assert row.split in ('train', 'val', 'test')
        assert row.coarse_type == -1 or 1 <= row.coarse_type <= 8
        assert min(row.spacing_mm) > 0 and min(row.image_size) >= 1
        assert all(np.isfinite(row.bbox_px))


# -- images -----------------------------------------------------------------------------------
def test_missing_key_slice_names_the_file(quirky_deeplesion):
    item = data_item(quirky_deeplesion, '000001_01_01_010.png')
    (quirky_deeplesion / 'Images_png' / '000001_01_01' / '010.png').unlink()
    with pytest.raises(FileNotFoundError, match=r'000001_01_01/010\.png'):
        LoadDeepLesionSlices()(item)


def test_missing_neighbour_uses_nearest_stored_slice(quirky_deeplesion):
    # Slice 19 is missing on disk: with 5 slices at 1 mm (z spacing 1 mm), the neighbour 1 mm
    # below key 20 falls back to 20, the nearest stored slice towards the key.
    item = data_item(quirky_deeplesion, '000003_02_02_020.png')
    results = LoadDeepLesionSlices(num_slices=5, slice_interval_mm=1.0)(item)
    hu = [float(results['img'][..., c].mean()) for c in range(5)]
    assert hu == pytest.approx([180.0, 200.0, 200.0, 210.0, 220.0])


@pytest.mark.parametrize(
    ('image', 'found'),
    [
        (np.zeros((64, 64), np.uint8), 'uint8 with 1 channel'),
        (np.zeros((64, 64, 3), np.uint16), 'uint16 with 3 channel'),
        (np.zeros((64, 64, 3), np.uint8), 'uint8 with 3 channel'),
    ],
)
def test_png_that_is_not_16_bit_gray_is_refused(quirky_deeplesion, image, found):
    item = data_item(quirky_deeplesion, '000001_01_01_010.png')
    cv2.imwrite(item['img_path'], image)
    with pytest.raises(ValueError, match=f'expected a 16-bit single-channel PNG.*{found}'):
        LoadDeepLesionSlices()(item)


def test_unreadable_file_is_named(tmp_path):
    path = tmp_path / '010.png'
    path.write_bytes(b'\x89PNG\r\n\x1a\n truncated')
    with pytest.raises(ValueError, match=r'cannot decode image .*010\.png'):
        read_deeplesion_png(str(path))


def test_size_differing_from_image_size_is_refused(quirky_deeplesion):
    item = data_item(quirky_deeplesion, '000001_01_01_010.png')
    cv2.imwrite(item['img_path'], np.full((32, 64), 32768, np.uint16))
    with pytest.raises(ValueError, match='Image_size says 64x64'):
        LoadDeepLesionSlices()(item)


# -- models -----------------------------------------------------------------------------------
def test_regressor_nan_falls_back_to_init_params_with_one_warning(recwarn):
    torch.manual_seed(0)
    regressor = CLAHEParamRegressor(input_size=32, base_channels=4)
    with torch.no_grad():
        regressor.embed[0].weight.fill_(float('nan'))
    with pytest.warns(RuntimeWarning, match='NaN/Inf'):
        clip, grid = regressor(torch.rand(2, 1, 32, 32))
    assert torch.allclose(clip, torch.full((2,), 2.0))
    assert torch.allclose(grid, torch.full((2,), 8.0))
    recwarn.clear()
    regressor(torch.rand(2, 1, 32, 32))
    assert not [w for w in recwarn if 'NaN/Inf' in str(w.message)]  # warned once


def test_detector_checkpoint_that_does_not_fit_is_refused(tmp_path):
    other = tiny_detector_config()
    other.roi_head.bbox_head.num_classes = 8
    path = tmp_path / 'other.pth'
    torch.save({'state_dict': MODELS.build(other).state_dict()}, path)
    with pytest.raises(ValueError, match=r'does not fit the detector config: .*shape mismatch'):
        MODELS.build(tiny_enhancer_config(detector_checkpoint=str(path)))


def test_missing_detector_checkpoint_is_named(tmp_path):
    with pytest.raises(FileNotFoundError, match=r'nowhere\.pth'):
        MODELS.build(tiny_enhancer_config(detector_checkpoint=str(tmp_path / 'nowhere.pth')))


def test_enhancer_checkpoint_of_another_regressor_or_a_detector_is_refused(tmp_path):
    wide = CLAHEParamRegressor(input_size=32, base_channels=8)
    path = tmp_path / 'enhancer.pth'
    state = {f'data_preprocessor.regressor.{k}': v for k, v in wide.state_dict().items()}
    torch.save({'state_dict': state}, path)
    with pytest.raises(ValueError, match='does not fit the regressor config'):
        load_regressor_weights(CLAHEParamRegressor(input_size=32, base_channels=4), str(path))
    detector_only = tmp_path / 'detector.pth'
    torch.save({'state_dict': {'backbone.conv1.weight': torch.zeros(1)}}, detector_only)
    with pytest.raises(ValueError, match='holds no regressor weights'):
        load_regressor_weights(wide, str(detector_only))
    with pytest.raises(FileNotFoundError, match=r'nowhere\.pth'):
        load_regressor_weights(wide, str(tmp_path / 'nowhere.pth'))


@HOOKS.register_module(force=True)
class RecordResumeStateHook(Hook):
    """Keeps the epoch and optimizer state the loop starts from (test only)."""

    records: list[dict] = []

    def before_train(self, runner) -> None:
        state = runner.optim_wrapper.state_dict()['state']
        RecordResumeStateHook.records.append(
            {'epoch': runner.epoch, 'exp_avg': {k: v['exp_avg'].clone() for k, v in state.items()}}
        )


def test_interrupted_enhancer_training_resumes_with_its_optimizer_state(
    trained_detector, data_root, tmp_path
):
    config = str(DEMO_CONFIGS / DEMO_ENHANCER)
    work_dir = str(tmp_path / 'enhancer')
    options = {
        **enhancer_options(data_root, trained_detector),
        'custom_hooks': [{'type': 'RecordResumeStateHook'}],
    }
    RecordResumeStateHook.records.clear()
    train_in_process(config, work_dir, options)  # "interrupted" after epoch 1
    saved = torch.load(f'{work_dir}/epoch_1.pth', map_location='cpu', weights_only=False)
    saved_state = saved['optimizer']['state']
    assert saved_state, 'the first run took optimizer steps'

    train_in_process(config, work_dir, {**options, 'train_cfg.max_epochs': 2}, resume='auto')
    fresh, resumed = RecordResumeStateHook.records
    assert fresh['epoch'] == 0 and resumed['epoch'] == 1
    assert resumed['exp_avg'].keys() == saved_state.keys()
    for key, value in saved_state.items():
        assert torch.equal(resumed['exp_avg'][key], value['exp_avg'])
    final = torch.load(f'{work_dir}/epoch_2.pth', map_location='cpu', weights_only=False)
    assert final['meta']['epoch'] == 2


# -- annotation checks: what once gave a silently wrong ground truth -------------------------------
def _rewrite(path, edit) -> None:
    """Apply ``edit(rows)`` to the CSV rows (header first) of ``path``."""
    rows = list(csv.reader(io.StringIO(path.read_text())))
    edit(rows)
    with path.open('w', newline='') as f:
        csv.writer(f).writerows(rows)


def _dataset(root, split=None):
    return DeepLesionDataset(
        data_root=str(root),
        ann_file='DL_info.csv',
        data_prefix={'img': 'Images_png/'},
        split=split,
        pipeline=[],
    )


def test_identical_duplicate_rows_are_dropped_and_counted(quirky_deeplesion, mmengine_log):
    path = quirky_deeplesion / 'DL_info.csv'
    _rewrite(path, lambda rows: rows.extend([rows[1], rows[1], rows[4]]))
    dataset = _dataset(quirky_deeplesion)
    [message] = [m for m in mmengine_log if 'identical to an earlier row' in m]
    assert message.startswith('WARNING') and 'dropped 3 row(s)' in message
    assert 'lines 8, 9, 10' in message
    item = next(
        dataset.get_data_info(i)
        for i in range(len(dataset))
        if dataset.get_data_info(i)['img_id'] == '000001_01_01_010.png'
    )
    assert len(item['instances']) == 2  # not 4: no lesion counted twice


def test_key_slice_index_must_match_the_file_name(tmp_path):
    bad = REAL_STYLE_ROWS[0].replace(',1,1,1,109,', ',1,1,1,108,', 1)
    with pytest.raises(
        DLInfoError, match=r"line 3, column 'Key_slice_index'.*names slice 109 \(got '108'\)"
    ):
        read_dl_info(write_csv(tmp_path, [REAL_STYLE_ROWS[2], bad]))


def test_unquoted_vector_cell_is_named(tmp_path):
    quoted = '"233.537, 95.0204, 234.057, 106.977, 231.169, 101.605, 236.252, 101.143"'
    bad = REAL_STYLE_ROWS[0].replace(quoted, quoted.strip('"'), 1)
    with pytest.raises(
        DLInfoError,
        match=r"line 3: expected 18 cells, got 25: column 'Measurement_coordinates' .*not quoted",
    ):
        read_dl_info(write_csv(tmp_path, [REAL_STYLE_ROWS[2], bad]))


def test_image_size_smaller_than_the_png_is_refused_not_a_dropped_box(quirky_deeplesion):
    size = DL_INFO_COLUMNS.index('Image_size')

    def shrink(rows):
        rows[1][size] = '32, 32'  # the PNG is 64x64; the box reaches x = 45

    _rewrite(quirky_deeplesion / 'DL_info.csv', shrink)
    with pytest.raises(
        ValueError,
        match=r"line 2, column 'Image_size': says 32x32 but .*000001_01_01/010\.png is 64x64",
    ):
        _dataset(quirky_deeplesion)


def test_neighbour_png_of_another_size_is_named(quirky_deeplesion):
    item = data_item(quirky_deeplesion, '000001_01_01_010.png')
    neighbour = quirky_deeplesion / 'Images_png' / '000001_01_01' / '009.png'
    cv2.imwrite(str(neighbour), np.full((48, 64), 32768, np.uint16))
    with pytest.raises(ValueError, match=r'000001_01_01/009\.png .*48x64 .*key slice .*64x64'):
        LoadDeepLesionSlices(num_slices=3, slice_interval_mm=2.0)(item)


def test_empty_split_error_counts_the_rows_of_each_split(quirky_deeplesion):
    split = DL_INFO_COLUMNS.index('Train_Val_Test')

    def all_train(rows):
        for row in rows[1:]:
            row[split] = '1'

    _rewrite(quirky_deeplesion / 'DL_info.csv', all_train)
    counts = r"\{'train': 6, 'val': 0, 'test': 0\}"
    with pytest.raises(ValueError, match=f'Rows per split in the file: {counts}'):
        _dataset(quirky_deeplesion, split='val')
