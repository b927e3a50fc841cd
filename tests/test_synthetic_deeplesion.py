"""The synthetic DeepLesion generator: real on-disk format, CT-like content, determinism."""

from __future__ import annotations

import csv
import importlib.util
import math
from collections import Counter, defaultdict
from pathlib import Path

import cv2
import numpy as np
import pytest

from mmlesion.datasets.dl_info import COARSE_LESION_TYPES, DL_INFO_COLUMNS, read_dl_info
from mmlesion.datasets.synthetic import (
    DEGRADATIONS,
    SIDECAR_NAME,
    SyntheticConfig,
    assign_splits,
    generate_dataset,
    read_acquisition_sidecar,
)
from mmlesion.datasets.synthetic.acquisition import DICOM_WINDOWS
from mmlesion.datasets.synthetic.planning import SLICE_INTERVALS_MM
from mmlesion.datasets.synthetic.png_io import encode_png16
from mmlesion.datasets.transforms import LoadDeepLesionSlices, read_deeplesion_png

REPO_ROOT = Path(__file__).resolve().parents[1]
CLI = REPO_ROOT / 'tools' / 'dataset_converters' / 'make_synthetic_deeplesion.py'
SIZE = 96


@pytest.fixture(scope='module')
def mixed(tmp_path_factory) -> Path:
    """16 patients at 96 px, difficulty 0.6: every profile, type and split."""
    out = tmp_path_factory.mktemp('mixed')
    generate_dataset(out, SyntheticConfig(num_patients=16, seed=1, difficulty=0.6, image_size=SIZE))
    return out


@pytest.fixture(scope='module')
def clean(tmp_path_factory) -> Path:
    """Difficulty 0 at 128 px, fine enough to measure lesion contrast."""
    out = tmp_path_factory.mktemp('clean')
    generate_dataset(out, SyntheticConfig(num_patients=14, seed=2, difficulty=0.0, image_size=128))
    return out


def rows_of(root: Path):
    return read_dl_info(root / 'DL_info.csv')


def slice_hu(root: Path, row) -> np.ndarray:
    return read_deeplesion_png(str(root / 'Images_png' / row.series_folder / row.slice_file))


def lesion_radius(row, shape: tuple[int, int]) -> np.ndarray:
    """Normalised elliptic radius of every pixel w.r.t. the row's RECIST ellipse (1 = edge)."""
    x1, y1, x2, y2 = row.recist_px[:4]
    cx, cy = (x1 + x2) / 2, (y1 + y2) / 2
    a, b = row.diameters_px[0] / 2, row.diameters_px[1] / 2
    t = math.atan2(y2 - y1, x2 - x1)
    yy, xx = np.mgrid[: shape[0], : shape[1]]
    u = (xx - cx) * math.cos(t) + (yy - cy) * math.sin(t)
    v = (yy - cy) * math.cos(t) - (xx - cx) * math.sin(t)
    return np.sqrt((u / a) ** 2 + (v / b) ** 2)


def test_csv_has_the_real_columns_and_parses(mixed):
    with (mixed / 'DL_info.csv').open(newline='') as f:
        assert tuple(next(csv.reader(f))) == DL_INFO_COLUMNS
    rows = rows_of(mixed)
    assert len(rows) > 20
    windows = {w for choices in DICOM_WINDOWS.values() for w, _ in choices}
    intervals = {dz for dz, _ in SLICE_INTERVALS_MM}
    for r in rows:
        assert r.image_size == (SIZE, SIZE)
        sx, sy, sz = r.spacing_mm
        assert sx == sy and 300 <= sx * SIZE <= 500
        assert sz in intervals
        assert r.dicom_window_hu in windows
        assert r.gender in ('M', 'F')
        assert r.age_years is None or 18 <= r.age_years <= 95
        assert r.slice_range[0] <= r.key_slice_index <= r.slice_range[1]
        assert r.file_name == f'{r.series_folder}_{r.key_slice_index:03d}.png'
        assert r.series_folder == f'{r.patient_index:06d}_{r.study_index:02d}_{r.series_id:02d}'
        assert all(0.0 <= v <= 1.0 for v in r.normalized_location)
        assert r.diameters_px[0] >= r.diameters_px[1] > 0


