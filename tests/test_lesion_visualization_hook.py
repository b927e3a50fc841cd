"""tools/test.py --show-dir (LesionVisualizationHook): the test slices with their boxes."""

from __future__ import annotations

import sys
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch
from mmdet.structures import DetDataSample
from mmengine.structures import InstanceData
from tool_configs import load_tool, tiny_real_config, untrained_checkpoint

from mmlesion.engine.hooks import LesionVisualizationHook
from mmlesion.visualization.box_overlay import GT_COLOR, PRED_COLOR, TILE_GAP


def test_show_dir_writes_every_test_slice_with_its_ground_truth(data_root, tmp_path, monkeypatch):
    from mmdet.registry import DATASETS
    from mmengine.config import Config
    from mmengine.registry import init_default_scope

    config = tiny_real_config(tmp_path, data_root)
    checkpoint = untrained_checkpoint(config, tmp_path / 'tiny.pth')
    show_dir = tmp_path / 'shown'
    argv = ['test.py', str(config), str(checkpoint), '--work-dir', str(tmp_path / 'work')]
    # No detection survives: the untrained model's boxes would hide the ground truth.
    argv += ['--cfg-options', 'model.test_cfg.rcnn.score_thr=1.01']
    monkeypatch.setattr(sys, 'argv', [*argv, '--show-dir', str(show_dir)])
    load_tool('tools/test.py').main()

    cfg = Config.fromfile(str(config))
    init_default_scope('mmdet')
    dataset = DATASETS.build({**cfg.test_dataloader.dataset, 'pipeline': []})
    items = [dataset.get_data_info(i) for i in range(len(dataset))]
    assert sorted(p.name for p in show_dir.glob('*.png')) == sorted(
        Path(item['img_id']).stem + '.png' for item in items
    )
    for item in items:
        picture = cv2.imread(str(show_dir / (Path(item['img_id']).stem + '.png')))
        height, width = item['height'], item['width']  # the original slice's pixels
        assert picture.shape[0] == height
        assert (picture.shape[1] + TILE_GAP) % (width + TILE_GAP) == 0
        for inst in item['instances']:
            x1, y1 = (round(v) for v in inst['bbox'][:2])
            assert tuple(picture[y1, x1]) == GT_COLOR, item['img_id']


def test_detections_above_the_threshold_are_drawn_in_original_pixels() -> None:
    hook = LesionVisualizationHook(test_out_dir='x', score_thr=0.5)
    sample = DetDataSample(metainfo={'ori_shape': (40, 60), 'img_shape': (20, 30)})
    sample.gt_instances = InstanceData(bboxes=torch.tensor([[10.0, 10.0, 20.0, 20.0]]))
    sample.pred_instances = InstanceData(
        bboxes=torch.tensor([[30.0, 5.0, 50.0, 30.0], [2.0, 30.0, 8.0, 36.0]]),
        scores=torch.tensor([0.9, 0.2]),
        labels=torch.tensor([0, 0]),
    )
    image = np.full((2, 20, 30), 100.0, np.float32)  # the input at half the original size
    picture = hook.draw(image, sample)
    assert picture.shape == (40, 2 * 60 + TILE_GAP, 3)
    second = picture[:, 60 + TILE_GAP :]
    for tile in (picture[:, :60], second):
        assert tuple(tile[10, 10]) == GT_COLOR and tuple(tile[20, 20]) == GT_COLOR
        assert tuple(tile[30, 50]) == PRED_COLOR  # the 0.9 detection's corner
        assert tuple(tile[36, 8]) == (100, 100, 100)  # the 0.2 one is not drawn


def test_the_hook_needs_somewhere_to_put_the_pictures() -> None:
    with pytest.raises(ValueError, match='test_out_dir or show'):
        LesionVisualizationHook()


def test_show_puts_each_picture_in_a_window(monkeypatch) -> None:
    import mmlesion.engine.hooks.lesion_visualization_hook as module

    shown, waits = [], []
    monkeypatch.setattr(module.cv2, 'imshow', lambda name, image: shown.append(image))
    monkeypatch.setattr(module.cv2, 'waitKey', lambda ms: waits.append(ms))
    hook = LesionVisualizationHook(show=True, wait_time=0.5)
    sample = DetDataSample(metainfo={'ori_shape': (8, 8), 'img_id': '000001_01_01_010.png'})
    sample.gt_instances = InstanceData(bboxes=torch.tensor([[1.0, 1.0, 5.0, 5.0]]))
    hook.before_test(runner=None)  # nothing to save: no folder is needed
    hook.after_test_iter(None, 0, {'inputs': [torch.zeros(1, 8, 8)]}, [sample])
    assert len(shown) == 1 and shown[0].shape == (8, 8, 3)
    assert tuple(shown[0][1, 1]) == GT_COLOR
    assert waits == [500]
