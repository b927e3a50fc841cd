"""Clinical CT loading: DICOM files and series, DeepLesion PNGs and series, NIfTI volumes."""

from __future__ import annotations

import math
import warnings

import cv2
import nibabel
import numpy as np
import pydicom
import pytest
from conftest import HU_OFFSET, base_row
from pydicom.data import get_testdata_file
from pydicom.uid import generate_uid

from mmlesion.apis import CTVolume, load_ct_input, load_ct_slice, load_ct_volume
from mmlesion.datasets.dl_info import write_dl_info

CT_SMALL = get_testdata_file('CT_small.dcm')


def ct_small_hu() -> np.ndarray:
    ds = pydicom.dcmread(CT_SMALL)
    return ds.pixel_array.astype(np.float32) * float(ds.RescaleSlope) + float(ds.RescaleIntercept)


def test_dicom_file_gives_hu_and_spacing():
    hu, spacing = load_ct_slice(CT_SMALL)
    assert hu.dtype == np.float32 and hu.shape == (128, 128)
    np.testing.assert_array_equal(hu, ct_small_hu())
    # CT_small: RescaleIntercept -1024, PixelSpacing 0.661468, SliceThickness 5 mm.
    assert hu.min() == pytest.approx(128 - 1024)
    assert spacing == pytest.approx((0.661468, 0.661468, 5.0))


def test_rescale_slope_and_intercept_are_applied(tmp_path):
    ds = pydicom.dcmread(CT_SMALL)
    ds.RescaleSlope, ds.RescaleIntercept = 2, -2048
    ds.PixelSpacing = [0.5, 0.7]  # row spacing, column spacing
    path = tmp_path / 'scaled.dcm'
    ds.save_as(path)
    hu, spacing = load_ct_slice(path)
    np.testing.assert_array_equal(hu, ds.pixel_array.astype(np.float32) * 2 - 2048)
    assert spacing[:2] == pytest.approx((0.7, 0.5))  # (x = columns, y = rows)


def write_series(folder, positions_mm, series_uid=None, names=None):
    """Copies of CT_small at the given slice positions; slice k's pixels are offset by 10 k."""
    folder.mkdir(parents=True, exist_ok=True)
    series_uid = series_uid or generate_uid()
    for k, z in enumerate(positions_mm):
        ds = pydicom.dcmread(CT_SMALL)
        ds.SeriesInstanceUID = series_uid
        ds.SOPInstanceUID = generate_uid()
        ds.ImagePositionPatient = [-158.1, -179.0, float(z)]
        ds.InstanceNumber = 100 - k  # opposite to the position order: must not be used
        ds.PixelData = (ds.pixel_array + np.int16(10 * k)).astype(np.int16).tobytes()
        name = names[k] if names else f'{k:02d}.dcm'
        ds.save_as(folder / name)
    return series_uid


def test_dicom_series_is_sorted_by_position_with_its_slice_distance(tmp_path):
    folder = tmp_path / 'series'
    write_series(folder, [10.0, 0.0, 5.0, 15.0], names=['b', 'a', 'd', 'c'])
    (folder / 'README.txt').write_text('not a DICOM file')
    volume = load_ct_volume(folder)
    assert len(volume) == 4 and volume.spacing_mm == pytest.approx((0.661468, 0.661468, 5.0))
    offsets = [float((volume.hu[i] - ct_small_hu()).mean()) for i in range(4)]
    assert offsets == pytest.approx([10.0, 20.0, 0.0, 30.0])  # z 0, 5, 10, 15
    assert volume.slice_names == ('a', 'd', 'b', 'c')
    hu, _ = load_ct_slice(folder, slice_index=0)
    np.testing.assert_array_equal(hu, volume.hu[0])


def test_folder_with_several_series_needs_a_choice(tmp_path):
    folder = tmp_path / 'mixed'
    first = write_series(folder, [0.0, 5.0], names=['a1', 'a2'])
    write_series(folder, [0.0], names=['b1'])
    with pytest.raises(ValueError, match=r'several series.*2 slices.*1 slices'):
        load_ct_volume(folder)
    assert len(load_ct_volume(folder, series_uid=first)) == 2


