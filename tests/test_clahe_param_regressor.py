"""CLAHEParamRegressor: bounded outputs, paper architecture, documented start (NaN recovery:
test_robustness.py)."""

import math

import pytest
import torch
from torch import nn

from mmlesion.models import CLAHEParamRegressor
from mmlesion.models.regressors.clahe_param_regressor import BoundedOutput, head_widths


def small_regressor(**kwargs):
    torch.manual_seed(0)
    kwargs = {'input_size': 32, 'base_channels': 4, **kwargs}
    return CLAHEParamRegressor(**kwargs)


def test_untrained_regressor_outputs_the_init_params_for_any_image():
    regressor = small_regressor(init_params=(2.0, 8.0))
    clip, grid = regressor(torch.rand(3, 1, 40, 50))
    assert clip.shape == grid.shape == (3,)
    assert torch.allclose(clip, torch.full((3,), 2.0), atol=1e-5)
    assert torch.allclose(grid, torch.full((3,), 8.0), atol=1e-5)


def test_outputs_stay_inside_their_ranges_for_extreme_scores():
    regressor = small_regressor(clip_range=(1.0, 8.0), grid_range=(2.0, 16.0))
    clip, grid = regressor.to_params(torch.tensor([[-1e4, -1e4], [1e4, 1e4], [0.0, 0.0]]))
    assert clip.tolist() == pytest.approx([1.0, 8.0, 4.5])
    assert grid.tolist() == pytest.approx([2.0, 16.0, 9.0])


def test_head_depth_follows_num_fc_layers():
    assert head_widths(2) == [32, 12, 1]
    assert head_widths(4) == [32, 12, 12, 12, 1]
    for layers in (2, 4):
        head = small_regressor(num_fc_layers=layers).clip_head
        assert sum(isinstance(m, nn.Linear) for m in head) == layers


def test_stem_maps_one_channel_to_three():
    stem = small_regressor().stem
    assert isinstance(stem[0], nn.Conv2d) and (stem[0].in_channels, stem[0].out_channels) == (1, 3)
    assert isinstance(stem[1], nn.BatchNorm2d) and isinstance(stem[2], nn.ReLU)


def test_gradients_reach_the_trunk_after_the_heads_move():
    regressor = small_regressor()
    optimizer = torch.optim.SGD(regressor.parameters(), lr=0.5)
    for _ in range(2):
        optimizer.zero_grad()
        clip, grid = regressor(torch.rand(2, 1, 32, 32))
        (clip.sum() - grid.sum()).backward()
        optimizer.step()
    assert regressor.trunk.conv1.weight.grad.abs().sum() > 0


def test_sample_draws_around_the_prediction_with_a_log_probability():
    regressor = small_regressor(init_log_std=math.log(0.5))
    torch.manual_seed(1)
    clip, grid, log_prob = regressor.sample(torch.rand(64, 1, 32, 32))
    assert clip.shape == grid.shape == log_prob.shape == (64,)
    assert not clip.requires_grad and log_prob.requires_grad
    assert clip.std() > 0.1 and 1.0 <= clip.min() and clip.max() <= 8.0
    assert abs(clip.median().item() - 2.0) < 0.5


def test_wrong_input_shape_is_refused():
    with pytest.raises(ValueError, match=r'\(B, 1, H, W\)'):
        small_regressor()(torch.rand(2, 3, 32, 32))


def test_bounded_output_inverse_and_range_check():
    squash = BoundedOutput(1.0, 8.0)
    assert squash(torch.tensor(squash.inverse(2.0))).item() == pytest.approx(2.0)
    with pytest.raises(ValueError, match='inside'):
        squash.inverse(8.0)
    with pytest.raises(ValueError, match='low < high'):
        BoundedOutput(3.0, 3.0)
