import pytest
import torch
import torch.nn.functional as F

from mmlesion.enhancement import (
    collapse,
    default_levels,
    gaussian_pyramid,
    laplacian_pyramid,
    pyramid_fusion,
)
from mmlesion.enhancement.laplacian_pyramid import pyr_down, pyr_up


@pytest.mark.parametrize(('height', 'width'), [(37, 53), (64, 48), (5, 3), (2, 2), (1, 7)])
def test_pyr_down_is_a_binomial_blur_and_decimation(height, width):
    x = torch.rand(2, 3, height, width, dtype=torch.float64)
    kernel = torch.tensor([1.0, 4, 6, 4, 1], dtype=torch.float64)
    kernel = (kernel[:, None] * kernel[None, :] / 256).expand(3, 1, 5, 5)
    mode = 'reflect' if min(height, width) > 2 else 'replicate'
    expected = F.conv2d(F.pad(x, (2, 2, 2, 2), mode=mode), kernel, stride=2, groups=3)
    assert torch.allclose(pyr_down(x), expected)


def test_pyr_up_keeps_constants_and_reaches_odd_sizes():
    up = pyr_up(torch.full((1, 1, 3, 4), 0.7), (5, 8))
    assert up.shape == (1, 1, 5, 8) and torch.allclose(up, torch.full_like(up, 0.7))


@pytest.mark.parametrize('levels', [1, 2, 4])
def test_collapse_inverts_the_laplacian_pyramid(levels):
    x = torch.rand(2, 1, 37, 53, dtype=torch.float64)
    pyramid = laplacian_pyramid(x, levels)
    assert len(pyramid) == levels
    assert torch.allclose(collapse(pyramid), x, atol=1e-12)


def test_fusing_an_image_with_itself_returns_it_for_any_weights():
    x = torch.rand(3, 2, 45, 38)
    weight = torch.rand_like(x)
    assert torch.equal(pyramid_fusion(x, x, weight), x)
    assert torch.equal(pyramid_fusion(x, x, weight, levels=4), x)


def test_fusion_equals_blending_the_two_laplacian_pyramids():
    a, b, w = (torch.rand(2, 1, 64, 48, dtype=torch.float64) for _ in range(3))
    fused = [
        g * la + (1 - g) * lb
        for g, la, lb in zip(
            gaussian_pyramid(w, 4), laplacian_pyramid(a, 4), laplacian_pyramid(b, 4), strict=True
        )
    ]
    assert torch.allclose(pyramid_fusion(a, b, w, levels=4), collapse(fused), atol=1e-12)


def test_constant_weights_select_one_input():
    a, b = (torch.rand(1, 1, 33, 40, dtype=torch.float64) for _ in range(2))
    ones = torch.ones_like(a)
    assert torch.allclose(pyramid_fusion(a, b, ones), a, atol=1e-12)
    assert torch.allclose(pyramid_fusion(a, b, 0 * ones), b, atol=1e-12)
    assert torch.allclose(pyramid_fusion(a, b, ones, levels=1), a)


def test_default_levels_stop_before_16_pixels():
    assert default_levels(512, 512) == 6
    assert default_levels(512, 300) == 5
    assert default_levels(31, 400) == 1
    assert default_levels(32, 32) == 2


def test_fusion_passes_gradcheck():
    a, b, w = (torch.rand(1, 1, 9, 11, dtype=torch.float64, requires_grad=True) for _ in range(3))
    assert torch.autograd.gradcheck(
        lambda a, b, w: pyramid_fusion(a, b, w, levels=3), (a, b, w), fast_mode=True
    )
