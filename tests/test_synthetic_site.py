"""Acquisition sites of the synthetic generator: site A unchanged, site B differs in acquisition
only (noise level and grain, reconstruction kernel) and draws its own patients."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
from pathlib import Path

import cv2
import numpy as np
import pytest

from mmlesion.datasets.dl_info import DL_INFO_COLUMNS, read_dl_info
from mmlesion.datasets.synthetic import (
    SIDECAR_NAME,
    SITE_RECORD_NAME,
    SITES,
    SyntheticConfig,
    assign_splits,
    generate_dataset,
    read_acquisition_sidecar,
    read_site,
)
from mmlesion.datasets.synthetic.acquisition import ReconKernel
from mmlesion.datasets.synthetic.frame import sample_frame
from mmlesion.datasets.synthetic.generator import plan_acquired_patient
from mmlesion.datasets.synthetic.series import render_clean_slice, render_series
from mmlesion.datasets.synthetic.sites import body_diameter_mm
from mmlesion.datasets.synthetic.texture import sample_texture
from mmlesion.datasets.synthetic.tissues import Tissue

#: sha256 over (relative path, bytes) of every PNG and CSV of the data set below, as the
#: generator wrote it before sites existed: site A must stay byte-identical.
SITE_A_GOLDEN = 'dfece791629c0ef8877fcc82ee0d28b3f8abdf2ce097f41e1fbe78b19a8aaaac'
#: Soft tissues of the phantom: no clipping at -1024 HU, far from the body edge.
SOFT_TISSUE = (Tissue.MUSCLE, Tissue.VISCERAL_FAT, Tissue.SUBCUTANEOUS_FAT, Tissue.LIVER)


def png_csv_digest(root: Path) -> str:
    digest = hashlib.sha256()
    for path in sorted(p for p in root.rglob('*') if p.suffix in ('.png', '.csv')):
        digest.update(str(path.relative_to(root)).encode() + b'\0')
        digest.update(path.read_bytes())
    return digest.hexdigest()


@pytest.fixture(scope='module')
def two_sites(tmp_path_factory) -> dict[str, Path]:
    """The same config (4 patients, 64 px) at site A and at site B."""
    roots = {}
    for site in ('a', 'b'):
        roots[site] = tmp_path_factory.mktemp(f'site_{site}')
        config = SyntheticConfig(num_patients=4, seed=5, image_size=64, site=site)
        generate_dataset(roots[site], config)
    return roots


def test_site_a_is_byte_identical_to_the_generator_before_sites(tmp_path):
    generate_dataset(
        tmp_path, SyntheticConfig(num_patients=3, seed=11, difficulty=1.0, image_size=48)
    )
    assert png_csv_digest(tmp_path) == SITE_A_GOLDEN


def test_the_site_is_recorded_and_read_back(two_sites, tmp_path):
    for site, root in two_sites.items():
        assert read_site(root) == site
        record = json.loads((root / SITE_RECORD_NAME).read_text())
        assert record['config']['site'] == site
        assert set(record['patient_noise_multiplier']) == {'1', '2', '3', '4'}
    assert read_site(tmp_path) == 'a'  # made before sites: no record
    (tmp_path / SITE_RECORD_NAME).write_text('{"site": "z"}')
    with pytest.raises(ValueError, match='site'):
        read_site(tmp_path)


def test_site_b_has_other_patients_in_the_same_format(two_sites):
    rows = {site: read_dl_info(root / 'DL_info.csv') for site, root in two_sites.items()}
    assert rows['a'] != rows['b']
    header = (two_sites['b'] / 'DL_info.csv').read_text().splitlines()[0]
    assert header.split(',') == list(DL_INFO_COLUMNS)
    assert {r.image_size for r in rows['b']} == {(64, 64)}
    assert read_acquisition_sidecar(two_sites['b'] / SIDECAR_NAME).keys() == {
        r.file_name for r in rows['b']
    }


def test_site_b_has_its_own_patient_level_split():
    a, b = assign_splits(40, 0, 'a'), assign_splits(40, 0, 'b')
    assert a == assign_splits(40, 0)  # site A's split predates sites
    assert a != b
    assert sorted(b) == list(range(1, 41))
    counts = {s: sum(v == s for v in b.values()) for s in ('train', 'val', 'test')}
    assert counts == {'train': 28, 'val': 6, 'test': 6}


def test_config_rejects_unknown_sites():
    with pytest.raises(ValueError, match='site'):
        SyntheticConfig(site='c')


def test_noise_multiplier_is_log_uniform_in_range_and_follows_body_size():
    site = SITES['b']
    rng = np.random.default_rng(0)
    sizes, multipliers = [], []
    for _ in range(300):
        frame = sample_frame(rng, 'M' if rng.random() < 0.5 else 'F')
        sizes.append(body_diameter_mm(frame))
        multipliers.append(site.patient_noise_multiplier(frame, rng))
    m = np.array(multipliers)
    low, high = site.noise_multiplier_range
    assert low <= m.min() and m.max() <= high
    # log-uniform: log(m) / log(high / low) is uniform on [0, 1]
    position = np.log(m / low) / math.log(high / low)
    assert abs(position.mean() - 0.5) < 0.05 and abs(position.std() - 12**-0.5) < 0.04
    rank_corr = np.corrcoef(np.argsort(np.argsort(sizes)), np.argsort(np.argsort(m)))[0, 1]
    assert rank_corr > 0.6  # larger patients noisier
    assert SITES['a'].patient_noise_multiplier(frame, rng) == 1.0


def first_series(site: str, image_size: int = 128):
    """Patient 1 of seed 3 (difficulty 0: no shading) planned as ``site`` acquires it."""
    config = SyntheticConfig(num_patients=1, seed=3, difficulty=0.0, image_size=image_size)
    patient = plan_acquired_patient(dataclasses.replace(config, site='a'), 1, 'train')
    series = patient.plan.series[0]
    if site == 'b':
        # Site A's patient, acquired at site B: the same phantom, another scanner.
        series = dataclasses.replace(series, profile=SITES['b'].acquire(series.profile, 2.0))
    return patient.plan.anatomy, series


def render_key_slice(anatomy, series, seed: int = 0):
    """The key slice as acquired and its noise-free phantom (same texture), HU and labels."""
    key = series.key_slices[0].slice_index
    acquired = next(
        s
        for s in render_series(series, anatomy, np.random.default_rng(seed))
        if s.slice_index == key
    )
    texture = sample_texture(
        np.random.default_rng(seed), series.grid.size_px, series.grid.spacing_mm
    )
    clean = render_clean_slice(series, anatomy, key, texture)
    return acquired, clean.hu


def uniform_soft_tissue(labels: np.ndarray, margin_px: int = 4) -> np.ndarray:
    """Soft-tissue pixels at least ``margin_px`` from any other tissue, ``(N, N) bool``."""
    mask = np.isin(labels, SOFT_TISSUE).astype(np.uint8)
    kernel = np.ones((2 * margin_px + 1, 2 * margin_px + 1), np.uint8)
    return cv2.erode(mask, kernel).astype(bool)


@dataclasses.dataclass(frozen=True)
class NoisePair:
    """One generated key slice's noise at both sites, and the uniform region to measure it in."""

    series_a: object
    series_b: object
    noise_a: np.ndarray
    noise_b: np.ndarray
    region: np.ndarray