def test_folder_without_dicom_is_an_error(tmp_path):
    (tmp_path / 'notes.txt').write_text('hello')
    with pytest.raises(FileNotFoundError, match='no DICOM image'):
        load_ct_volume(tmp_path)


def save_nifti(path, data, affine):
    nibabel.save(nibabel.Nifti1Image(data.astype(np.int16), affine), str(path))


def test_nifti_slices_match_the_dicom_they_came_from(tmp_path):
    # CT_small written as a one-slice NIfTI: voxel (i, j) = pixel (row j, column i); DICOM's LPS
    # patient axes become RAS by negating x and y.
    pixels = ct_small_hu()
    spacing = 0.661468
    affine = np.diag([-spacing, -spacing, 5.0, 1.0])
    affine[:3, 3] = [158.1, 179.0, -75.7]
    save_nifti(tmp_path / 'ct.nii.gz', pixels.T[:, :, None], affine)
    hu, spacing_mm = load_ct_slice(tmp_path / 'ct.nii.gz')
    np.testing.assert_array_equal(hu, pixels)
    assert spacing_mm == pytest.approx((spacing, spacing, 5.0))


def test_nifti_orientation_does_not_change_what_is_shown(tmp_path):
    rng = np.random.default_rng(0)
    data = rng.integers(-1000, 1000, (6, 5, 4)).astype(np.int16)  # (i, j, k), RAS+
    ras = np.diag([0.8, 0.7, 2.5, 1.0])
    save_nifti(tmp_path / 'ras.nii', data, ras)
    # The same voxels stored the other way round on every axis (LPI), with a matching affine.
    lpi = ras.copy()
    lpi[:3, :3] *= -1
    lpi[:3, 3] = [0.8 * 5, 0.7 * 4, 2.5 * 3]
    save_nifti(tmp_path / 'lpi.nii', data[::-1, ::-1, ::-1], lpi)
    a, b = load_ct_volume(tmp_path / 'ras.nii'), load_ct_volume(tmp_path / 'lpi.nii')
    np.testing.assert_array_equal(a.hu, b.hu)
    assert a.hu.shape == (4, 5, 6)  # (slices, rows, columns)
    assert a.spacing_mm == pytest.approx((0.8, 0.7, 2.5))
    # Row 0 is the most anterior voxel row, column 0 the patient's rightmost column.
    np.testing.assert_array_equal(a.hu[2], data[::-1, ::-1, 2].T)
    hu, _ = load_ct_slice(tmp_path / 'ras.nii', slice_index=1)
    np.testing.assert_array_equal(hu, a.hu[1])


def write_png_series(root, folder, indices, size=(32, 32)):
    series = root / 'Images_png' / folder
    series.mkdir(parents=True)
    for index in indices:
        cv2.imwrite(str(series / f'{index:03d}.png'), np.full(size, HU_OFFSET + index, np.uint16))
    return series


def test_deeplesion_png_spacing_comes_from_dl_info(tmp_path):
    series = write_png_series(tmp_path, '000001_01_01', range(8, 13))
    write_dl_info(tmp_path / 'DL_info.csv', [base_row()])
    hu, spacing = load_ct_slice(series / '010.png', dl_info=tmp_path / 'DL_info.csv')
    assert hu.shape == (32, 32) and float(hu[0, 0]) == 10.0
    assert spacing == (0.8, 0.8, 2.0)
    _, unknown = load_ct_slice(series / '010.png')
    assert all(math.isnan(v) for v in unknown)
    _, given = load_ct_slice(series / '010.png', spacing_mm=(0.5, 0.5, 1.0))
    assert given == (0.5, 0.5, 1.0)


def test_deeplesion_png_brings_its_series_for_the_25d_input(tmp_path):
    series = write_png_series(tmp_path, '000001_01_01', [8, 9, 10, 12])  # 011 is missing
    with pytest.warns(RuntimeWarning, match='1 slice'):
        volume, indices = load_ct_input(series / '010.png', spacing_mm=(0.8, 0.8, 1.0))
    assert volume.slice_names[indices[0]] == '010.png'
    stack = volume.stack(indices[0], num_slices=3, slice_interval_mm=2.0)
    # 2 mm at 1 mm spacing: slices 8 and 12 around key 10.
    assert [float(stack[0, 0, c]) for c in range(3)] == [8.0, 10.0, 12.0]


