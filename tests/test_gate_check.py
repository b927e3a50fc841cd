"""The blend gate's validation check: the decision rule, the closed gate (alpha exactly 0, no
enhancement run), the written checkpoint, and check_gate through the Runner on generated data:
a closed gate detects exactly what the detector alone detects."""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path

import pytest
import torch
from conftest import DEMO_CONFIGS, enhancer_options, fake_batch
from mmdet.registry import MODELS

from mmlesion.apis.gate_check import (
    GATE_KEY,
    GateDecision,
    check_gate,
    gate_decision,
    split_predictions,
    write_gate,
)
from mmlesion.models import CLAHEParamRegressor
from mmlesion.utils import read_checkpoint, register_all_modules
from mmlesion.utils.checkpoint_loading import load_checkpoint_strictly

register_all_modules()

GATED = str(DEMO_CONFIGS / 'enhancer_r18-w16_6e_synth_gated.py')


def bootstrap(low: float, high: float, point: float = 0.5) -> dict:
    return {'map': [low, high], 'point': {'map': point}, 'confidence': 0.95}


@pytest.mark.parametrize(
    ('low', 'min_gain', 'is_open'),
    [(0.1, 0.0, True), (0.0, 0.0, False), (-0.4, 0.0, False), (0.3, 0.5, False), (-1, -2, True)],
)
def test_the_gate_stays_open_only_above_the_required_lower_bound(low, min_gain, is_open):
    decision = gate_decision(bootstrap(low, 2.0), min_gain, num_slices=7)
    assert decision.open is is_open
    assert decision.interval == (low, 2.0) and decision.num_slices == 7
    assert decision.as_dict()['interval'] == [low, 2.0]


def test_an_undefined_interval_closes_the_gate():
    assert not gate_decision(bootstrap(math.nan, math.nan)).open


def test_a_decision_survives_its_json_record_and_names_its_state():
    closed = gate_decision(bootstrap(-0.4, 1.7, point=0.67), num_slices=219)
    record = json.loads(json.dumps(closed.as_dict()))  # as a checkpoint's meta keeps it
    assert GateDecision.from_dict(record) == closed
    assert closed.describe().startswith('gate closed (the detector alone): ')
    assert '+0.67 mAP points [-0.40, +1.70]' in closed.describe()
    opened = gate_decision(bootstrap(0.2, 1.0), num_slices=5)
    assert opened.describe().startswith('gate open: ')


def gated_regressor() -> CLAHEParamRegressor:
    torch.manual_seed(0)
    regressor = CLAHEParamRegressor(input_size=32, base_channels=4, gate=True, gate_init=0.4)
    with torch.no_grad():
        regressor.gate_head[-1].weight.normal_()  # image-dependent alpha
    return regressor


def test_a_closed_gate_gives_alpha_zero_and_leaves_clip_and_grid_as_they_were():
    regressor = gated_regressor().eval()
    images = torch.rand(3, 1, 40, 40)
    clip, grid, alpha = regressor(images)
    assert alpha.min() > 0
    regressor.set_gate_open(False)
    closed = regressor(images)
    assert torch.equal(closed[0], clip) and torch.equal(closed[1], grid)
    assert torch.equal(closed[2], torch.zeros(3))
    assert regressor.state_dict()['gate_open'] == 0
    regressor.set_gate_open(True)
    assert torch.equal(regressor(images)[2], alpha)
    with pytest.raises(ValueError, match='no blend gate'):
        CLAHEParamRegressor(input_size=32, base_channels=4).set_gate_open(False)