@pytest.fixture(scope='module')
def noise_pair() -> NoisePair:
    """Noise = acquired slice minus its noise-free phantom (through site B's kernel at B)."""
    anatomy, series_a = first_series('a')
    _, series_b = first_series('b')
    acquired_a, clean = render_key_slice(anatomy, series_a)
    acquired_b, _ = render_key_slice(anatomy, series_b)
    return NoisePair(
        series_a,
        series_b,
        acquired_a.hu - clean,
        acquired_b.hu - series_b.profile.kernel.apply(clean),
        uniform_soft_tissue(acquired_a.labels),
    )


def test_site_b_noise_is_higher_by_the_dose_and_kernel_factor_on_generated_slices(noise_pair):
    pair = noise_pair
    assert pair.region.sum() > 500
    sigma_a = float(pair.noise_a[pair.region].std())
    sigma_b = float(pair.noise_b[pair.region].std())
    gain = pair.series_b.profile.kernel.noise_gain(pair.series_a.profile.noise_correlation_px)
    assert 1.2 < gain < 2.0  # a sharp kernel amplifies the noise
    assert sigma_b / sigma_a == pytest.approx(2.0 * gain, rel=0.1)  # 2.0: the dose multiplier
    # what the sidecar records is what the slice carries
    assert sigma_a == pytest.approx(pair.series_a.profile.effective_noise_sigma_hu, rel=0.15)
    assert sigma_b == pytest.approx(pair.series_b.profile.effective_noise_sigma_hu, rel=0.15)