def test_series_folders_hold_exactly_their_slice_range(mixed):
    ranges = {r.series_folder: r.slice_range for r in rows_of(mixed)}
    assert sorted(p.name for p in (mixed / 'Images_png').iterdir()) == sorted(ranges)
    for folder, (first, last) in ranges.items():
        files = sorted(p.name for p in (mixed / 'Images_png' / folder).iterdir())
        assert files == [f'{i:03d}.png' for i in range(first, last + 1)]
        image = cv2.imread(str(mixed / 'Images_png' / folder / files[0]), cv2.IMREAD_UNCHANGED)
        assert image.dtype == np.uint16 and image.shape == (SIZE, SIZE)


def test_neighbour_slices_load_for_2p5d(mixed):
    row = rows_of(mixed)[0]
    results = LoadDeepLesionSlices(num_slices=9, slice_interval_mm=2.0).transform(
        {
            'img_path': str(mixed / 'Images_png' / row.series_folder / row.slice_file),
            'slice_interval_mm': row.spacing_mm[2],
            'key_slice_index': row.key_slice_index,
            'slice_range': row.slice_range,
            'image_size': row.image_size,
        }
    )
    assert results['img'].shape == (SIZE, SIZE, 9)


def test_slices_look_like_ct(clean):
    rows = rows_of(clean)
    by_type = defaultdict(list)
    for r in rows:
        by_type[r.coarse_type_name].append(r)
    for r in rows:
        hu = slice_hu(clean, r)
        assert -3024 <= hu.min() and hu.max() <= 3071
        assert (hu[:4, :4] < -900).all()  # air (or scanner padding) in the corners
        assert np.mean((hu > -150) & (hu < 150)) > 0.1  # fat, muscle and organs
        assert (hu > 300).any()  # bone
    for r in by_type['lung']:
        lung = slice_hu(clean, r)
        assert np.mean((lung > -950) & (lung < -700)) > 0.05
    for r in by_type['liver']:
        hu = slice_hu(clean, r)
        rho = lesion_radius(r, hu.shape)
        ring = hu[(rho > 1.6) & (rho < 2.5)]
        assert 40 <= np.median(ring) <= 140  # liver parenchyma around a liver lesion


def test_boxes_are_valid_and_contain_their_recist_points(mixed):
    for r in rows_of(mixed):
        x1, y1, x2, y2 = r.bbox_px
        assert 0 <= x1 < x2 <= SIZE - 1 and 0 <= y1 < y2 <= SIZE - 1
        xs, ys = r.recist_px[0::2], r.recist_px[1::2]
        assert all(x1 <= x <= x2 for x in xs) and all(y1 <= y <= y2 for y in ys)
        long_px = math.dist(r.recist_px[0:2], r.recist_px[2:4])
        short_px = math.dist(r.recist_px[4:6], r.recist_px[6:8])
        assert r.diameters_px == pytest.approx((long_px, short_px), abs=0.01)


def test_splits_types_and_multi_lesion_slices(mixed):
    rows = rows_of(mixed)
    patients = defaultdict(set)
    for r in rows:
        patients[r.split].add(r.patient_index)
    assert set(patients) == {'train', 'val', 'test'}
    assert not (
        patients['train'] & patients['val']
        or patients['train'] & patients['test']
        or patients['val'] & patients['test']
    )
    types = Counter(r.coarse_type for r in rows)
    assert set(types) == {-1, *range(1, len(COARSE_LESION_TYPES) + 1)}
    assert max(Counter(r.file_name for r in rows).values()) >= 2  # lesions sharing a slice
    keys_per_series = Counter(r.series_folder for r in {r.file_name: r for r in rows}.values())
    assert max(keys_per_series.values()) >= 2  # key slices sharing a series


