"""LocalContrastWindow: the windows of HUWindow plus a difference-of-Gaussians view of the HU."""

import numpy as np
import pytest

from mmlesion.datasets.transforms import HUWindow, LocalContrastWindow, local_contrast_hu

WINDOWS = [(-160.0, 240.0), (-1024.0, 1050.0)]


def organ_with_lesion(level_hu: float, delta_hu: float, size: int = 96) -> np.ndarray:
    """A flat organ at ``level_hu`` with a 10-pixel disc ``delta_hu`` from it at the centre,
    ``(size, size, 1)`` float32 HU."""
    yy, xx = np.mgrid[:size, :size]
    disc = (yy - size // 2) ** 2 + (xx - size // 2) ** 2 <= 5**2
    return (level_hu + delta_hu * disc).astype(np.float32)[..., None]


def test_windows_come_first_and_the_local_contrast_is_appended():
    hu = organ_with_lesion(60.0, 20.0)
    out = LocalContrastWindow(windows=WINDOWS)({'img': hu.copy(), 'spacing_mm': (1.0, 1.0, 2.0)})
    windows_only = HUWindow(windows=WINDOWS)({'img': hu.copy()})['img']
    assert out['img'].shape == (96, 96, 3)
    np.testing.assert_array_equal(out['img'][..., :2], windows_only)
    assert out['hu_windows'] == WINDOWS


def test_a_faint_lesion_stands_out_and_the_organ_level_does_not():
    transform = LocalContrastWindow(windows=WINDOWS, half_width_hu=40.0)
    views = [
        transform({'img': organ_with_lesion(level, 15.0), 'spacing_mm': (1.0, 1.0, 2.0)})['img']
        for level in (40.0, 140.0)
    ]
    for view in views:
        local = view[..., 2]
        # far from the lesion: zero local contrast, the window's middle
        assert local[5, 5] == pytest.approx(127.5, abs=0.5)
        # a 15 HU lesion sits tens of levels above it (15 HU of 80 is 48 levels before blurring)
        assert local[48, 48] > 127.5 + 25
    # the organ's level moves the soft-tissue window by 64 levels but not the local contrast
    assert views[1][5, 5, 0] - views[0][5, 5, 0] == pytest.approx(100 * 255 / 400, abs=1e-3)
    np.testing.assert_allclose(views[0][..., 2], views[1][..., 2], atol=1e-3)


def test_blur_widths_are_millimetres_through_the_pixel_spacing():
    hu = organ_with_lesion(60.0, 30.0)
    out = LocalContrastWindow(
        windows=WINDOWS, sigma_fine_mm=2.0, sigma_coarse_mm=8.0, half_width_hu=50.0
    )({'img': hu.copy(), 'spacing_mm': (2.0, 2.0, 5.0)})['img'][..., 2]
    expected = local_contrast_hu(hu, 1.0, 4.0)[..., 0]
    np.testing.assert_allclose(out, np.clip((expected + 50.0) * 2.55, 0, 255), atol=1e-3)


@pytest.mark.parametrize('spacing', [(float('nan'),) * 3, (0.0, 0.0, 5.0)])
def test_an_unknown_spacing_takes_the_blur_widths_in_pixels(spacing):
    # A PNG series given without its spacing (LesionInferencer's NaN) is still enhanced as a
    # missing spacing is: 1 mm a pixel, not an OpenCV error.
    hu = organ_with_lesion(60.0, 30.0)
    transform = LocalContrastWindow(windows=WINDOWS)
    unknown = transform({'img': hu.copy(), 'spacing_mm': spacing})['img']
    missing = transform({'img': hu.copy()})['img']
    np.testing.assert_array_equal(unknown, missing)


def test_each_slice_gets_its_own_local_contrast_channel():
    hu = np.concatenate([organ_with_lesion(60.0, 0.0), organ_with_lesion(60.0, 30.0)], axis=-1)
    out = LocalContrastWindow(windows=WINDOWS)({'img': hu})['img']
    assert out.shape == (96, 96, 6)  # 2 windows x 2 slices, then 2 local-contrast channels
    assert out[48, 48, 4] == pytest.approx(127.5, abs=1e-3)  # the lesion-free slice
    assert out[48, 48, 5] > 150


@pytest.mark.parametrize(
    'kwargs',
    [
        dict(sigma_fine_mm=4.0, sigma_coarse_mm=4.0),
        dict(sigma_fine_mm=-1.0),
        dict(half_width_hu=0.0),
    ],
)
def test_bad_arguments_are_refused(kwargs):
    with pytest.raises(ValueError):
        LocalContrastWindow(windows=WINDOWS, **kwargs)
