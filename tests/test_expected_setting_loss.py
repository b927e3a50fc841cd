"""expected_setting_loss: its value, its gradient against finite differences, its checks."""

import pytest
import torch

from mmlesion.models.losses import expected_setting_loss


def test_value_is_the_policy_weighted_mean_of_the_setting_losses():
    logits = torch.tensor([[0.0, 0.0], [10.0, -10.0]])
    losses = torch.tensor([[1.0, 3.0], [2.0, 7.0]])
    per_image = expected_setting_loss(logits, losses, reduction='none')
    assert per_image[0].item() == pytest.approx(2.0)
    assert per_image[1].item() == pytest.approx(2.0, abs=1e-6)
    assert expected_setting_loss(logits, losses).item() == pytest.approx(2.0, abs=1e-6)
    assert expected_setting_loss(logits, losses, reduction='sum').item() == pytest.approx(4.0)


@pytest.mark.parametrize('reduction', ['mean', 'sum', 'none'])
def test_gradient_in_the_logits_matches_finite_differences(reduction):
    generator = torch.Generator().manual_seed(0)
    logits = torch.randn(5, 4, generator=generator, dtype=torch.float64, requires_grad=True)
    losses = torch.rand(5, 4, generator=generator, dtype=torch.float64) * 3
    assert torch.autograd.gradcheck(
        lambda z: expected_setting_loss(z, losses, reduction=reduction), (logits,)
    )


def test_gradient_has_the_closed_form_and_ignores_a_per_image_offset():
    generator = torch.Generator().manual_seed(1)
    logits = torch.randn(3, 5, generator=generator, dtype=torch.float64, requires_grad=True)
    losses = torch.rand(3, 5, generator=generator, dtype=torch.float64)
    (gradient,) = torch.autograd.grad(expected_setting_loss(logits, losses, 'sum'), logits)
    pi = torch.softmax(logits.detach(), dim=1)
    expected = pi * (losses - (pi * losses).sum(dim=1, keepdim=True))
    torch.testing.assert_close(gradient, expected)
    shifted = losses + torch.tensor([[5.0], [-2.0], [100.0]], dtype=torch.float64)
    (gradient_shifted,) = torch.autograd.grad(expected_setting_loss(logits, shifted, 'sum'), logits)
    torch.testing.assert_close(gradient_shifted, gradient)


def test_bad_shapes_and_reduction_are_refused():
    with pytest.raises(ValueError, match=r'both be \(B, K\)'):
        expected_setting_loss(torch.zeros(2, 3), torch.zeros(2, 4))
    with pytest.raises(ValueError, match='reduction'):
        expected_setting_loss(torch.zeros(2, 3), torch.zeros(2, 3), reduction='max')
