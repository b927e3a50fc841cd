import numpy as np
import pytest

from mmlesion.enhancement.reference_numpy import (
    glcae_reference,
    mapping,
    pyramid_fusion,
    stretch_to_uint8,
    tone_distortion_bruteforce,
)


def test_tone_distortion_counts_only_occupied_merged_levels():
    hist = np.zeros(256)
    hist[[3, 5, 9, 40]] = 1
    table = np.arange(256)
    table[3:10] = 7  # merges 3, 5 and 9 (occupied) with unoccupied levels in between
    assert tone_distortion_bruteforce(hist, table) == 6
    table[40] = 7  # 40 joins the run
    assert tone_distortion_bruteforce(hist, table) == 37
    assert tone_distortion_bruteforce(hist, np.arange(256)) == 0


def test_mapping_ends_at_white_and_tends_to_identity():
    prob = np.full(256, 1 / 256)
    assert mapping(prob, 0.0)[-1] == 255
    assert np.abs(mapping(np.eye(256)[0], 1e9) - np.arange(256)).max() <= 1


def test_stretch_and_pyramid_identity():
    image = np.array([[10.0, 20.0], [30.0, 50.0]])
    assert stretch_to_uint8(image).tolist() == [[0, 64], [128, 255]]
    a = np.random.default_rng(0).random((33, 47)).astype(np.float32)
    weight = np.random.default_rng(1).random((33, 47)).astype(np.float32)
    assert np.allclose(pyramid_fusion(a, a, weight, 4), a, atol=1e-5)


def test_reference_glcae_runs_on_a_small_image():
    pytest.importorskip('scipy')
    image = np.random.default_rng(0).integers(60, 120, (40, 48)).astype(np.uint8)
    out, lam = glcae_reference(image, 2.0, 4, levels=2)
    assert out.shape == image.shape and 0 <= out.min() and out.max() <= 1
    assert 0 <= lam <= 1e3
