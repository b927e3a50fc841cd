"""AdaptiveCLAHEPreprocessor: its three modes, both methods, metainfo, mixed-size batches."""

import pytest
import torch
from conftest import fake_batch, fractional_batch
from mmdet.registry import MODELS

from mmlesion.enhancement import clahe, glcae
from mmlesion.utils import register_all_modules

register_all_modules()

NORMALISE = {'mean': [127.5] * 3, 'std': [127.5] * 3, 'pad_size_divisor': 32}
REGRESSOR = {'type': 'CLAHEParamRegressor', 'input_size': 32, 'base_channels': 4}


def build(**kwargs):
    torch.manual_seed(0)
    return MODELS.build({'type': 'AdaptiveCLAHEPreprocessor', **NORMALISE, **kwargs})


def normalise(images):
    return (images - 127.5) / 127.5


def test_identity_mode_is_the_plain_detection_preprocessor():
    batch = fake_batch()
    out = build(mode='identity')(fake_batch())
    assert torch.allclose(out['inputs'], normalise(torch.stack(batch['inputs'])))
    assert out['data_samples'][0].clahe_clip_limit is None


@pytest.mark.parametrize(('method', 'enhance'), [('glcae', glcae), ('clahe', clahe)])
def test_fixed_mode_applies_the_fixed_parameters(method, enhance):
    batch = fake_batch()
    out = build(mode='fixed', method=method, fixed_params=(3.0, 4))(fake_batch())
    expected = enhance(torch.stack(batch['inputs']) / 255, 3.0, 4) * 255
    assert torch.allclose(out['inputs'], normalise(expected), atol=1e-5)
    assert [s.clahe_clip_limit for s in out['data_samples']] == [3.0, 3.0]
    assert [s.clahe_grid_size for s in out['data_samples']] == [4.0, 4.0]


def test_learned_mode_predicts_per_image_parameters_from_the_key_slice():
    preprocessor = build(mode='learned', regressor=REGRESSOR)
    with torch.no_grad():
        preprocessor.regressor.clip_head[-1].weight.normal_()  # make outputs image-dependent
    out = preprocessor(fake_batch(batch_size=3))
    clips = [s.clahe_clip_limit for s in out['data_samples']]
    assert all(1.0 <= c <= 8.0 for c in clips)
    assert len(set(clips)) == 3
    assert out['inputs'].shape == (3, 3, 128, 128)


def learned_preprocessor_at(clip: float, grid: float):
    """Learned mode with the regressor in eval mode (BatchNorm from running statistics: the
    same function on every call), starting at ``(clip, grid)`` for every image."""
    preprocessor = build(mode='learned', regressor={**REGRESSOR, 'init_params': (clip, grid)})
    preprocessor.regressor.eval()
    return preprocessor


def contrast(preprocessor) -> torch.Tensor:
    return preprocessor(fake_batch(), training=True)['inputs'].std()


def analytic_and_finite_gradient(preprocessor, bias: torch.Tensor) -> tuple[float, float]:
    """d contrast / d bias by backpropagation and by a central difference (eps 1e-3)."""
    contrast(preprocessor).backward()
    grad = bias.grad.item()
    eps = 1e-3
    with torch.no_grad():
        bias.add_(eps)
        up = contrast(preprocessor).item()
        bias.sub_(2 * eps)
        down = contrast(preprocessor).item()
    return grad, (up - down) / (2 * eps)


def test_learned_grid_gradient_is_the_derivative_of_the_enhanced_batch():
    # The soft grid blends the two neighbouring integer grids: the enhanced batch is
    # differentiable in the grid head's output, and the gradient matches a finite difference.
    preprocessor = learned_preprocessor_at(2.0, 9.3)
    bias = preprocessor.regressor.grid_head[-1].bias
    grad, finite = analytic_and_finite_gradient(preprocessor, bias)
    assert abs(finite) > 1e-4
    assert finite == pytest.approx(grad, rel=0.05)


def test_learned_clip_gradient_points_where_the_enhanced_batch_goes():
    # OpenCV's CLAHE uses an integer clip count, so the forward pass is a staircase in the clip
    # limit and its gradient a straight-through one (clahe_lut.py): over a step that crosses
    # the neighbouring counts, the batch must change in the direction the gradient says.
    preprocessor = learned_preprocessor_at(2.5, 8.0)
    regressor = preprocessor.regressor
    bias = regressor.clip_head[-1].bias
    contrast(preprocessor).backward()
    grad = bias.grad.item()
    assert grad != 0
    up_score = regressor.clip_output.inverse(3.5) - regressor.clip_output.inverse(2.5)
    down_score = regressor.clip_output.inverse(1.5) - regressor.clip_output.inverse(2.5)
    with torch.no_grad():
        bias.add_(up_score)
        up = contrast(preprocessor).item()
        bias.add_(down_score - up_score)
        down = contrast(preprocessor).item()
    assert up != down
    assert (up > down) == (grad > 0)


def test_original_inputs_only_when_asked_and_training():
    preprocessor = build(mode='fixed')
    assert 'original_inputs' not in preprocessor(fake_batch(), training=True)
    preprocessor.keep_original = True
    assert 'original_inputs' not in preprocessor(fake_batch(), training=False)
    out = preprocessor(fake_batch(), training=True)
    assert torch.allclose(out['original_inputs'], normalise(torch.stack(fake_batch()['inputs'])))


