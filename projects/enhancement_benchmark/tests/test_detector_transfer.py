"""The transfer study's configs: the demo enhancer, trained in front of the demo Faster R-CNN,
placed unchanged in front of a RetinaNet; and the in-process runs' checkpoint choice."""

from __future__ import annotations

import pickle

import pytest
import torch

from projects.enhancement_benchmark.benchmark import train_and_test

from .conftest import REPO_ROOT, data_options

TRANSFER = REPO_ROOT / 'projects/enhancement_benchmark/configs/transfer'
METRIC_KEYS = {'deeplesion/mAP', 'deeplesion/AP50', 'deeplesion/sens@4', 'deeplesion/avg_sens'}


def test_best_checkpoint_falls_back_to_the_latest_epoch(tmp_path):
    (tmp_path / 'epoch_1.pth').write_bytes(b'')
    assert train_and_test.best_checkpoint(str(tmp_path)).endswith('epoch_1.pth')
    with pytest.raises(FileNotFoundError):
        train_and_test.best_checkpoint(str(tmp_path / 'empty'))


def tiny_retinanet_config():
    from mmengine.config import Config

    model = Config.fromfile(str(TRANSFER / 'retinanet_r18-w32_fpn_36e_synth.py')).model
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
    metrics = train_and_test.test(
        str(TRANSFER / 'enhancer_r18-w16_6e_synth_on_retinanet.py'),
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
