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


def test_trunk_gradient_is_the_derivative_of_the_output():
    # Not just "some gradient arrives": along the trunk gradient, a small step changes the
    # output by what the gradient predicts (a directional finite difference, float64).
    regressor = small_regressor().double().eval()
    with torch.no_grad():
        for head in (regressor.clip_head, regressor.grid_head):
            head[-1].weight.normal_()  # heads that look at the features
    images = torch.rand(2, 1, 32, 32, generator=torch.Generator().manual_seed(1)).double()

    def objective():
        clip, grid = regressor(images)
        return (clip * torch.tensor([1.0, -2.0], dtype=torch.float64)).sum() + grid.sum()

    weight = regressor.trunk.conv1.weight
    objective().backward()
    gradient = weight.grad.clone()
    assert gradient.abs().sum() > 0
    step = 1e-6 * gradient / gradient.norm()
    with torch.no_grad():
        before = objective().item()
        weight.add_(step)
        after = objective().item()
    assert after - before == pytest.approx((gradient * step).sum().item(), rel=1e-3)


def test_regressor_learns_to_give_two_kinds_of_image_different_parameters():
    # Dark, flat slices want (clip 2, grid 4); bright, textured ones (clip 16, grid 12): a
    # per-image optimum that differs by kind. Trained on both, the outputs must separate, each
    # kind near its own target, both heads moving (in log space, inside [1, 32] and [2, 16]).
    torch.manual_seed(0)
    regressor = CLAHEParamRegressor(
        input_size=32,
        base_channels=4,
        clip_range=(1.0, 32.0),
        grid_range=(2.0, 16.0),
        log_outputs=True,
    )
    generator = torch.Generator().manual_seed(0)
    dark = 0.2 + 0.02 * torch.rand(8, 1, 32, 32, generator=generator)
    bright = 0.6 + 0.3 * torch.rand(8, 1, 32, 32, generator=generator)
    images = torch.cat([dark, bright])
    target = torch.tensor([[2.0, 4.0]] * 8 + [[16.0, 12.0]] * 8).log()
    optimizer = torch.optim.Adam(regressor.parameters(), lr=1e-2)
    # Many tiny ops: one thread, so that a busy machine cannot stall every op's thread barrier.
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        for _ in range(150):
            optimizer.zero_grad()
            clip, grid = regressor(images)
            loss = ((torch.stack([clip, grid], 1).log() - target) ** 2).mean()
            loss.backward()
            optimizer.step()
    finally:
        torch.set_num_threads(threads)
    regressor.eval()
    with torch.no_grad():
        clip, grid = regressor(images)
    assert clip[:8].max() < 4.0 < 8.0 < clip[8:].min()
    assert grid[:8].max() < 7.0 < 9.0 < grid[8:].min()


def test_log_space_output_starts_at_the_init_and_keeps_its_slope_inside_the_range():
    regressor = small_regressor(clip_range=(1.0, 32.0), log_outputs=True)
    clip, grid = regressor(torch.rand(2, 1, 32, 32))
    assert clip.tolist() == pytest.approx([2.0, 2.0], abs=1e-5)
    assert grid.tolist() == pytest.approx([8.0, 8.0], abs=1e-5)
    squash = BoundedOutput(1.0, 32.0, log_space=True)
    linear = BoundedOutput(1.0, 8.0)
    scores = torch.tensor([squash.inverse(v) for v in (2.0, 8.0)], requires_grad=True)
    squash(scores).sum().backward()
    # d clip / d score at 8 is at least the one at 2 (a linear [1, 8] squash: ~43x smaller).
    assert scores.grad[1] > scores.grad[0] > 0
    near_top = torch.tensor(linear.inverse(7.98), requires_grad=True)
    linear(near_top).backward()
    assert near_top.grad < scores.grad[0] / 10
    values = torch.tensor([1.5, 3.0, 20.0])
    assert squash(squash.inverse_tensor(values)).tolist() == pytest.approx(values.tolist())
    with pytest.raises(ValueError, match='positive'):
        BoundedOutput(0.0, 8.0, log_space=True)


def test_to_scores_inverts_to_params():
    regressor = small_regressor(clip_range=(1.0, 32.0), log_outputs=True)
    scores = torch.tensor([[-1.0, 0.5], [2.0, -0.3]])
    clip, grid = regressor.to_params(scores)
    assert torch.allclose(regressor.to_scores(clip, grid), scores, atol=1e-5)


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


