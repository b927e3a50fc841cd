"""LoadDeepLesionSlices, HUWindow and RescaleToSpacing on the hand-made DeepLesion tree."""

import numpy as np
import pytest
from conftest import data_item
from mmdet.structures.bbox import HorizontalBoxes
from mmengine.runner import set_random_seed

from mmlesion.datasets.transforms import (
    HUWindow,
    LoadDeepLesionSlices,
    RandomGLCAE,
    RandomLesionCrop,
    RescaleToSpacing,
)


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


def crop_input(boxes, ignore=None, size=256):
    from mmdet.structures.bbox import HorizontalBoxes

    boxes = np.asarray(boxes, dtype=np.float32)
    image = np.arange(size * size, dtype=np.float32).reshape(size, size, 1)
    return {
        'img': np.repeat(image, 3, axis=2),
        'img_shape': (size, size),
        'gt_bboxes': HorizontalBoxes(boxes),
        'gt_bboxes_labels': np.zeros(len(boxes), np.int64),
        'gt_ignore_flags': np.zeros(len(boxes), bool) if ignore is None else np.asarray(ignore),
    }


def test_lesion_crop_holds_the_lesion_and_moves_boxes_with_the_image():
    set_random_seed(0)  # seeds numpy's global state, as the Runner does
    crop = RandomLesionCrop(crop_size=(64, 96), lesion_prob=1.0)
    for _ in range(20):
        out = crop(crop_input([[100.0, 120.0, 130.0, 140.0]]))
        assert out['img'].shape == (64, 96, 3) and out['img_shape'] == (64, 96)
        (box,) = out['gt_bboxes'].numpy()
        assert box[2] - box[0] == 30 and box[3] - box[1] == 20  # whole, not clipped
        # The pixel values tell where the window was cut: value = y * 256 + x.
        y0, x0 = divmod(int(out['img'][0, 0, 0]), 256)
        np.testing.assert_allclose(box, [100 - x0, 120 - y0, 130 - x0, 140 - y0])


def test_lesion_crop_drops_cut_lesions_and_keeps_labels_aligned():
    set_random_seed(1)  # seeds numpy's global state, as the Runner does
    crop = RandomLesionCrop(crop_size=(64, 64), lesion_prob=1.0, min_visible=0.6)
    boxes = [[10.0, 10.0, 40.0, 40.0], [200.0, 200.0, 230.0, 230.0]]
    for _ in range(20):
        out = crop(crop_input(boxes, ignore=[False, True]))  # only lesion 0 can be chosen
        kept = out['gt_bboxes'].numpy()
        assert len(kept) == len(out['gt_bboxes_labels']) == len(out['gt_ignore_flags'])
        assert len(kept) >= 1 and not out['gt_ignore_flags'][0]
        assert np.all(kept >= 0) and np.all(kept <= 64)


def test_lesion_crop_leaves_a_small_image_alone():
    small = crop_input([[1.0, 1.0, 5.0, 5.0]], size=32)
    out = RandomLesionCrop(crop_size=(64, 64))(small)
    assert out['img'].shape == (32, 32, 3)


def test_random_glcae_enhances_with_drawn_parameters_or_leaves_alone():
    import torch

    from mmlesion.enhancement import glcae

    rng = np.random.default_rng(0)
    image = (rng.random((48, 40, 3)) * 200 + 20).astype(np.float32)
    set_random_seed(0)
    transform = RandomGLCAE(prob=0.5, clip_range=(2.0, 3.0), grid_range=(4.0, 6.0))
    outcomes = []
    for _ in range(12):
        out = transform({'img': image.copy()})
        clip, grid = out['clahe_clip_limit'], out['clahe_grid_size']
        if clip is None:
            assert grid is None and np.array_equal(out['img'], image)
        else:
            assert 2.0 <= clip <= 3.0 and 4.0 <= grid <= 6.0
            x = torch.from_numpy(image).permute(2, 0, 1)[None] / 255
            expected = glcae(x, clip, grid)[0].permute(1, 2, 0).numpy() * 255
            np.testing.assert_allclose(out['img'], expected, atol=1e-3)
            assert out['img'].shape == image.shape and out['img'].dtype == np.float32
        outcomes.append(clip is None)
    assert any(outcomes) and not all(outcomes)


def test_random_glcae_probability_bounds():
    image = np.full((16, 16, 1), 100.0, np.float32)
    assert RandomGLCAE(prob=0.0)({'img': image})['clahe_clip_limit'] is None
    assert RandomGLCAE(prob=1.0)({'img': image})['clahe_clip_limit'] is not None
    with pytest.raises(ValueError, match='prob'):
        RandomGLCAE(prob=2.0)