def test_mixed_sizes_are_enhanced_per_size_and_padded():
    batch = fake_batch(batch_size=2)
    batch['inputs'][1] = batch['inputs'][1][:, :96, :112]
    batch['data_samples'][1].set_metainfo({'img_shape': (96, 112)})
    out = build(mode='fixed', fixed_params=(2.0, 4))(batch)
    assert out['inputs'].shape == (2, 3, 128, 128)
    alone = glcae(batch['inputs'][1][None] / 255, 2.0, 4)[0] * 255
    assert torch.allclose(out['inputs'][1, :, :96, :112], normalise(alone), atol=1e-5)


def test_mixed_sizes_share_one_regressor_pass_in_learned_mode():
    batch = fake_batch(batch_size=3)
    batch['inputs'][1] = batch['inputs'][1][:, :96, :112]
    batch['data_samples'][1].set_metainfo({'img_shape': (96, 112)})
    preprocessor = build(mode='learned', regressor=REGRESSOR).eval()
    with torch.no_grad():
        preprocessor.regressor.clip_head[-1].weight.normal_()
    calls = []
    preprocessor.regressor.register_forward_hook(lambda m, args, out: calls.append(args[0].shape))
    with torch.no_grad():
        out = preprocessor(batch)
    assert calls == [(3, 1, 32, 32)]  # one pass, key slices resized to the regressor input
    for i, image in enumerate(batch['inputs']):
        key_slice = image[1][None, None] / 255
        with torch.no_grad():
            clip, grid = preprocessor.regressor(key_slice)
        sample = out['data_samples'][i]
        assert sample.clahe_clip_limit == pytest.approx(clip.item(), abs=1e-5)
        assert sample.clahe_grid_size == pytest.approx(grid.item(), abs=1e-5)
    small = (
        glcae(
            batch['inputs'][1][None] / 255,
            out['data_samples'][1].clahe_clip_limit,
            out['data_samples'][1].clahe_grid_size,
        )[0]
        * 255
    )
    assert torch.allclose(out['inputs'][1, :, :96, :112], normalise(small), atol=1e-4)


@pytest.mark.parametrize(
    ('kwargs', 'message'),
    [
        ({'mode': 'adaptive'}, 'mode must be'),
        ({'method': 'he'}, 'method must be'),
        ({'mode': 'learned'}, 'needs a regressor'),
        ({'mode': 'fixed', 'fixed_params': (2.0,)}, 'fixed_params'),
        ({'mode': 'fixed', 'fixed_alpha': 1.5}, r'fixed_alpha must lie in \[0, 1\]'),
        ({'mode': 'learned', 'regressor': REGRESSOR, 'fixed_alpha': 0.5}, 'gate=True'),
    ],
)
def test_bad_configuration_is_refused(kwargs, message):
    with pytest.raises(ValueError, match=message):
        build(**kwargs)


def test_gate_at_zero_gives_the_identity_batch_bit_for_bit():
    identity = build(mode='identity')(fractional_batch(), training=True)
    gated = build(mode='fixed', fixed_params=(3.0, 4), fixed_alpha=0.0)(fractional_batch())
    assert torch.equal(gated['inputs'], identity['inputs'])
    assert [s.clahe_alpha for s in gated['data_samples']] == [0.0, 0.0]
    assert [s.clahe_clip_limit for s in gated['data_samples']] == [3.0, 3.0]


def test_fixed_alpha_steps_from_the_image_towards_its_enhancement():
    images = torch.stack(fake_batch()['inputs'])
    enhanced = glcae(images / 255, 3.0, 4) * 255
    out = build(mode='fixed', fixed_params=(3.0, 4), fixed_alpha=0.25)(fake_batch())
    assert torch.allclose(out['inputs'], normalise(0.75 * images + 0.25 * enhanced), atol=1e-5)
    assert [s.clahe_alpha for s in out['data_samples']] == [0.25, 0.25]
    # Without the gate (the default) the metainfo is as it always was: no alpha key.
    plain = build(mode='fixed', fixed_params=(3.0, 4))(fake_batch())
    assert 'clahe_alpha' not in plain['data_samples'][0]


def test_gated_regressor_predicts_and_records_alpha_per_image():
    regressor = {**REGRESSOR, 'gate': True, 'gate_init': 0.1}
    preprocessor = build(mode='learned', regressor=regressor).eval()
    with torch.no_grad():
        preprocessor.regressor.gate_head[-1].weight.normal_()  # image-dependent alpha
        out = preprocessor(fake_batch(batch_size=3))
        _, _, alpha = preprocessor.regressor(
            torch.stack([x[1][None] for x in fake_batch(batch_size=3)['inputs']]) / 255
        )
    recorded = [s.clahe_alpha for s in out['data_samples']]
    assert recorded == pytest.approx(alpha.tolist(), abs=1e-6)
    assert len(set(recorded)) == 3 and all(0 < a < 1 for a in recorded)


def test_alpha_gradient_is_the_derivative_of_the_enhanced_batch():
    regressor = {**REGRESSOR, 'gate': True, 'gate_init': 0.3}
    preprocessor = build(mode='learned', regressor=regressor).eval()
    bias = preprocessor.regressor.gate_head[-1].bias
    grad, finite = analytic_and_finite_gradient(preprocessor, bias)
    assert abs(finite) > 1e-4
    assert finite == pytest.approx(grad, rel=0.02)