def regressor_with_image_dependent_heads(**kwargs):
    """``small_regressor`` in eval mode, with the heads' last layers drawn from a fixed seed."""
    regressor = small_regressor(**kwargs).eval()
    generator = torch.Generator().manual_seed(5)
    with torch.no_grad():
        for head in (regressor.clip_head, regressor.grid_head):
            head[-1].weight.copy_(torch.randn(head[-1].weight.shape, generator=generator))
    return regressor, torch.rand(3, 1, 32, 32, generator=generator)


def test_gate_off_is_the_paper_regressor_as_before_the_gate():
    # The outputs the two-output regressor gave on this input before the gate head existed:
    # the gate option must not change the default model by a bit of its function.
    regressor, images = regressor_with_image_dependent_heads()
    with torch.no_grad():
        outputs = regressor(images)
    assert len(outputs) == 2
    clip, grid = outputs
    assert clip.tolist() == pytest.approx([1.9397243, 1.9396913, 1.9395828], abs=1e-6)
    assert grid.tolist() == pytest.approx([7.8259959, 7.8265657, 7.8246121], abs=1e-6)
    assert not any('gate' in key for key in regressor.state_dict())
    assert regressor.log_std.shape == (2,)


def test_a_checkpoint_without_the_gate_head_loads_strictly_only_into_a_gate_off_regressor():
    from mmlesion.models.regressors import load_regressor_weights

    old, _ = regressor_with_image_dependent_heads()
    checkpoint = {
        'state_dict': {f'data_preprocessor.regressor.{k}': v for k, v in old.state_dict().items()}
    }
    fresh = small_regressor()
    load_regressor_weights(fresh, checkpoint, 'old.pth')
    for key, value in old.state_dict().items():
        assert torch.equal(fresh.state_dict()[key], value), key
    with pytest.raises(ValueError, match='gate_head'):
        load_regressor_weights(small_regressor(gate=True), checkpoint, 'old.pth')


def test_gated_regressor_starts_every_image_at_gate_init():
    regressor = small_regressor(gate=True, gate_init=0.02)
    clip, grid, alpha = regressor(torch.rand(3, 1, 40, 50))
    assert alpha.shape == (3,)
    assert alpha.tolist() == pytest.approx([0.02] * 3, abs=1e-6)
    assert clip.tolist() == pytest.approx([2.0] * 3, abs=1e-5)
    assert grid.tolist() == pytest.approx([8.0] * 3, abs=1e-5)
    assert regressor.log_std.shape == (3,)
    assert sum(isinstance(m, nn.Linear) for m in regressor.gate_head) == 2


def test_gate_output_is_a_sigmoid_into_the_unit_interval_and_inverts():
    regressor = small_regressor(gate=True)
    scores = torch.tensor([[0.0, 0.0, -1e4], [0.0, 0.0, 1e4], [0.0, 0.0, 0.0], [1.0, -2.0, 0.7]])
    *_, alpha = regressor.to_params(scores)
    assert alpha[:3].tolist() == [0.0, 1.0, 0.5]
    params = regressor.to_params(scores[3:])
    assert torch.allclose(regressor.to_scores(*params), scores[3:], atol=1e-5)
    with pytest.raises(ValueError, match=r'expected 3 parameters \(clip, grid, alpha\)'):
        regressor.to_scores(*params[:2])


def test_gated_sample_draws_alpha_too():
    regressor = small_regressor(gate=True)
    torch.manual_seed(1)
    *_, alpha, log_prob = regressor.sample(torch.rand(64, 1, 32, 32))
    assert alpha.shape == log_prob.shape == (64,)
    assert not alpha.requires_grad and log_prob.requires_grad
    assert 0.0 < alpha.min() and alpha.max() < 0.2 and alpha.std() > 0


def test_non_finite_gate_scores_fall_back_to_gate_init():
    regressor = small_regressor(gate=True, gate_init=0.1)
    scores = torch.tensor([[0.0, 0.0, float('nan')]])
    with pytest.warns(RuntimeWarning, match='NaN/Inf'):
        *_, alpha = regressor.to_params(regressor._finite(scores))
    assert alpha.item() == pytest.approx(0.1)


@pytest.mark.parametrize('gate_init', [0.0, 1.0, -0.5])
def test_gate_init_must_lie_inside_the_unit_interval(gate_init):
    with pytest.raises(ValueError, match='gate_init'):
        small_regressor(gate=True, gate_init=gate_init)