def test_a_closed_gate_hands_the_detector_its_inputs_without_enhancing(monkeypatch):
    regressor = {'type': 'CLAHEParamRegressor', 'input_size': 32, 'base_channels': 4}
    normalise = {'mean': [127.5] * 3, 'std': [127.5] * 3, 'pad_size_divisor': 32}
    torch.manual_seed(0)
    gated = MODELS.build(
        {
            'type': 'AdaptiveCLAHEPreprocessor',
            'regressor': {**regressor, 'gate': True, 'gate_init': 0.4},
            **normalise,
        }
    ).eval()
    identity = MODELS.build({'type': 'AdaptiveCLAHEPreprocessor', 'mode': 'identity', **normalise})
    with torch.no_grad():
        opened = gated(fake_batch())
    assert not torch.equal(opened['inputs'], identity(fake_batch())['inputs'])
    gated.regressor.set_gate_open(False)

    def refuse(*args, **kwargs):
        raise AssertionError('a closed gate must not run the enhancement')

    monkeypatch.setattr(gated, 'enhance_images', refuse)
    with torch.no_grad():
        closed = gated(fake_batch())
    assert torch.equal(closed['inputs'], identity(fake_batch())['inputs'])
    assert [s.clahe_alpha for s in closed['data_samples']] == [0.0, 0.0]


@pytest.fixture(scope='module')
def gated_enhancer(trained_detector, data_root, tmp_path_factory) -> tuple[str, dict]:
    """An untrained gated enhancer (alpha 0.5 for every image) in front of the tiny detector,
    saved as a checkpoint, and its cfg-options."""
    from mmengine.config import Config
    from mmengine.registry import init_default_scope

    options = {
        **enhancer_options(data_root, trained_detector),
        'model.data_preprocessor.regressor.gate_init': 0.5,
        # Few bootstrap slices: any split with predictions will do.
        'test_dataloader.batch_size': 2,
    }
    cfg = Config.fromfile(GATED)
    cfg.merge_from_dict(options)
    init_default_scope('mmdet')
    model = MODELS.build(cfg.model)
    path = tmp_path_factory.mktemp('gated') / 'gated.pth'
    torch.save({'state_dict': model.state_dict(), 'meta': {}}, path)
    return str(path), options


def boxes(predictions: list[dict]) -> list[tuple[torch.Tensor, ...]]:
    return [
        (p['pred_instances']['bboxes'], p['pred_instances']['scores'])
        for p in sorted(predictions, key=lambda p: p['img_path'])
    ]


def same(first, second) -> bool:
    return all(
        torch.equal(a, b)
        for x, y in zip(first, second, strict=True)
        for a, b in zip(x, y, strict=True)
    )


def test_check_gate_writes_the_decided_gate_and_a_closed_one_is_the_detector_alone(
    gated_enhancer, tmp_path
):
    checkpoint, options = gated_enhancer
    opened = check_gate(
        GATED, checkpoint, tmp_path / 'open.pth', tmp_path / 'open', options,
        min_gain=-1e9, num_resamples=50,
    )  # fmt: skip
    closed = check_gate(
        GATED, checkpoint, tmp_path / 'closed.pth', tmp_path / 'closed', options,
        min_gain=1e9, num_resamples=50,
    )  # fmt: skip
    assert opened.open and not closed.open
    assert opened.gain == closed.gain and opened.num_slices > 0
    written = read_checkpoint(tmp_path / 'closed.pth')
    assert written['state_dict'][GATE_KEY] == 0
    assert written['meta']['gate_check'] == closed.as_dict()
    assert read_checkpoint(tmp_path / 'open.pth')['state_dict'][GATE_KEY] == 1

    val = {**options, 'test_dataloader.dataset.split': 'val'}
    alone = boxes(split_predictions(
        GATED, checkpoint, tmp_path / 'alone',
        {**val, 'model.data_preprocessor.mode': 'identity',
         'model.data_preprocessor.regressor': None},
        tmp_path / 'alone.pkl', 'alone',
    ))  # fmt: skip
    deployed_closed = boxes(
        split_predictions(GATED, str(tmp_path / 'closed.pth'), tmp_path / 'c', val,
                          tmp_path / 'c.pkl', 'closed')
    )  # fmt: skip
    deployed_open = boxes(
        split_predictions(GATED, str(tmp_path / 'open.pth'), tmp_path / 'o', val,
                          tmp_path / 'o.pkl', 'open')
    )  # fmt: skip
    assert same(deployed_closed, alone)
    assert not same(deployed_open, alone)  # the enhancement does move the detections