def test_site_b_noise_has_a_finer_grain(noise_pair):
    """Neighbouring noise pixels are less correlated under the sharp kernel."""
    inner = noise_pair.region[:, 1:] & noise_pair.region[:, :-1]

    def neighbour_correlation(noise: np.ndarray) -> float:
        return float(np.corrcoef(noise[:, 1:][inner], noise[:, :-1][inner])[0, 1])

    a, b = neighbour_correlation(noise_pair.noise_a), neighbour_correlation(noise_pair.noise_b)
    assert b < a - 0.1


def test_site_b_changes_acquisition_only():
    """Same plan and phantom: the noise-free site-B slice is site A's through the kernel."""
    anatomy, series_a = first_series('a')
    _, series_b = first_series('b')
    quiet_a = dataclasses.replace(
        series_a, profile=dataclasses.replace(series_a.profile, noise_sigma_hu=0.0)
    )
    quiet_b = dataclasses.replace(
        series_b, profile=dataclasses.replace(series_b.profile, noise_sigma_hu=0.0)
    )
    slice_a, _ = render_key_slice(anatomy, quiet_a)
    slice_b, _ = render_key_slice(anatomy, quiet_b)
    assert np.array_equal(slice_a.labels, slice_b.labels)
    expected = np.clip(series_b.profile.kernel.apply(slice_a.hu), -1024.0, 3071.0)
    # the padding outside the reconstruction circle comes after the kernel: compare the body
    inside = slice_a.hu > -1000.0
    assert np.abs(slice_b.hu - expected)[inside].max() < 1e-3
    # the profile differs in noise level and kernel only
    unchanged = dataclasses.replace(
        series_b.profile, noise_sigma_hu=series_a.profile.noise_sigma_hu, kernel=None
    )
    assert unchanged == series_a.profile


def edge_10_90_px(profile: np.ndarray) -> float:
    """Distance (pixels) between the 10 % and 90 % crossings of a rising edge, from its first to
    its last value (linear interpolation between samples)."""
    low, high = profile[0], profile[-1]

    def crossing(fraction: float) -> float:
        level = low + fraction * (high - low)
        i = int(np.argmax(profile >= level))
        return i - 1 + (level - profile[i - 1]) / (profile[i] - profile[i - 1])

    return crossing(0.9) - crossing(0.1)


def test_sharp_kernel_steepens_an_edge_with_a_small_overshoot():
    """A step blurred like the phantom's edges (erf, sigma 1.5 px), through site B's kernel."""
    x = np.arange(64, dtype=np.float64) - 31.5
    edge = 0.5 * (1.0 + np.array([math.erf(v / (1.5 * math.sqrt(2.0))) for v in x]))
    image = np.repeat((1000.0 * edge)[None, :], 16, axis=0).astype(np.float32)
    sharp = SITES['b'].kernel.apply(image)[8]
    before, after = edge_10_90_px(image[8]), edge_10_90_px(sharp)
    assert before == pytest.approx(2 * 1.2816 * 1.5, rel=0.1)  # 10-90 % of an erf edge
    assert after < 0.85 * before
    overshoot = (sharp.max() - 1000.0) / 1000.0
    assert 0.0 < overshoot < 0.05
    assert np.allclose(sharp[:4], 0.0, atol=1.0) and np.allclose(sharp[-4:], 1000.0, atol=1.0)


def test_recon_kernel_rejects_non_positive_parameters():
    with pytest.raises(ValueError, match='sigma_px'):
        ReconKernel('sharp', amount=1.0, sigma_px=0.0)


def test_command_line_site_b(tmp_path, capsys):
    import importlib.util

    cli_path = (
        Path(__file__).resolve().parents[1]
        / 'tools/dataset_converters/make_synthetic_deeplesion.py'
    )
    spec = importlib.util.spec_from_file_location('make_synthetic_deeplesion', cli_path)
    cli = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(cli)
    argv = ['--out', str(tmp_path), '--num-patients', '3', '--image-size', '48', '--site', 'b']
    assert cli.main([*argv, '--workers', '1']) == 0
    assert 'acquisition site: b' in capsys.readouterr().out
    assert read_site(tmp_path) == 'b'
