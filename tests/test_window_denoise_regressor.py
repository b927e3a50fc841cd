"""WindowDenoiseRegressor: starts at (almost) the identity, bounded outputs, a policy to sample."""

import pytest
import torch

from mmlesion.models import WindowDenoiseRegressor


def small_regressor(**kwargs):
    torch.manual_seed(0)
    return WindowDenoiseRegressor(**{'input_size': 32, 'base_channels': 4, **kwargs})


def test_untrained_regressor_is_the_identity_but_for_a_small_denoising_step():
    offset, scale, beta = small_regressor()(torch.rand(3, 1, 40, 50))
    assert offset.shape == scale.shape == beta.shape == (3,)
    assert offset.tolist() == [0.0, 0.0, 0.0]
    assert scale.tolist() == [1.0, 1.0, 1.0]  # the default range is symmetric in log space
    assert beta.tolist() == pytest.approx([0.02] * 3, abs=1e-6)
    _, scale, _ = small_regressor(width_scale_range=(0.25, 2.0))(torch.rand(2, 1, 32, 32))
    assert scale.tolist() == pytest.approx([1.0, 1.0], abs=1e-6)


def test_outputs_stay_inside_their_ranges_for_extreme_scores():
    regressor = small_regressor(max_level_offset_hu=50.0, width_scale_range=(0.5, 2.0))
    offset, scale, beta = regressor.to_params(torch.tensor([[-1e4] * 3, [1e4] * 3]))
    assert offset.tolist() == [-50.0, 50.0]
    assert scale.tolist() == pytest.approx([0.5, 2.0])
    assert beta.tolist() == [0.0, 1.0]
    params = regressor.to_params(torch.tensor([[0.3, -0.7, 1.1]]))
    assert torch.allclose(regressor.to_scores(*params), torch.tensor([[0.3, -0.7, 1.1]]), atol=1e-5)


def test_sample_draws_all_three_parameters_with_a_differentiable_log_probability():
    regressor = small_regressor()
    torch.manual_seed(1)
    offset, scale, beta, log_prob = regressor.sample(torch.rand(16, 1, 32, 32))
    assert offset.shape == scale.shape == beta.shape == log_prob.shape == (16,)
    assert not offset.requires_grad and log_prob.requires_grad
    assert offset.std() > 0 and regressor.log_std.shape == (3,)


def test_every_head_learns_from_the_key_slice():
    regressor = small_regressor()
    images = torch.rand(2, 1, 32, 32)
    sum(p.sum() for p in regressor(images)).backward()
    for head in (regressor.level_head, regressor.width_head, regressor.denoise_head):
        assert head[-1].weight.grad.abs().sum() > 0


@pytest.mark.parametrize(
    ('kwargs', 'match'),
    [
        ({'max_level_offset_hu': 0.0}, 'max_level_offset_hu'),
        ({'width_scale_range': (1.0, 2.0)}, 'width_scale_range'),
        ({'denoise_init': 0.0}, 'denoise_init'),
    ],
)
def test_bad_ranges_are_refused(kwargs, match):
    with pytest.raises(ValueError, match=match):
        small_regressor(**kwargs)
