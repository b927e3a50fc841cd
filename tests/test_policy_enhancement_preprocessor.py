"""PolicyEnhancementPreprocessor: identity passes the image on exactly, a setting applies what
the fixed GLCAE applies, the choice follows the policy, and training through it is refused."""

import pytest
import torch
from conftest import fake_batch, tiny_detector_config
from mmdet.registry import MODELS

from mmlesion.utils import register_all_modules

register_all_modules()

NORMALISE = {'mean': [127.5] * 3, 'std': [127.5] * 3, 'pad_size_divisor': 32}
POLICY = {'type': 'SettingPolicy', 'settings': [None, (3.0, 4.0), (2.0, 8.0)], 'base_channels': 4}


def build(**kwargs):
    torch.manual_seed(0)
    return MODELS.build(
        {'type': 'PolicyEnhancementPreprocessor', 'regressor': POLICY, **NORMALISE, **kwargs}
    )


def test_identity_passes_the_image_on_bit_identically():
    preprocessor = build()
    batch = fake_batch()
    enhanced, chosen, probs = preprocessor.enhance(batch['inputs'])
    assert chosen == [0, 0]  # an untrained policy picks the first setting: identity
    for out, original in zip(enhanced, batch['inputs'], strict=True):
        assert out is original
    plain = MODELS.build({'type': 'DetDataPreprocessor', **NORMALISE})
    assert torch.equal(preprocessor(fake_batch())['inputs'], plain(fake_batch())['inputs'])
    torch.testing.assert_close(probs, torch.full((2, 3), 1 / 3))


def test_identity_in_front_of_the_detector_gives_the_detector_alones_detections():
    detector = tiny_detector_config()
    detector.data_preprocessor = {'type': 'DetDataPreprocessor', **NORMALISE}
    config = {
        'type': 'FrozenDetectorEnhancer',
        'detector': detector,
        'allow_random_detector': True,
        'data_preprocessor': {'type': 'PolicyEnhancementPreprocessor', 'regressor': POLICY},
    }
    torch.manual_seed(0)
    with pytest.warns(UserWarning, match='detector_checkpoint=None'):
        model = MODELS.build(config).eval()
    plain = MODELS.build(detector.data_preprocessor)
    with torch.no_grad():
        with_policy = model.test_step(fake_batch())
        data = plain(fake_batch(), False)
        without = model.detector.predict(data['inputs'], data['data_samples'])
    for a, b in zip(with_policy, without, strict=True):
        assert torch.equal(a.pred_instances.bboxes, b.pred_instances.bboxes)
        assert torch.equal(a.pred_instances.scores, b.pred_instances.scores)


def test_a_setting_applies_what_the_fixed_glcae_applies():
    preprocessor = build()
    preprocessor.setting_index = 1
    fixed = MODELS.build(
        {'type': 'AdaptiveCLAHEPreprocessor', 'mode': 'fixed', 'fixed_params': (3.0, 4.0)}
        | NORMALISE
    )
    out = preprocessor(fake_batch())
    assert torch.equal(out['inputs'], fixed(fake_batch())['inputs'])
    sample = out['data_samples'][0]
    assert (sample.enhancement_setting, sample.clahe_clip_limit, sample.clahe_grid_size) == (
        1,
        3.0,
        4.0,
    )
    assert sample.setting_probs is None
    preprocessor.setting_index = 7
    with pytest.raises(ValueError, match='setting_index 7'):
        preprocessor(fake_batch())


def test_each_image_gets_the_setting_of_its_largest_logit():
    preprocessor = build()
    # Bias the last layer: an image's choice then follows from the sign of one feature.
    head = preprocessor.regressor.head[-1]
    with torch.no_grad():
        head.bias.copy_(torch.tensor([0.0, -1.0, 1.0]))
    preprocessor.regressor.eval()
    out = preprocessor(fake_batch())
    assert [s.enhancement_setting for s in out['data_samples']] == [2, 2]
    assert [s.clahe_clip_limit for s in out['data_samples']] == [2.0, 2.0]


def test_training_through_the_preprocessor_is_refused():
    with pytest.raises(RuntimeError, match='loss table'):
        build()(fake_batch(), training=True)
