"""The demo configs through the mmengine Runner on generated data: the detector trains one epoch
and is evaluated; the enhancer trains one epoch in front of it and is evaluated; baselines load
the bare detector checkpoint. Tiny models, a few 96-pixel slices."""

from __future__ import annotations

import pickle
from pathlib import Path

import pytest
import torch
from conftest import DEMO_CONFIGS, REPO_ROOT, data_options, detector_options, enhancer_options

from mmlesion.experiments import runs

DEMO = DEMO_CONFIGS
METRIC_KEYS = {'deeplesion/mAP', 'deeplesion/AP50', 'deeplesion/sens@4', 'deeplesion/avg_sens'}


def test_detector_trains_and_evaluates(trained_detector, data_root, tmp_path):
    metrics = runs.test(
        str(DEMO / 'faster_rcnn_r18_synth.py'),
        trained_detector,
        str(tmp_path),
        detector_options(data_root),
    )
    assert METRIC_KEYS <= set(metrics)
    assert 0.0 <= metrics['deeplesion/AP50'] <= 1.0


def test_enhancer_trains_in_front_of_the_frozen_detector(trained_detector, data_root, tmp_path):
    options = enhancer_options(data_root, trained_detector)
    result = runs.train(str(DEMO / 'enhancer_r18_synth.py'), str(tmp_path / 'enhancer'), options)
    state = torch.load(result.best_checkpoint, map_location='cpu', weights_only=False)['state_dict']
    detector_state = torch.load(trained_detector, map_location='cpu', weights_only=False)[
        'state_dict'
    ]
    for key, value in detector_state.items():  # the detector came through training untouched
        assert torch.equal(state[f'detector.{key}'], value), key
    scalars = Path(result.log_dir, 'vis_data', 'scalars.json').read_text()
    assert 'map_delta' in scalars and 'deeplesion/mAP' in scalars

    metrics = runs.test(
        str(DEMO / 'enhancer_r18_synth.py'), result.best_checkpoint, str(tmp_path), options
    )
    assert METRIC_KEYS <= set(metrics)


def load_pickle(path):
    with open(path, 'rb') as f:
        return pickle.load(f)


def test_baselines_through_the_wrapper_are_what_they_claim(trained_detector, data_root, tmp_path):
    # identity: the frozen detector behind the wrapper is the detector itself (same predictions,
    # same metrics); glcae_fixed really enhances (other predictions); an untrained regressor is
    # the fixed GLCAE (2.0, 8) (same metrics through the learned enhancer's config).
    options = enhancer_options(data_root, trained_detector)
    baseline_options = {**options, 'model.data_preprocessor.regressor': None}
    alone = runs.test(
        str(DEMO / 'faster_rcnn_r18_synth.py'),
        trained_detector,
        str(tmp_path / 'alone'),
        detector_options(data_root),
        out=str(tmp_path / 'alone.pkl'),
    )
    metrics, dumps = {}, {}
    for baseline in ('identity', 'glcae_fixed'):
        dumps[baseline] = tmp_path / f'{baseline}.pkl'
        metrics[baseline] = runs.test(
            str(DEMO / 'baselines' / f'{baseline}_synth.py'),
            trained_detector,
            str(tmp_path / baseline),
            baseline_options,
            out=str(dumps[baseline]),
        )
        assert METRIC_KEYS <= set(metrics[baseline])
    assert metrics['identity'] == pytest.approx(alone, nan_ok=True)
    identity, plain = load_pickle(dumps['identity']), load_pickle(tmp_path / 'alone.pkl')
    for a, b in zip(identity, plain, strict=True):
        assert torch.equal(a['pred_instances']['bboxes'], b['pred_instances']['bboxes'])
    enhanced = load_pickle(dumps['glcae_fixed'])
    assert {p['clahe_clip_limit'] for p in enhanced} == {2.0}
    assert any(
        not torch.equal(a['pred_instances']['scores'], b['pred_instances']['scores'])
        for a, b in zip(identity, enhanced, strict=True)
    )
    untrained = runs.test(
        str(DEMO / 'enhancer_r18_synth.py'), trained_detector, str(tmp_path / 'untrained'), options
    )
    assert untrained['deeplesion/mAP'] == pytest.approx(
        metrics['glcae_fixed']['deeplesion/mAP'], abs=1e-6
    )
    assert untrained['deeplesion/avg_sens'] == pytest.approx(
        metrics['glcae_fixed']['deeplesion/avg_sens'], abs=1e-6, nan_ok=True
    )


def test_best_checkpoint_falls_back_to_the_latest_epoch(tmp_path):
    (tmp_path / 'epoch_1.pth').write_bytes(b'')
    assert runs.best_checkpoint(str(tmp_path)).endswith('epoch_1.pth')
    with pytest.raises(FileNotFoundError):
        runs.best_checkpoint(str(tmp_path / 'empty'))


def tiny_retinanet_config():
    from mmengine.config import Config

    model = Config.fromfile(str(REPO_ROOT / 'configs/transfer/retinanet_r18_synth.py')).model
    model.backbone.base_channels = 8
    model.neck.in_channels = [8, 16, 32, 64]
    model.neck.out_channels = 16
    model.bbox_head.in_channels = model.bbox_head.feat_channels = 16
    return model


def test_transferred_enhancer_runs_in_front_of_a_retinanet(data_root, tmp_path):
    from mmdet.registry import MODELS

    from mmlesion.utils import register_all_modules

    register_all_modules()
    torch.manual_seed(0)
    retinanet = tmp_path / 'retinanet.pth'
    torch.save({'state_dict': MODELS.build(tiny_retinanet_config()).state_dict()}, retinanet)
    regressor = MODELS.build(
        {
            'type': 'CLAHEParamRegressor',
            'input_size': 64,
            'base_channels': 4,
            'init_params': (3.0, 5.0),
            # the output space of the demo enhancer, which the transfer config must match
            'clip_range': (1.0, 32.0),
            'log_outputs': True,
        }
    )
    enhancer = tmp_path / 'enhancer.pth'
    state = {f'data_preprocessor.regressor.{k}': v for k, v in regressor.state_dict().items()}
    torch.save({'state_dict': state}, enhancer)
    options = {
        **data_options(data_root),
        'model.detector': tiny_retinanet_config().to_dict(),
        'model.enhancer_checkpoint': str(enhancer),
        'model.data_preprocessor.regressor.input_size': 64,
        'model.data_preprocessor.regressor.base_channels': 4,
    }
    out = tmp_path / 'predictions.pkl'
    metrics = runs.test(
        str(REPO_ROOT / 'configs/transfer/enhancer_r18_synth_on_retinanet.py'),
        str(retinanet),
        str(tmp_path),
        options,
        out=str(out),
    )
    assert METRIC_KEYS <= set(metrics)
    with out.open('rb') as f:
        predictions = pickle.load(f)
    # The transferred regressor chose the parameters, in front of the RetinaNet.
    assert {round(p['clahe_clip_limit'], 3) for p in predictions} == {3.0}
    assert {round(p['clahe_grid_size'], 3) for p in predictions} == {5.0}
