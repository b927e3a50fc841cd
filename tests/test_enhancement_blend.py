"""blend: the gate between an image and its enhancement (exact at alpha = 0, linear in alpha)."""

import pytest
import torch

from mmlesion.enhancement import blend, glcae


def pair(dtype=torch.float32):
    generator = torch.Generator().manual_seed(0)
    original = (255 * torch.rand(3, 2, 16, 16, generator=generator)).round().to(dtype)
    enhanced = glcae(original / 255, 2.0, 4) * 255
    return original, enhanced.to(dtype)


def test_alpha_zero_returns_the_original_bit_for_bit():
    original, enhanced = pair()
    # Values off any grid too: the exactness must not depend on integer intensities.
    odd = original + torch.rand(original.shape, generator=torch.Generator().manual_seed(1)) / 3
    for image in (original, odd, -1e6 * odd):
        assert torch.equal(blend(image, enhanced, torch.zeros(3)), image)


def test_alpha_one_returns_the_enhancement_and_each_image_has_its_own_alpha():
    original, enhanced = pair()
    assert torch.allclose(blend(original, enhanced, torch.ones(3)), enhanced, atol=1e-4)
    mixed = blend(original, enhanced, torch.tensor([0.0, 1.0, 0.25]))
    assert torch.equal(mixed[0], original[0])
    assert torch.allclose(mixed[1], enhanced[1], atol=1e-4)
    assert torch.allclose(mixed[2], 0.75 * original[2] + 0.25 * enhanced[2], atol=1e-4)


def test_gradient_in_alpha_matches_finite_differences():
    original, enhanced = pair(torch.float64)
    alpha = torch.tensor([0.0, 0.3, 0.9], dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda a: blend(original, enhanced, a), (alpha,))
    # The derivative is the step the gate scales: enhanced - original, per image.
    blend(original, enhanced, alpha).sum().backward()
    expected = (enhanced - original).flatten(1).sum(1)
    assert torch.allclose(alpha.grad, expected)


def test_alpha_must_hold_one_value_per_image():
    original, enhanced = pair()
    with pytest.raises(ValueError, match=r'one value per image, shape \(3,\)'):
        blend(original, enhanced, torch.zeros(2))
    with pytest.raises(ValueError, match='same shape'):
        blend(original, enhanced[:, :1], torch.zeros(3))
