"""FrozenDetectorEnhancer: only the enhancer learns, the objectives carry a real gradient."""

import pytest
import torch
from conftest import (
    DEMO_CONFIGS,
    DEMO_ENHANCER,
    data_options,
    detections,
    fake_batch,
    fractional_batch,
    predict,
    same_detections,
    tiny_detector_config,
    tiny_enhancer_config,
    train_in_process,
)
from mmdet.registry import MODELS
from mmengine.optim import OptimWrapper

from mmlesion.enhancement import glcae
from mmlesion.utils import register_all_modules

register_all_modules()


def build_enhancer(**overrides):
    torch.manual_seed(0)
    with pytest.warns(UserWarning, match='RANDOM'):
        model = MODELS.build(tiny_enhancer_config(**overrides))
    model.init_weights()
    return model


def trainable_optimizer(model, lr=1e-2):
    params = [p for p in model.parameters() if p.requires_grad]
    return OptimWrapper(torch.optim.Adam(params, lr=lr))


def test_detector_is_frozen_and_stays_in_eval_mode():
    model = build_enhancer()
    model.train()
    assert not model.detector.training
    assert all(not m.training for m in model.detector.modules())
    assert model.data_preprocessor.regressor.training
    assert not any(p.requires_grad for p in model.detector.parameters())
    assert any(p.requires_grad for p in model.data_preprocessor.regressor.parameters())


def test_train_step_changes_regressor_and_nothing_of_the_detector():
    model = build_enhancer()
    model.train()
    detector_before = {k: v.clone() for k, v in model.detector.state_dict().items()}
    head_before = model.data_preprocessor.regressor.clip_head[-1].weight.clone()
    log = model.train_step(fake_batch(), trainable_optimizer(model))
    assert set(log) >= {'loss', 'loss_enhance', 'surrogate_enhanced', 'surrogate_original'}
    for key, value in model.detector.state_dict().items():  # weights and BN statistics
        assert torch.equal(value, detector_before[key]), key
    assert not torch.equal(model.data_preprocessor.regressor.clip_head[-1].weight, head_before)


def test_surrogate_gradient_reaches_clip_and_grid():
    model = build_enhancer(data_preprocessor={'mode': 'fixed'})
    batch = model.data_preprocessor(fake_batch(), training=True)
    images = torch.stack([x / 255 for x in fake_batch()['inputs']])
    clip = torch.full((2,), 3.0, requires_grad=True)
    grid = torch.full((2,), 4.5, requires_grad=True)  # fractional: the soft grid
    enhanced = glcae(images, clip, grid) * 255
    normalized = (enhanced - model.data_preprocessor.mean) / model.data_preprocessor.std
    losses = model._surrogate_loss(normalized, batch['original_inputs'], batch['data_samples'])
    losses['loss_enhance'].backward()
    for name, param in (('clip', clip), ('grid', grid)):
        assert param.grad is not None, name
        assert torch.isfinite(param.grad).all(), name
        assert param.grad.abs().sum() > 0, name


def test_surrogate_is_zero_when_nothing_changes():
    model = build_enhancer(data_preprocessor={'mode': 'identity', 'regressor': None})
    batch = model.data_preprocessor(fake_batch(), training=True)
    losses = model._surrogate_loss(batch['inputs'], batch['original_inputs'], batch['data_samples'])
    # Same images and the same random state: the samplers draw alike, the difference is 0.
    assert losses['loss_enhance'].item() == pytest.approx(0.0, abs=1e-6)


def drawn_log_prob(model, batch_inputs, data_samples):
    """Log probability, under the regressor's current policy, of the parameters drawn before
    (as written in the data samples)."""
    regressor = model.data_preprocessor.regressor
    clip = torch.tensor([s.clahe_clip_limit for s in data_samples])
    grid = torch.tensor([s.clahe_grid_size for s in data_samples])
    drawn = regressor.to_scores(clip, grid)
    key = torch.stack([x[1][None] / 255 for x in batch_inputs])
    policy = torch.distributions.Normal(regressor.scores(key), regressor.log_std.exp())
    return policy.log_prob(drawn).sum()


@pytest.mark.parametrize(
    ('maps', 'baseline', 'likelier'),
    [((0.2, 0.5), 0.0, True), ((0.2, 0.1), 0.0, False), ((0.2, 0.5), 0.6, False)],
)
def test_reinforce_sign_convention_and_gradient_direction(monkeypatch, maps, baseline, likelier):
    # A step of gradient descent on the loss must make the drawn parameters more likely when
    # their reward beats the running baseline, and less likely when it falls short of it.
    model = build_enhancer(objective='reinforce')
    model.train()
    regressor = model.data_preprocessor.regressor
    regressor.eval()  # BatchNorm from running statistics: the policy is a fixed function
    with torch.no_grad():
        regressor.clip_head[-1].weight.normal_(std=0.1)  # an image-dependent policy
    model.reward_baseline.fill_(baseline)
    monkeypatch.setattr(model, '_batch_maps', lambda *args: maps)
    raw = fake_batch()
    batch = model.data_preprocessor(fake_batch(), training=True)
    log_prob = batch['param_log_prob']
    assert log_prob.shape == (2,) and log_prob.requires_grad
    losses = model._reinforce_loss(
        batch['inputs'], batch['original_inputs'], batch['data_samples'], log_prob
    )
    reward = maps[1] - maps[0]
    assert losses['loss_enhance'].item() == pytest.approx(-reward)  # negative = gain
    assert losses['map_delta'].item() == pytest.approx(-reward)
    assert model.reward_baseline.item() == pytest.approx(0.9 * baseline + 0.1 * reward)
    with torch.no_grad():
        before = drawn_log_prob(model, raw['inputs'], batch['data_samples']).item()
    optimizer = torch.optim.SGD([p for p in regressor.parameters() if p.requires_grad], lr=0.05)
    optimizer.zero_grad()
    losses['loss_enhance'].backward()
    optimizer.step()
    with torch.no_grad():
        after = drawn_log_prob(model, raw['inputs'], batch['data_samples']).item()
    assert (after > before) == likelier, (before, after)