def _ramp_without_slice_distance() -> CTVolume:
    """Three 4×4 slices holding 0, 1, 2 HU, with an unknown slice distance (NaN z spacing)."""
    return CTVolume(
        np.arange(3, dtype=np.float32)[:, None, None] * np.ones((3, 4, 4), np.float32),
        (0.7, 0.7, math.nan),
        ('a', 'b', 'c'),
        'memory',
    )


def test_unknown_slice_distance_repeats_the_key_slice():
    volume = _ramp_without_slice_distance()
    with pytest.warns(RuntimeWarning, match='slice distance unknown'):
        stack = volume.stack(1, num_slices=3)
    assert [float(stack[0, 0, c]) for c in range(3)] == [1.0, 1.0, 1.0]


def test_the_key_slice_alone_needs_no_slice_distance():
    volume = _ramp_without_slice_distance()
    with warnings.catch_warnings():
        warnings.simplefilter('error')
        stack = volume.stack(2, num_slices=1)
    assert stack.shape == (4, 4, 1) and stack.dtype == np.float32
    assert float(stack[0, 0, 0]) == 2.0


def test_missing_input_and_bad_index_are_named(tmp_path):
    with pytest.raises(FileNotFoundError, match='nowhere'):
        load_ct_volume(tmp_path / 'nowhere.dcm')
    folder = tmp_path / 'series'
    write_series(folder, [0.0, 5.0])
    with pytest.raises(IndexError, match='slice 7 out of range'):
        load_ct_slice(folder, slice_index=7)


# -- inputs that would give silently wrong HU or sizes ------------------------------------------
def test_dicom_without_rescale_is_refused_unless_the_rescale_is_given(tmp_path):
    ds = pydicom.dcmread(CT_SMALL)
    del ds.RescaleSlope
    del ds.RescaleIntercept
    path = tmp_path / 'no_rescale.dcm'
    ds.save_as(path)
    # A silent slope 1 / intercept 0 would put this CT 1024 HU too high.
    with pytest.raises(ValueError, match=r'no_rescale\.dcm.*RescaleSlope.*--rescale'):
        load_ct_slice(path)
    hu = load_ct_volume(path, rescale=(1.0, -1024.0)).hu[0]
    np.testing.assert_array_equal(hu, ct_small_hu())
    folder = tmp_path / 'series'
    write_series(folder, [0.0, 5.0])
    broken = pydicom.dcmread(folder / '01.dcm')
    del broken.RescaleIntercept
    broken.save_as(folder / '01.dcm')
    with pytest.raises(ValueError, match=r'01\.dcm: no usable RescaleSlope/RescaleIntercept'):
        load_ct_volume(folder)


def test_mr_dicom_is_refused(tmp_path):
    ds = pydicom.dcmread(CT_SMALL)
    ds.Modality = 'MR'
    ds.save_as(tmp_path / 'mr.dcm')
    with pytest.raises(ValueError, match=r"mr\.dcm: Modality is 'MR', not CT"):
        load_ct_slice(tmp_path / 'mr.dcm')


@pytest.mark.parametrize(
    'spacing', [(-1.0, -1.0, -1.0), (0.0, 0.7, 1.0), (0.7, math.nan, 1.0), (0.7, 0.7)]
)
def test_spacing_that_no_ct_has_is_refused(tmp_path, spacing):
    series = write_png_series(tmp_path, '000001_01_01', range(8, 11))
    with pytest.raises(ValueError, match='three positive sizes in mm'):
        load_ct_input(series / '009.png', spacing_mm=spacing)
    with pytest.raises(ValueError, match='three positive sizes in mm'):
        load_ct_volume(CT_SMALL, spacing_mm=spacing)


def test_series_uid_reaches_the_inference_input(tmp_path):
    folder = tmp_path / 'mixed'
    write_series(folder, [0.0, 5.0], names=['a1', 'a2'])
    second = write_series(folder, [0.0], names=['b1'])
    with pytest.raises(ValueError, match='--series-uid'):
        load_ct_input(folder)
    volume, indices = load_ct_input(folder, series_uid=second)
    assert volume.slice_names == ('b1',) and indices == [0]
