"""LoadDeepLesionSlices, HUWindow and RescaleToSpacing on the hand-made DeepLesion tree."""

import cv2
import numpy as np
import pytest
from mmdet.structures.bbox import HorizontalBoxes

from mmlesion.datasets import DeepLesionDataset
from mmlesion.datasets.transforms import HUWindow, LoadDeepLesionSlices, RescaleToSpacing


def data_item(root, file_name):
    dataset = DeepLesionDataset(
        data_root=str(root),
        ann_file='DL_info.csv',
        data_prefix={'img': 'Images_png/'},
        split=None,
        pipeline=[],
    )
    for i in range(len(dataset)):
        item = dataset.get_data_info(i)
        if item['img_id'] == file_name:
            return item
    raise KeyError(file_name)


def channel_hu(img):
    """Each test slice is constant (10 HU per slice index): one value per channel."""
    return [float(img[..., c].mean()) for c in range(img.shape[-1])]


def test_three_slices_at_2mm_with_2mm_spacing_are_the_direct_neighbours(quirky_deeplesion):
    results = LoadDeepLesionSlices(num_slices=3)(
        data_item(quirky_deeplesion, '000001_01_01_010.png')
    )
    assert results['img'].dtype == np.float32
    assert results['img'].shape == (64, 64, 3)
    assert channel_hu(results['img']) == pytest.approx([90.0, 100.0, 110.0])
    assert results['img_shape'] == results['ori_shape'] == (64, 64)
    assert results['scale_factor'] == (1.0, 1.0)


def test_5mm_spacing_interpolates_between_stored_slices(quirky_deeplesion):
    # 2 mm from the key slice = 0.4 slices: 0.6 * slice 5 + 0.4 * slice 4 (or 6).
    results = LoadDeepLesionSlices(num_slices=3)(
        data_item(quirky_deeplesion, '000002_01_01_005.png')
    )
    assert channel_hu(results['img']) == pytest.approx([46.0, 50.0, 54.0])


def test_1mm_spacing_skips_a_slice_and_series_start_replicates(quirky_deeplesion):
    # Key slice 3 is the first stored slice: slice 1 does not exist, slice 3 is replicated.
    results = LoadDeepLesionSlices(num_slices=3)(
        data_item(quirky_deeplesion, '000003_02_01_003.png')
    )
    assert channel_hu(results['img']) == pytest.approx([30.0, 30.0, 50.0])


def test_missing_neighbour_uses_nearest_stored_slice(quirky_deeplesion):
    # Slice 19 is missing on disk: 2 slices below key 20 is 18 (present); with 5 slices at
    # 1 mm, the neighbour 1 mm below (19) falls back to 20, the nearest towards the key.
    results = LoadDeepLesionSlices(num_slices=5, slice_interval_mm=1.0)(
        data_item(quirky_deeplesion, '000003_02_02_020.png')
    )
    assert channel_hu(results['img']) == pytest.approx([180.0, 200.0, 200.0, 210.0, 220.0])


def test_single_slice(quirky_deeplesion):
    results = LoadDeepLesionSlices(num_slices=1)(
        data_item(quirky_deeplesion, '000001_01_01_010.png')
    )
    assert results['img'].shape == (64, 64, 1)


def test_missing_key_slice_names_the_file(quirky_deeplesion):
    item = data_item(quirky_deeplesion, '000001_01_01_010.png')
    (quirky_deeplesion / 'Images_png' / '000001_01_01' / '010.png').unlink()
    with pytest.raises(FileNotFoundError, match=r'000001_01_01/010\.png'):
        LoadDeepLesionSlices()(item)


def test_8bit_png_is_refused(quirky_deeplesion):
    item = data_item(quirky_deeplesion, '000001_01_01_010.png')
    cv2.imwrite(item['img_path'], np.zeros((64, 64), np.uint8))
    with pytest.raises(ValueError, match='expected a 16-bit single-channel PNG'):
        LoadDeepLesionSlices()(item)


def test_size_differing_from_image_size_is_refused(quirky_deeplesion):
    item = data_item(quirky_deeplesion, '000001_01_01_010.png')
    cv2.imwrite(item['img_path'], np.full((32, 64), 32768, np.uint16))
    with pytest.raises(ValueError, match='Image_size says 64x64'):
        LoadDeepLesionSlices()(item)


@pytest.mark.parametrize('num_slices', [0, 2, -1])
def test_num_slices_must_be_odd_positive(num_slices):
    with pytest.raises(ValueError, match='odd'):
        LoadDeepLesionSlices(num_slices=num_slices)


def test_hu_window_maps_linearly_and_clips():
    hu = np.array([[-2000.0, -1024.0, 1023.5, 3071.0, 5000.0]], np.float32)[..., None]
    out = HUWindow(windows=[(-1024, 3071)])({'img': hu})['img']
    assert out.dtype == np.float32
    assert out[0, :, 0] == pytest.approx([0.0, 0.0, 127.5, 255.0, 255.0], abs=1e-3)


def test_multi_window_channels_are_window_major():
    hu = np.stack([np.full((2, 2), -500.0), np.full((2, 2), 0.0)], axis=-1).astype(np.float32)
    out = HUWindow(windows=[(-1000, 0), (-100, 100)])({'img': hu})['img']
    assert out.shape == (2, 2, 4)
    assert out[0, 0] == pytest.approx([127.5, 255.0, 0.0, 127.5])


def test_dicom_window():
    hu = np.full((2, 2, 1), 50.0, np.float32)
    results = HUWindow(use_dicom_window=True)({'img': hu, 'dicom_window': (-175.0, 275.0)})
    assert results['img'][0, 0, 0] == pytest.approx(255 * 225 / 450)
    assert results['hu_windows'] == [(-175.0, 275.0)]


def test_bad_window_is_refused():
    with pytest.raises(ValueError, match='low < high'):
        HUWindow(windows=[(100, -100)])


def test_rescale_to_spacing_scales_image_and_boxes():
    results = {
        'img': np.zeros((100, 200, 3), np.float32),
        'spacing_mm': (0.4, 0.4, 5.0),
        'gt_bboxes': HorizontalBoxes(np.array([[10.0, 20.0, 30.0, 40.0]], np.float32)),
    }
    out = RescaleToSpacing(target_spacing_mm=0.8)(results)
    assert out['img'].shape == (50, 100, 3)
    assert out['scale_factor'] == pytest.approx((0.5, 0.5))
    assert out['gt_bboxes'].tensor.numpy() == pytest.approx(np.array([[5.0, 10.0, 15.0, 20.0]]))
    assert out['spacing_mm'] == (0.4, 0.4, 5.0)  # still the original pixels'
    assert out['img_spacing_mm'] == pytest.approx((0.8, 0.8, 5.0))


def test_rescale_to_spacing_composes_with_an_earlier_scale():
    results = {
        'img': np.zeros((50, 50, 1), np.float32),
        'spacing_mm': (0.4, 0.4, 1.0),
        'scale_factor': (0.5, 0.5),
    }
    # The current image is already at 0.8 mm/px: nothing to do, and the total scale stays.
    out = RescaleToSpacing(target_spacing_mm=0.8)(results)
    assert out['img'].shape == (50, 50, 1)
    assert out['scale_factor'] == pytest.approx((0.5, 0.5))