def test_a_gate_written_without_its_buffer_loads_strictly_and_stays_open(gated_enhancer):
    from mmengine.config import Config

    checkpoint, options = gated_enhancer
    data = read_checkpoint(checkpoint)
    assert GATE_KEY in data['state_dict']
    del data['state_dict'][GATE_KEY]  # as a gated enhancer saved before the buffer existed
    old = Path(checkpoint).with_name('old.pth')
    torch.save(data, old)
    cfg = Config.fromfile(GATED)
    cfg.merge_from_dict(options)
    model = MODELS.build(cfg.model)
    model.data_preprocessor.regressor.gate_open.zero_()
    load_checkpoint_strictly(model, str(old))
    assert model.data_preprocessor.regressor.gate_open == 0  # untouched: not in the file
    fresh = MODELS.build(cfg.model)
    load_checkpoint_strictly(fresh, str(old))
    assert fresh.data_preprocessor.regressor.gate_open == 1


def test_write_gate_refuses_a_checkpoint_without_a_gate(trained_detector, tmp_path):
    with pytest.raises(ValueError, match=r'has no blend gate.*gate=True'):
        write_gate(trained_detector, tmp_path / 'out.pth', False, {})
    assert not (tmp_path / 'out.pth').exists()


def test_check_gate_refuses_a_checkpoint_without_a_gate_before_testing(
    trained_detector, gated_enhancer, tmp_path
):
    _, options = gated_enhancer
    with pytest.raises(ValueError, match=r'has no blend gate.*gate=True'):
        check_gate(GATED, trained_detector, tmp_path / 'out.pth', tmp_path / 'w', options)
    assert not (tmp_path / 'w').exists()  # no validation run started
    assert not (tmp_path / 'out.pth').exists()


def test_the_tool_prints_the_decision_and_writes_the_checkpoint(
    gated_enhancer, data_root, tmp_path, monkeypatch, capsys
):
    from mmengine.config import Config
    from tool_configs import load_tool

    checkpoint, options = gated_enhancer
    cfg = Config.fromfile(GATED)
    cfg.merge_from_dict(options)  # the tiny detector: a nested dict, not a --cfg-options value
    config = tmp_path / 'gated_tiny.py'
    cfg.dump(config)
    tool = load_tool('tools/gate_check.py')
    monkeypatch.setattr(
        sys,
        'argv',
        ['gate_check.py', str(config), checkpoint, '--out', str(tmp_path / 'deploy.pth'),
         '--work-dir', str(tmp_path / 'w'), '--min-gain', '1e9', '--resamples', '20',
         '--data-root', str(data_root)],
    )  # fmt: skip
    tool.main()
    out = capsys.readouterr().out
    assert 'gate closed (the detector alone)' in out and 'on val' in out
    assert read_checkpoint(tmp_path / 'deploy.pth')['state_dict'][GATE_KEY] == 0


def test_the_tool_names_a_missing_data_root(gated_enhancer, tmp_path, monkeypatch):
    from tool_configs import load_tool

    checkpoint, _ = gated_enhancer
    tool = load_tool('tools/gate_check.py')
    missing = tmp_path / 'no_such_release'
    monkeypatch.setattr(
        sys,
        'argv',
        ['gate_check.py', GATED, checkpoint, '--out', str(tmp_path / 'deploy.pth'),
         '--work-dir', str(tmp_path / 'w'), '--data-root', str(missing)],
    )  # fmt: skip
    with pytest.raises(FileNotFoundError, match=f'--data-root: no such folder: {missing}'):
        tool.main()
    assert not (tmp_path / 'deploy.pth').exists()


def test_the_regressor_alone_loads_a_gated_checkpoint_saved_before_the_buffer():
    from mmlesion.models.regressors import load_regressor_weights

    trained = gated_regressor()
    state = {
        f'data_preprocessor.regressor.{k}': v
        for k, v in trained.state_dict().items()
        if k != 'gate_open'
    }
    fresh = CLAHEParamRegressor(input_size=32, base_channels=4, gate=True, gate_init=0.4)
    load_regressor_weights(fresh, {'state_dict': state}, 'old.pth')
    assert torch.equal(fresh.gate_head[-1].weight, trained.gate_head[-1].weight)
    assert fresh.gate_open == 1