def test_reinforce_train_step_samples_parameters():
    model = build_enhancer(objective='reinforce')
    model.train()
    log = model.train_step(fake_batch(), trainable_optimizer(model))
    assert 'map_delta' in log and 'reward_baseline' in log


def test_map_delta_logged_at_the_interval():
    model = build_enhancer(map_delta_interval=2)
    model.train()
    optimizer = trainable_optimizer(model)
    first = model.train_step(fake_batch(), optimizer)
    second = model.train_step(fake_batch(seed=1), optimizer)
    assert 'map_delta' not in first and 'map_delta' in second


def test_predict_records_the_parameters_used():
    model = build_enhancer()
    model.eval()
    outputs = model.val_step(fake_batch())
    assert len(outputs) == 2
    for sample in outputs:
        assert 'pred_instances' in sample
        assert sample.clahe_clip_limit == pytest.approx(2.0, abs=1e-4)
        assert sample.clahe_grid_size == pytest.approx(8.0, abs=1e-4)


def test_detector_checkpoint_loads_and_a_bare_one_loads_into_the_wrapper(tmp_path):
    torch.manual_seed(1)
    detector = MODELS.build(tiny_detector_config())
    path = tmp_path / 'detector.pth'
    torch.save({'state_dict': detector.state_dict()}, path)
    model = MODELS.build(tiny_enhancer_config(detector_checkpoint=str(path)))
    for key, value in detector.state_dict().items():
        assert torch.equal(model.detector.state_dict()[key], value)

    # tools/test.py on a baseline config loads the bare detector checkpoint into the wrapper.
    fresh = build_enhancer()
    fresh.load_state_dict(detector.state_dict(), strict=False)
    for key, value in detector.state_dict().items():
        assert torch.equal(fresh.detector.state_dict()[key], value)


def test_enhancer_checkpoint_puts_a_trained_regressor_in_front_of_another_detector(tmp_path):
    trained = build_enhancer()
    with torch.no_grad():
        for param in trained.data_preprocessor.regressor.parameters():
            param.add_(0.01 * torch.randn_like(param))
    path = tmp_path / 'enhancer.pth'
    torch.save({'state_dict': trained.state_dict()}, path)
    other = tiny_detector_config()
    other.roi_head.bbox_head.num_classes = 8
    with pytest.warns(UserWarning, match='RANDOM'):
        model = MODELS.build(tiny_enhancer_config(detector=other, enhancer_checkpoint=str(path)))
    model.init_weights()  # the Runner calls it before training: the loaded regressor stays
    loaded = model.data_preprocessor.regressor.state_dict()
    for key, value in trained.data_preprocessor.regressor.state_dict().items():
        assert torch.equal(loaded[key], value), key


def test_only_normalisation_and_padding_come_from_the_detector_preprocessor():
    detector = tiny_detector_config()
    detector.data_preprocessor = {
        'type': 'AdaptiveCLAHEPreprocessor',
        'mode': 'fixed',  # a detector trained on fixed-GLCAE images
        'fixed_params': (3.0, 4),
        'mean': [100.0] * 3,
        'std': [50.0] * 3,
        'pad_size_divisor': 64,
    }
    with pytest.warns(UserWarning, match='RANDOM'):
        model = MODELS.build(tiny_enhancer_config(detector=detector))
    preprocessor = model.data_preprocessor
    assert preprocessor.mode == 'learned' and preprocessor.fixed_params == (2.0, 8.0)
    assert preprocessor.mean.flatten().tolist() == [100.0] * 3
    assert preprocessor.pad_size_divisor == 64


def test_training_in_front_of_a_random_detector_is_refused_without_the_opt_in(tmp_path):
    refused = build_enhancer(allow_random_detector=False)
    with pytest.raises(RuntimeError, match=r'RANDOM weights.*model\.detector_checkpoint'):
        refused.train()
    refused.eval()  # evaluation before a whole checkpoint is loaded stays possible
    # A whole enhancer state dict (tools/test.py, --resume) brings the detector's weights.
    trained = build_enhancer()
    refused.load_state_dict(trained.state_dict())
    refused.train()
    # So does the detector's own checkpoint.
    path = tmp_path / 'detector.pth'
    torch.save({'state_dict': trained.detector.state_dict()}, path)
    config = tiny_enhancer_config(allow_random_detector=False, detector_checkpoint=str(path))
    MODELS.build(config).train()


