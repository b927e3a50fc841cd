import numpy as np
import pytest
import torch

from mmlesion.enhancement import (
    global_histogram_modification,
    histogram_mapping,
    lambda_candidates,
    select_lambda,
    tone_distortion,
)
from mmlesion.enhancement.reference_numpy import mapping, tone_distortion_bruteforce


def _sparse_histograms(count, seed=0):
    """Histograms with a few occupied levels and very unequal counts: many merges."""
    generator = torch.Generator().manual_seed(seed)
    hist = torch.zeros(count, 256)
    for n in range(count):
        occupied = int(torch.randint(1, 80, (1,), generator=generator))
        levels = torch.randint(0, 256, (occupied,), generator=generator)
        weights = torch.randint(1, 3000, (occupied,), generator=generator).float()
        hist[n].index_add_(0, levels, weights)
    return hist


def test_tone_distortion_matches_brute_force_pairs():
    hist = _sparse_histograms(6)
    candidates = lambda_candidates()[::12]
    distortion = tone_distortion(hist, candidates)
    assert distortion.shape == (6, candidates.numel())
    tables = histogram_mapping(hist, candidates.expand(6, -1))
    for n in range(6):
        for k in range(candidates.numel()):
            # Lists: the O(L^2) loop is ten times faster on Python scalars.
            expected = tone_distortion_bruteforce(hist[n].tolist(), tables[n, k].tolist())
            assert distortion[n, k].item() == expected
    assert distortion.max() > 0


def test_mapping_matches_reference_and_is_a_valid_monotone_gray_level_map():
    hist = _sparse_histograms(4, seed=3)
    for lam in (0.0, 0.37, 12.0):
        tables = histogram_mapping(hist, torch.full((4,), lam))
        assert ((tables >= 0) & (tables <= 255)).all()
        assert (tables.diff(dim=-1) >= 0).all() and (tables[:, -1] == 255).all()
        for n in range(4):
            prob = (hist[n] / hist[n].sum()).double().numpy()
            assert tables[n].tolist() == mapping(prob, lam).tolist()


def test_lambda_is_the_smallest_candidate_with_the_least_distortion():
    hist = _sparse_histograms(6, seed=1)
    candidates = lambda_candidates()
    chosen = select_lambda(hist, candidates)
    distortion = tone_distortion(hist, candidates)
    for n in range(6):
        best = distortion[n].min()
        first = int(torch.nonzero(distortion[n] == best)[0])
        assert chosen[n].item() == candidates[first].item()
    assert (chosen > 0).any()


def test_candidates_start_at_zero_and_increase():
    candidates = lambda_candidates(num=50, low=1e-2, high=10.0)
    assert candidates.shape == (50,) and candidates[0] == 0
    assert (candidates.diff() > 0).all()
    assert np.isclose(candidates[1].item(), 1e-2) and np.isclose(candidates[-1].item(), 10.0)


def test_output_shape_range_lambda_per_channel_and_gradient():
    x = torch.rand(2, 3, 20, 30).pow(3).requires_grad_(True)
    y, lam = global_histogram_modification(x)
    assert y.shape == x.shape and lam.shape == (2, 3) and lam.dtype == torch.float64
    assert y.min() >= 0 and y.max() <= 1
    (grad,) = torch.autograd.grad(y.sum(), x)
    assert torch.isfinite(grad).all() and grad.abs().sum() > 0
    assert not lam.requires_grad


def test_single_level_images_are_unchanged():
    for value in (0.0, 0.4, 1.0):
        x = torch.full((1, 1, 6, 9), value)
        y, _ = global_histogram_modification(x)
        assert torch.allclose(y, x, atol=1e-6)


def test_equalises_a_low_contrast_image():
    x = (0.4 + 0.1 * torch.rand(1, 1, 64, 64)).round_(decimals=2)
    y, lam = global_histogram_modification(x)
    assert y.std() > 2 * x.std()
    assert lam.item() >= 0


@pytest.mark.parametrize('lam', [0.0, 1.0, 1e3])
def test_uniform_mixing_limits(lam):
    hist = torch.zeros(1, 256)
    hist[0, 10] = 100
    hist[0, 200] = 100
    table = histogram_mapping(hist, torch.tensor([lam]))[0]
    if lam == 0:
        assert table[10] == 128 and table[200] == 255
    if lam == 1e3:
        # Nearly uniform: close to the identity.
        assert abs(table[10].item() - 10) <= 1 and abs(table[200].item() - 200) <= 1