def test_assign_splits_is_a_patient_partition():
    splits = assign_splits(20, seed=5)
    assert sorted(splits) == list(range(1, 21))
    counts = Counter(splits.values())
    assert counts == {'train': 14, 'val': 3, 'test': 3}
    assert set(assign_splits(3, seed=0).values()) == {'train', 'val', 'test'}


def test_sidecar_describes_every_key_slice(mixed):
    rows = rows_of(mixed)
    records = read_acquisition_sidecar(mixed / SIDECAR_NAME)
    assert set(records) == {r.file_name for r in rows}
    lesions_per_slice = Counter(r.file_name for r in rows)
    for name, rec in records.items():
        assert len(rec.lesion_delta_hu) == lesions_per_slice[name]
        assert rec.degradations <= set(DEGRADATIONS)
        assert (rec.noise_sigma_hu >= 30) == ('noisy' in rec.degradations)
        assert (rec.shading_amplitude_hu > 0) == ('shading' in rec.degradations)
        assert {r.dicom_window_hu for r in rows if r.file_name == name} == {rec.window_hu}
    profiles = Counter(rec.profile for rec in records.values())
    assert profiles['clean'] > 0 and all(any(d in p for p in profiles) for d in DEGRADATIONS)


def test_low_contrast_lesions_differ_from_their_organ_by_a_few_hu(mixed):
    records = read_acquisition_sidecar(mixed / SIDECAR_NAME)
    by_slice = defaultdict(list)
    for r in rows_of(mixed):
        by_slice[r.file_name].append(r)
    # Types whose hosts are soft tissue or fat (not lung, not bone).
    soft = {'liver', 'kidney', 'abdomen', 'mediastinum', 'soft_tissue', 'pelvis'}
    low = []
    for name, rows in by_slice.items():
        rec = records[name]
        for row, delta in zip(rows, rec.lesion_delta_hu, strict=True):
            if row.coarse_type_name not in soft:
                continue
            if 'low_contrast' in rec.degradations:
                low.append(abs(delta))
            else:
                assert abs(delta) >= 15
    assert low and all(6 <= d <= 18 for d in low)


def test_difficulty_zero_is_all_clean(clean):
    records = read_acquisition_sidecar(clean / SIDECAR_NAME).values()
    assert {rec.profile for rec in records} == {'clean'}
    assert all(rec.noise_sigma_hu <= 12 and rec.shading_amplitude_hu == 0 for rec in records)


def test_lesions_are_in_their_boxes_with_the_recorded_contrast(clean):
    """On clean slices, lesion core minus its surroundings matches the recorded delta HU."""
    rows = rows_of(clean)
    records = read_acquisition_sidecar(clean / SIDECAR_NAME)
    per_slice = Counter(r.file_name for r in rows)
    checked, matched = 0, 0
    for r in rows:
        if per_slice[r.file_name] != 1 or r.diameters_px[0] < 6:
            continue
        if r.coarse_type_name not in ('liver', 'lung', 'abdomen', 'mediastinum', 'bone'):
            continue
        hu = slice_hu(clean, r)
        rho = lesion_radius(r, hu.shape)
        measured = np.median(hu[rho < 0.5]) - np.median(hu[(rho > 1.5) & (rho < 2.2)])
        delta = records[r.file_name].lesion_delta_hu[0]
        checked += 1
        matched += abs(measured - delta) <= 0.3 * abs(delta) + 15
    assert checked >= 5
    assert matched >= 0.7 * checked


def test_noisy_profile_is_noisier(mixed):
    """Robust (MAD) spread of the high-pass residual in the body: noisy series stand out."""
    records = read_acquisition_sidecar(mixed / SIDECAR_NAME)
    sigma = defaultdict(list)
    for r in {r.file_name: r for r in rows_of(mixed)}.values():
        hu = slice_hu(mixed, r)
        residual = hu - cv2.blur(hu, (3, 3))
        body = cv2.erode(((hu > -500) & (hu < 300)).astype(np.uint8), np.ones((5, 5), np.uint8))
        values = residual[body > 0]
        mad = 1.4826 * np.median(np.abs(values - np.median(values)))
        sigma['noisy' in records[r.file_name].degradations].append(mad)
    assert np.median(sigma[True]) > 2.5 * np.median(sigma[False])