def test_enhancer_config_without_detector_checkpoint_does_not_train(data_root, tmp_path):
    from mmlesion.utils import check_detector_checkpoint, prepare_train_config

    options = {
        **data_options(data_root),
        'model.detector': tiny_detector_config().to_dict(),
        'model.data_preprocessor.regressor.input_size': 32,
        'model.data_preprocessor.regressor.base_channels': 4,
    }
    config = str(DEMO_CONFIGS / DEMO_ENHANCER)
    # tools/train.py says so before reading any data...
    with pytest.raises(ValueError, match=r'model\.detector_checkpoint is not set.*RANDOM'):
        check_detector_checkpoint(prepare_train_config(config, cfg_options=options), config)
    check_detector_checkpoint(prepare_train_config(config, resume='auto'), config)
    # ... and the model itself refuses to train, e.g. resuming from an empty work dir.
    with pytest.warns(UserWarning, match='RANDOM'):
        with pytest.raises(RuntimeError, match='refusing to train'):
            train_in_process(config, str(tmp_path), options, resume='auto')
    assert not list(tmp_path.glob('*.pth'))


@pytest.mark.parametrize('gate', [False, True])
@pytest.mark.parametrize('objective', ['surrogate', 'reinforce'])
def test_every_trainable_parameter_takes_a_gradient(objective, gate, monkeypatch):
    """What DistributedDataParallel needs: a trainable parameter without a gradient stops it at
    its second iteration (``log_std`` is trained only by the reinforce objective)."""
    model = build_enhancer(objective=objective, data_preprocessor=gated_learned() if gate else {})
    if objective == 'reinforce':  # a reward that is not zero, so the policy term has a gradient
        maps = iter([0.2, 0.5])
        monkeypatch.setattr(model, '_batch_maps', lambda *args: (next(maps), next(maps)))
    model.train()
    batch = model.data_preprocessor(fake_batch(), training=True)
    losses = model(**batch, mode='loss')
    total, _ = model.parse_losses(losses)
    total.backward()
    trainable = {n: p for n, p in model.named_parameters() if p.requires_grad}
    assert trainable, 'the regressor trains'
    assert not [n for n, p in trainable.items() if p.grad is None]
    assert ('data_preprocessor.regressor.log_std' in trainable) == (objective == 'reinforce')


# -- the blend gate -------------------------------------------------------------------------------
GATED_REGRESSOR = {
    'type': 'CLAHEParamRegressor',
    'input_size': 32,
    'base_channels': 4,
    'gate': True,
}


def gated_learned() -> dict:
    return {'mode': 'learned', 'regressor': dict(GATED_REGRESSOR)}


def test_gate_at_zero_gives_the_detections_of_the_detector_alone():
    alone = build_enhancer(data_preprocessor={'mode': 'identity', 'regressor': None})
    expected = detections(alone, fractional_batch())
    assert all(len(boxes) > 0 for boxes, _, _ in expected)  # something to compare

    def in_front_of_the_same_detector(preprocessor: dict):
        model = build_enhancer(data_preprocessor=preprocessor)
        model.detector.load_state_dict(alone.detector.state_dict())
        return model

    fixed_zero = in_front_of_the_same_detector({'mode': 'fixed', 'fixed_alpha': 0.0})
    assert same_detections(detections(fixed_zero, fractional_batch()), expected)
    learned_zero = in_front_of_the_same_detector(gated_learned())
    with torch.no_grad():  # a gate score whose sigmoid is exactly 0 in float32
        learned_zero.data_preprocessor.regressor.gate_head[-1].bias.fill_(-200.0)
    assert same_detections(detections(learned_zero, fractional_batch()), expected)
    assert [o.clahe_alpha for o in predict(learned_zero, fake_batch())] == [0.0, 0.0]
    # The comparison can fail: the same detector behind the enhancement detects otherwise.
    enhanced = in_front_of_the_same_detector({'mode': 'fixed'})
    assert not same_detections(detections(enhanced, fractional_batch()), expected)


def test_train_step_moves_the_gate_head():
    model = build_enhancer(data_preprocessor=gated_learned())
    model.train()
    gate_before = model.data_preprocessor.regressor.gate_head[-1].weight.clone()
    log = model.train_step(fake_batch(), trainable_optimizer(model))
    assert log['alpha_mean'].item() == pytest.approx(0.02, abs=1e-4)
    assert not torch.equal(model.data_preprocessor.regressor.gate_head[-1].weight, gate_before)


def test_predict_records_alpha_when_the_gate_is_on():
    model = build_enhancer(data_preprocessor=gated_learned())
    model.eval()
    for sample in model.val_step(fake_batch()):
        assert sample.clahe_alpha == pytest.approx(0.02, abs=1e-6)
    plain = build_enhancer()
    plain.eval()
    assert 'clahe_alpha' not in plain.val_step(fake_batch())[0]
