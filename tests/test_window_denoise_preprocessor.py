"""WindowDenoisePreprocessor and the CT-native enhancer in front of the frozen detector."""

import pytest
import torch
from conftest import (
    detections,
    fake_batch,
    fractional_batch,
    predict,
    same_detections,
    tiny_enhancer_config,
)
from mmdet.registry import MODELS
from mmengine.optim import OptimWrapper

from mmlesion.models import WindowDenoisePreprocessor
from mmlesion.utils import register_all_modules

register_all_modules()

REGRESSOR = {'type': 'WindowDenoiseRegressor', 'input_size': 32, 'base_channels': 4}
KEYS = ('window_level_offset_hu', 'window_width_scale', 'denoise_strength')


def build_enhancer(**preprocessor):
    torch.manual_seed(0)
    config = tiny_enhancer_config()
    config['data_preprocessor'] = {'type': 'WindowDenoisePreprocessor', **preprocessor}
    with pytest.warns(UserWarning, match='RANDOM'):
        model = MODELS.build(config)
    model.init_weights()
    return model


# -- the preprocessor -----------------------------------------------------------------------------
def test_fixed_identity_parameters_give_exactly_the_identity_batch():
    batch = fractional_batch()
    identity = WindowDenoisePreprocessor(mode='identity')(fractional_batch())
    fixed = WindowDenoisePreprocessor(mode='fixed', fixed_params=(0.0, 1.0, 0.0))(batch)
    assert torch.equal(fixed['inputs'], identity['inputs'])
    assert [s.window_width_scale for s in fixed['data_samples']] == [1.0, 1.0]
    assert all(s.window_width_scale is None for s in identity['data_samples'])


def test_a_narrower_fixed_window_spreads_the_soft_tissue_channel():
    batch = fake_batch()
    before = torch.stack(batch['inputs'])[:, 0].std()
    narrow = WindowDenoisePreprocessor(mode='fixed', fixed_params=(0.0, 0.5, 0.0))
    out = narrow.enhance_batch([x.float() for x in batch['inputs']])[0]
    assert torch.stack(list(out))[:, 0].std() > 1.8 * before


def test_denoising_lowers_the_noise_of_a_noisy_flat_image():
    noisy = 100 + 10 * torch.randn(1, 3, 64, 64, generator=torch.Generator().manual_seed(0))
    denoise = WindowDenoisePreprocessor(mode='fixed', fixed_params=(0.0, 1.0, 0.8), sigma_px=1.5)
    (out,), params, _ = denoise.enhance_batch([noisy[0]])
    assert out[:, 8:-8, 8:-8].std() < 0.6 * noisy[0, :, 8:-8, 8:-8].std()
    assert params['denoise_strength'].tolist() == pytest.approx([0.8])


def test_images_of_different_sizes_are_enhanced_with_their_own_parameters():
    pre = WindowDenoisePreprocessor(regressor=REGRESSOR)
    inputs = [torch.rand(3, 32, 32) * 255, torch.rand(3, 40, 24) * 255]
    out, params, _ = pre.enhance_batch(inputs)
    assert [tuple(x.shape) for x in out] == [(3, 32, 32), (3, 40, 24)]
    assert all(params[k].shape == (2,) for k in KEYS)


@pytest.mark.parametrize(
    ('kwargs', 'match'),
    [
        ({'mode': 'learned'}, 'needs a regressor'),
        ({'mode': 'fixed'}, 'needs fixed_params'),
        ({'mode': 'fixed', 'fixed_params': (0.0, 1.0)}, 'must be'),
        ({'mode': 'fixed', 'fixed_params': (0.0, 0.0, 0.0)}, 'width scale > 0'),
        ({'mode': 'identity', 'window_widths_hu': (400.0, -1.0, None)}, 'window_widths_hu'),
        ({'mode': 'other'}, 'mode must be one of'),
    ],
)
def test_bad_settings_are_refused(kwargs, match):
    with pytest.raises(ValueError, match=match):
        WindowDenoisePreprocessor(**kwargs)


def test_a_channel_count_that_does_not_fit_the_widths_is_refused():
    pre = WindowDenoisePreprocessor(mode='fixed', fixed_params=(0.0, 1.0, 0.0))
    with pytest.raises(ValueError, match='one width'):
        pre.enhance_batch([torch.zeros(1, 8, 8)])


# -- in front of the frozen detector --------------------------------------------------------------
def test_train_step_changes_the_regressor_and_nothing_of_the_detector():
    model = build_enhancer(regressor=dict(REGRESSOR))
    model.train()
    detector_before = {k: v.clone() for k, v in model.detector.state_dict().items()}
    regressor = model.data_preprocessor.regressor
    heads_before = [h.layers[-1].weight.clone() for h in regressor.heads()]
    params = [p for p in model.parameters() if p.requires_grad]
    log = model.train_step(fake_batch(), OptimWrapper(torch.optim.Adam(params, lr=1e-2)))
    assert {'loss_enhance', 'level_offset_hu_mean', 'width_scale_mean', 'denoise_mean'} <= set(log)
    for key, value in model.detector.state_dict().items():  # weights and BN statistics
        assert torch.equal(value, detector_before[key]), key
    moved = [
        not torch.equal(h.layers[-1].weight, w)
        for h, w in zip(regressor.heads(), heads_before, strict=True)
    ]
    assert all(moved)


def test_reinforce_samples_the_three_parameters():
    model = build_enhancer(regressor=dict(REGRESSOR))
    model.objective = 'reinforce'
    model.data_preprocessor.sample_params = True
    model.train()
    batch = model.data_preprocessor(fake_batch(), training=True)
    assert batch['param_log_prob'].shape == (2,) and batch['param_log_prob'].requires_grad


def test_identity_mode_and_identity_parameters_give_the_detections_of_the_detector_alone():
    alone = build_enhancer(mode='identity')
    expected = detections(alone, fractional_batch())
    assert all(len(boxes) > 0 for boxes, _, _ in expected)  # something to compare

    def in_front_of_the_same_detector(**preprocessor):
        model = build_enhancer(**preprocessor)
        model.detector.load_state_dict(alone.detector.state_dict())
        return model

    fixed = in_front_of_the_same_detector(mode='fixed', fixed_params=(0.0, 1.0, 0.0))
    assert same_detections(detections(fixed, fractional_batch()), expected)
    assert [o.window_level_offset_hu for o in predict(fixed, fake_batch())] == [0.0, 0.0]
    # The comparison can fail: a changed window changes what the same detector finds.
    changed = in_front_of_the_same_detector(mode='fixed', fixed_params=(60.0, 0.5, 0.5))
    assert not same_detections(detections(changed, fractional_batch()), expected)


def test_predict_records_the_parameters_and_no_clahe_ones():
    model = build_enhancer(regressor=dict(REGRESSOR))
    for sample in predict(model, fake_batch()):
        assert sample.window_level_offset_hu == 0.0 and sample.window_width_scale == 1.0
        assert sample.denoise_strength == pytest.approx(0.02, abs=1e-6)
        assert 'clahe_clip_limit' not in sample