def test_same_seed_same_bytes_other_seed_other_data(tmp_path):
    config = SyntheticConfig(num_patients=3, seed=7, image_size=48)
    generate_dataset(tmp_path / 'a', config)
    generate_dataset(tmp_path / 'b', config, workers=2)
    generate_dataset(tmp_path / 'c', SyntheticConfig(num_patients=3, seed=8, image_size=48))

    def files(root: Path) -> dict[str, bytes]:
        return {str(p.relative_to(root)): p.read_bytes() for p in root.rglob('*') if p.is_file()}

    a, b, c = files(tmp_path / 'a'), files(tmp_path / 'b'), files(tmp_path / 'c')
    assert a == b
    assert a['DL_info.csv'] != c['DL_info.csv']
    assert a.keys() != c.keys() or any(a[k] != c[k] for k in a)


def test_png_encoder_round_trips_through_opencv():
    values = np.random.default_rng(0).integers(0, 65536, size=(7, 13), dtype=np.uint16)
    values[0, 0], values[-1, -1] = 0, 65535
    decoded = cv2.imdecode(np.frombuffer(encode_png16(values), np.uint8), cv2.IMREAD_UNCHANGED)
    assert decoded.dtype == np.uint16 and np.array_equal(decoded, values)


@pytest.mark.parametrize(
    'field, value',
    [
        ('difficulty', 1.5),
        ('num_patients', 0),
        ('image_size', 8),
        ('unlabelled_fraction', -0.1),
        ('seed', -1),
    ],
)
def test_config_rejects_out_of_range_values(field, value):
    with pytest.raises(ValueError, match=field):
        SyntheticConfig(**{field: value})


def test_real_style_unlabelled_train(tmp_path):
    generate_dataset(
        tmp_path,
        SyntheticConfig(num_patients=3, seed=3, image_size=48, real_style_unlabelled_train=True),
    )
    rows = rows_of(tmp_path)
    assert all(r.coarse_type == -1 for r in rows if r.split == 'train')
    assert any(r.coarse_type != -1 for r in rows if r.split != 'train')


def test_command_line(tmp_path, capsys):
    spec = importlib.util.spec_from_file_location('make_synthetic_deeplesion', CLI)
    cli = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(cli)
    argv = [
        '--out',
        str(tmp_path),
        '--num-patients',
        '2',
        '--image-size',
        '48',
        '--workers',
        '1',
        '--difficulty',
        '1',
    ]
    assert cli.main(argv) == 0
    report = capsys.readouterr().out
    assert 'key_slices' in report and 'per acquisition profile' in report
    assert (tmp_path / 'DL_info.csv').is_file() and (tmp_path / SIDECAR_NAME).is_file()
    assert cli.main(argv) == 2  # refuses to overwrite without --overwrite
    assert cli.main([*argv, '--overwrite']) == 0


def test_never_overwrites_a_folder_that_is_not_synthetic(tmp_path):
    (tmp_path / 'DL_info.csv').write_text('real release\n')
    with pytest.raises(FileExistsError, match='not a synthetic data set'):
        generate_dataset(tmp_path, SyntheticConfig(num_patients=1, image_size=48), overwrite=True)
    assert (tmp_path / 'DL_info.csv').read_text() == 'real release\n'


def test_recist_box_is_clipped_to_the_image():
    from mmlesion.datasets.synthetic.recist import recist_box

    assert recist_box((1.0, 1.0, 5.0, 5.0, 2.0, 3.0, 3.0, 2.0), 64, 5.0) == (0.0, 0.0, 10.0, 10.0)
    assert recist_box((60.0, 30.0, 63.0, 32.0, 61.0, 33.0, 62.0, 29.0), 64, 5.0)[2] == 63.0


def test_too_few_patients_warn_that_val_and_test_are_empty(tmp_path):
    with pytest.warns(UserWarning, match=r'val/test split\(s\) without any lesion'):
        generate_dataset(tmp_path / 'one', SyntheticConfig(num_patients=1, seed=0, image_size=48))
